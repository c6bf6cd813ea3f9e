"""Acceptance tests: the real etcdctl (3.4) against our datastore process, asserting on etcdctl's output.

Every expectation here was first checked by hand against a real etcd (tests.support.etcd_argv):
where etcdctl prints something, it prints the same thing for both servers (ids and timings aside).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kine_shim.etcdpb import rpc_pb2 as pb
from tests.support import ETCDCTL, Server, etcdctl, shim_argv, stubs_for

pytestmark = pytest.mark.e2e

COMPACTED = "etcdserver: mvcc: required revision has been compacted"


# -- helpers --


def ctl(
    server: Server, *args: str, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    return etcdctl(server.endpoint, *args, input=input, check=check)


def ctl_json(server: Server, *args: str, input: str | None = None) -> Any:
    return json.loads(ctl(server, *args, "-w", "json", input=input).stdout)


def b64(data: str) -> str:
    return base64.b64encode(data.encode()).decode()


def unb64(data: str) -> str:
    return base64.b64decode(data).decode()


def kv_pairs(resp: dict) -> list[tuple[str, str]]:
    """(key, value) of every kv in a Range response as etcdctl prints it in json."""
    return [(unb64(kv["key"]), unb64(kv.get("value", ""))) for kv in resp.get("kvs", [])]


def keys_of(resp: dict) -> list[str]:
    return [unb64(kv["key"]) for kv in resp.get("kvs", [])]


def put_rev(server: Server, key: str, value: str, *extra: str) -> int:
    """Puts key=value with etcdctl and returns the revision the put created."""
    return ctl_json(server, "put", key, value, *extra)["header"]["revision"]


def head_rev(server: Server) -> int:
    return ctl_json(server, "get", "nothing-here")["header"]["revision"]


def snapshot_restore(snapshot: Path, data_dir: Path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "distro.cli", "etcd-snapshot", "restore", str(snapshot)]
    argv += ["--data-dir", str(data_dir)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Watch:
    """A running `etcdctl watch`, its stdout collected line by line by a thread."""

    def __init__(self, server: Server, *args: str) -> None:
        env = {**os.environ, "ETCDCTL_API": "3"}
        self.proc = subprocess.Popen(
            [ETCDCTL, f"--endpoints={server.endpoint}", "watch", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def send(self, line: str) -> None:
        """A command line for `watch -i` (interactive mode reads them from stdin)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    break
                self._cond.wait(min(left, 0.2))
            return list(self.lines)

    def json_events(self) -> list[dict]:
        """Every event of the `-w json` responses printed so far, in order."""
        with self._cond:
            lines = list(self.lines)
        return [ev for line in lines if line.startswith("{") for ev in json.loads(line).get("Events") or []]

    def wait_events(self, n: int, timeout: float = 10.0) -> list[dict]:
        self.wait_for(lambda _: len(self.json_events()) >= n, timeout)
        return self.json_events()

    def stop(self) -> tuple[int, str]:
        """Ends etcdctl (if it is still running); returns its exit code and stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()
        return self.proc.returncode, err


def event_summary(ev: dict) -> tuple:
    """(type, key, value, mod_revision, prev value or None) of one json watch event."""
    kv = ev["kv"]
    prev = ev.get("prev_kv")
    return (
        "DELETE" if ev.get("type") == 1 else "PUT",
        unb64(kv["key"]),
        unb64(kv.get("value", "")),
        kv["mod_revision"],
        None if prev is None else unb64(prev.get("value", "")),
    )


# -- KV: get / put / del --


def test_put_and_get_variants(shim: Server) -> None:
    assert ctl(shim, "put", "g/a", "1").stdout == "OK\n"
    r_a1 = head_rev(shim)
    put_rev(shim, "g/b", "22")
    put_rev(shim, "g/c", "3")
    r_a2 = put_rev(shim, "g/a", "4")  # g/a: version 2, value "4"
    put_rev(shim, "g/d", "0")
    put_rev(shim, "h", "outside")
    head = head_rev(shim)

    # single key, with all its metadata
    resp = ctl_json(shim, "get", "g/a")
    assert resp["header"]["revision"] == head
    assert resp["count"] == 1
    (kv,) = resp["kvs"]
    assert (unb64(kv["key"]), unb64(kv["value"])) == ("g/a", "4")
    assert (kv["create_revision"], kv["mod_revision"], kv["version"]) == (r_a1, r_a2, 2)
    assert ctl(shim, "get", "g/a").stdout == "g/a\n4\n"
    assert ctl(shim, "get", "g/missing").stdout == ""
    assert "kvs" not in ctl_json(shim, "get", "g/missing")

    # --prefix, a range [a, c), --from-key
    assert kv_pairs(ctl_json(shim, "get", "--prefix", "g/")) == [
        ("g/a", "4"),
        ("g/b", "22"),
        ("g/c", "3"),
        ("g/d", "0"),
    ]
    assert keys_of(ctl_json(shim, "get", "g/a", "g/c")) == ["g/a", "g/b"]
    assert keys_of(ctl_json(shim, "get", "--from-key", "g/c")) == ["g/c", "g/d", "h"]

    # --rev: the value as of an older revision, and a key that did not exist yet
    old = ctl_json(shim, "get", "g/a", "--rev", str(r_a1))
    assert kv_pairs(old) == [("g/a", "1")]
    assert old["kvs"][0]["version"] == 1 and old["kvs"][0]["mod_revision"] == r_a1
    assert old["header"]["revision"] == head
    assert keys_of(ctl_json(shim, "get", "--prefix", "g/", "--rev", str(r_a1))) == ["g/a"]
    assert ctl(shim, "get", "g/a", "--rev", str(r_a1)).stdout == "g/a\n1\n"
    future = ctl(shim, "get", "g/a", "--rev", str(head + 10), check=False)
    assert future.returncode != 0
    assert "required revision is a future revision" in future.stderr

    # --limit: count is the whole range, more says whether it was cut
    limited = ctl_json(shim, "get", "--prefix", "g/", "--limit", "2")
    assert keys_of(limited) == ["g/a", "g/b"]
    assert limited["count"] == 4 and limited["more"] is True
    exact = ctl_json(shim, "get", "--prefix", "g/", "--limit", "4")
    assert len(exact["kvs"]) == 4 and exact["count"] == 4 and "more" not in exact
    hist = ctl_json(shim, "get", "--prefix", "g/", "--limit", "1", "--rev", str(r_a2))
    assert kv_pairs(hist) == [("g/a", "4")] and hist["count"] == 3 and hist["more"] is True

    # --keys-only
    ko = ctl_json(shim, "get", "--prefix", "g/", "--keys-only")
    assert keys_of(ko) == ["g/a", "g/b", "g/c", "g/d"]
    assert all("value" not in kv for kv in ko["kvs"])
    assert ctl(shim, "get", "--prefix", "g/", "--keys-only").stdout.split() == ["g/a", "g/b", "g/c", "g/d"]

    # --count-only does not exist in etcdctl 3.4; the same request (RangeRequest.count_only) over gRPC
    stubs = stubs_for(shim.endpoint)
    try:
        counted = stubs.kv.Range(pb.RangeRequest(key=b"g/", range_end=b"g0", count_only=True), timeout=10)
    finally:
        stubs.close()
    assert counted.count == 4 and len(counted.kvs) == 0 and counted.header.revision == head

    # --sort-by / --order
    def sorted_keys(target: str, order: str) -> list[str]:
        return keys_of(ctl_json(shim, "get", "--prefix", "g/", f"--sort-by={target}", f"--order={order}"))

    assert sorted_keys("KEY", "ASCEND") == ["g/a", "g/b", "g/c", "g/d"]
    assert sorted_keys("KEY", "DESCEND") == ["g/d", "g/c", "g/b", "g/a"]
    assert sorted_keys("CREATE", "ASCEND") == ["g/a", "g/b", "g/c", "g/d"]
    assert sorted_keys("CREATE", "DESCEND") == ["g/d", "g/c", "g/b", "g/a"]
    assert sorted_keys("MODIFY", "ASCEND") == ["g/b", "g/c", "g/a", "g/d"]
    assert sorted_keys("MODIFY", "DESCEND") == ["g/d", "g/a", "g/c", "g/b"]
    assert sorted_keys("VALUE", "ASCEND") == ["g/d", "g/b", "g/c", "g/a"]  # "0" < "22" < "3" < "4"
    assert sorted_keys("VALUE", "DESCEND") == ["g/a", "g/c", "g/b", "g/d"]
    assert sorted_keys("VERSION", "DESCEND")[0] == "g/a"
    assert sorted_keys("VERSION", "ASCEND")[-1] == "g/a"
    top = ctl_json(shim, "get", "--prefix", "g/", "--sort-by=MODIFY", "--order=DESCEND", "--limit", "2")
    assert keys_of(top) == ["g/d", "g/a"] and top["count"] == 4 and top["more"] is True

    # --print-value-only
    assert ctl(shim, "get", "--prefix", "g/", "--print-value-only").stdout == "4\n22\n3\n0\n"
    assert ctl(shim, "get", "g/b", "--print-value-only").stdout == "22\n"


def test_put_prev_kv_and_ignore_flags(shim: Server) -> None:
    first = put_rev(shim, "p", "one")
    assert ctl(shim, "put", "p", "two", "--prev-kv").stdout == "OK\np\none\n"
    resp = ctl_json(shim, "put", "p", "three", "--prev-kv")
    prev = resp["prev_kv"]
    assert (unb64(prev["value"]), prev["version"], prev["create_revision"]) == ("two", 2, first)
    ctl(shim, "put", "p", "--ignore-value")
    assert kv_pairs(ctl_json(shim, "get", "p")) == [("p", "three")]
    assert ctl_json(shim, "get", "p")["kvs"][0]["version"] == 4
    missing = ctl(shim, "put", "nokey", "--ignore-value", check=False)
    assert missing.returncode != 0 and "etcdserver: key not found" in missing.stderr


def test_del_variants(shim: Server) -> None:
    initial = {"a": "1", "b": "2", "c": "3", "d/1": "x", "d/2": "y", "d/3": "z", "e": "5"}
    for key, value in initial.items():
        put_rev(shim, key, value)

    # single key: the count is printed
    assert ctl(shim, "del", "a").stdout == "1\n"
    assert ctl(shim, "del", "a").stdout == "0\n"
    assert ctl(shim, "get", "a").stdout == ""

    # --prefix --prev-kv: count, then each deleted pair
    assert ctl(shim, "del", "--prefix", "d/", "--prev-kv").stdout == "3\nd/1\nx\nd/2\ny\nd/3\nz\n"
    assert ctl(shim, "get", "--prefix", "d/").stdout == ""

    # json: deleted and prev_kvs with their metadata; one revision for the whole range
    before = head_rev(shim)
    resp = ctl_json(shim, "del", "b", "d", "--prev-kv")  # [b, d): b and c
    assert resp["deleted"] == 2
    assert kv_pairs({"kvs": resp["prev_kvs"]}) == [("b", "2"), ("c", "3")]
    assert all(kv["version"] == 1 for kv in resp["prev_kvs"])
    assert resp["header"]["revision"] == before + 1

    # deleting nothing does not create a revision
    nothing = ctl_json(shim, "del", "--prefix", "zzz")
    assert nothing.get("deleted", 0) == 0 and nothing["header"]["revision"] == before + 1

    assert ctl(shim, "del", "--from-key", "e").stdout == "1\n"
    assert ctl(shim, "get", "--from-key", "").stdout == ""


# -- txn --


def test_txn_interactive(shim: Server) -> None:
    # key missing: mod("k") = "0" holds, the success branch runs
    out = ctl(shim, "txn", input='mod("k") = "0"\n\nput k v1\n\nput conflict yes\n\n')
    assert out.stdout == "SUCCESS\n\nOK\n"
    assert kv_pairs(ctl_json(shim, "get", "k")) == [("k", "v1")]
    assert ctl(shim, "get", "conflict").stdout == ""

    # same txn again: the key now exists, the failure branch runs instead
    out = ctl(shim, "txn", input='mod("k") = "0"\n\nput k v1\n\nput conflict yes\n\n')
    assert out.stdout == "FAILURE\n\nOK\n"
    assert kv_pairs(ctl_json(shim, "get", "--prefix", "")) == [("conflict", "yes"), ("k", "v1")]
    k_version = ctl_json(shim, "get", "k")["kvs"][0]["version"]
    assert k_version == 1

    # value compare that holds; two puts in one txn share one revision
    before = head_rev(shim)
    out = ctl(shim, "txn", input='value("k") = "v1"\n\nput k v2\nput k2 w\n\n\n')
    assert out.stdout == "SUCCESS\n\nOK\n\nOK\n"
    both = ctl_json(shim, "get", "k", "k3")
    assert kv_pairs(both) == [("k", "v2"), ("k2", "w")]
    assert [kv["mod_revision"] for kv in both["kvs"]] == [before + 1, before + 1]

    # value compare that fails: failure branch with del and get, printed in order
    out = ctl(shim, "txn", input='value("k") = "nope"\n\nput k bad\n\ndel conflict\nget k\n\n')
    assert out.stdout == "FAILURE\n\n1\n\nk\nv2\n"
    assert ctl(shim, "get", "conflict").stdout == ""
    assert kv_pairs(ctl_json(shim, "get", "k")) == [("k", "v2")]

    # several compares (all must hold), json output with the range response
    resp = ctl_json(
        shim, "txn", input='version("k") = "2"\ncreate("k") > "0"\nvalue("k2") != "x"\n\nget k\n\n\n'
    )
    assert resp["succeeded"] is True
    (r,) = resp["responses"]
    assert kv_pairs(r["Response"]["ResponseRange"]) == [("k", "v2")]

    one_fails = 'version("k") = "2"\nmod("k2") < "1"\n\nput k never\n\nput k2 else\n\n'
    resp = ctl_json(shim, "txn", input=one_fails)
    assert resp.get("succeeded", False) is False
    assert kv_pairs(ctl_json(shim, "get", "k", "k3")) == [("k", "v2"), ("k2", "else")]

    # -i prints its prompts, then the result
    out = ctl(shim, "txn", "-i", input='value("k2") = "else"\n\nput k3 from-interactive\n\n\n')
    assert out.stdout == (
        "compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\nSUCCESS\n\nOK\n"
    )
    assert kv_pairs(ctl_json(shim, "get", "k3")) == [("k3", "from-interactive")]

    bad = ctl(shim, "txn", input="bogus\n\n\n\n", check=False)
    assert bad.returncode != 0 and "malformed comparison" in bad.stderr


# -- watch --


def test_watch_prefix_history_and_prev_kv(shim: Server) -> None:
    r1 = put_rev(shim, "w/a", "1")
    r2 = put_rev(shim, "w/b", "2")
    r3 = put_rev(shim, "w/a", "3")
    r4 = ctl_json(shim, "del", "w/b")["header"]["revision"]
    put_rev(shim, "other", "x")
    r5 = put_rev(shim, "w/end", "sentinel")  # the newest event in the range: marks the end of the replay

    # simple output of a historical replay
    w = Watch(shim, "--prefix", "w/", "--rev", str(r1))
    lines = w.wait_for(lambda ls: "sentinel" in ls)
    w.stop()
    assert "\n".join(lines) == "PUT\nw/a\n1\nPUT\nw/b\n2\nPUT\nw/a\n3\nDELETE\nw/b\n\nPUT\nw/end\nsentinel"

    # json: exact revisions; --prev-kv adds the previous values
    w = Watch(shim, "--prefix", "w/", "--rev", str(r2), "--prev-kv", "-w", "json")
    events = w.wait_events(4)
    w.stop()
    assert [event_summary(e) for e in events] == [
        ("PUT", "w/b", "2", r2, None),
        ("PUT", "w/a", "3", r3, "1"),
        ("DELETE", "w/b", "", r4, "2"),
        ("PUT", "w/end", "sentinel", r5, None),
    ]

    # without --prev-kv there is none, and a single-key watch sees only its key
    w = Watch(shim, "w/a", "--rev", str(r1), "-w", "json")
    events = w.wait_events(2)
    w.stop()
    assert [event_summary(e) for e in events] == [
        ("PUT", "w/a", "1", r1, None),
        ("PUT", "w/a", "3", r3, None),
    ]

    # a range watch [w/a, w/c) with --rev in interactive mode
    w = Watch(shim, "-i", "-w", "json")
    w.send(f"watch w/a w/c --rev {r1}")
    events = w.wait_events(4)
    w.stop()
    assert [(e[0], e[1], e[3]) for e in map(event_summary, events)] == [
        ("PUT", "w/a", r1),
        ("PUT", "w/b", r2),
        ("PUT", "w/a", r3),
        ("DELETE", "w/b", r4),
    ]


def prime(server: Server, w: Watch, key: str) -> None:
    """Puts key until the watch prints something: a watch without --rev starts at the head revision,
    and etcdctl prints nothing when it is created."""

    def seen() -> bool:
        put_rev(server, key, "ping")
        return bool(w.wait_for(bool, timeout=0.3))

    assert wait_until(seen, timeout=15, interval=0), w.stop()


def test_watch_live(shim: Server) -> None:
    w = Watch(shim, "--prefix", "live/", "--prev-kv", "-w", "json")
    try:
        prime(shim, w, "live/ready")
        r_put = put_rev(shim, "live/x", "v1")
        r_upd = put_rev(shim, "live/x", "v2")
        put_rev(shim, "elsewhere", "no")
        r_del = ctl_json(shim, "del", "live/x")["header"]["revision"]
        r_end = put_rev(shim, "live/zz-end", "end")
        w.wait_for(lambda _: any(e["kv"]["mod_revision"] == r_end for e in w.json_events()))
        events = [e for e in w.json_events() if unb64(e["kv"]["key"]) != "live/ready"]
    finally:
        w.stop()
    assert [event_summary(e) for e in events] == [
        ("PUT", "live/x", "v1", r_put, None),
        ("PUT", "live/x", "v2", r_upd, "v1"),
        ("DELETE", "live/x", "", r_del, "v2"),
        ("PUT", "live/zz-end", "end", r_end, None),
    ]


def test_watch_simple_output_live(shim: Server) -> None:
    w = Watch(shim, "sw")
    try:
        prime(shim, w, "sw")
        put_rev(shim, "sw", "hello")
        ctl(shim, "del", "sw")
        put_rev(shim, "sw", "bye")
        lines = w.wait_for(lambda ls: "bye" in ls)
    finally:
        w.stop()
    start = lines.index("hello") - 2
    assert lines[start:] == ["PUT", "sw", "hello", "DELETE", "sw", "", "PUT", "sw", "bye"]
    assert set(lines[:start]) <= {"PUT", "sw", "ping"}


# -- leases --


def test_lease_lifecycle(shim: Server) -> None:
    grant = ctl_json(shim, "lease", "grant", "60")
    lease_id, lease_hex = grant["ID"], f"{grant['ID']:x}"
    assert grant["TTL"] == 60 and lease_id > 0
    other = ctl(shim, "lease", "grant", "100").stdout
    assert other.startswith("lease ") and other.endswith(" granted with TTL(100s)\n")
    other_hex = other.split()[1]
    ctl(shim, "put", "l/a", "1", f"--lease={lease_hex}")
    ctl(shim, "put", "l/b", "2", f"--lease={lease_hex}")
    ctl(shim, "put", "l/keep", "3")
    assert [kv["lease"] for kv in ctl_json(shim, "get", "l/a")["kvs"]] == [lease_id]
    assert "lease" not in ctl_json(shim, "get", "l/keep")["kvs"][0]

    bad = ctl(shim, "put", "l/c", "x", "--lease=1234", check=False)
    assert bad.returncode != 0 and "requested lease not found" in bad.stderr

    ttl = ctl_json(shim, "lease", "timetolive", lease_hex, "--keys")
    assert ttl["id"] == lease_id and ttl["granted-ttl"] == 60 and 55 <= ttl["ttl"] <= 60
    assert sorted(unb64(k) for k in ttl["keys"]) == ["l/a", "l/b"]
    text = ctl(shim, "lease", "timetolive", lease_hex, "--keys").stdout
    assert text.startswith(f"lease {lease_id:016x} granted with TTL(60s), remaining(")
    assert text.endswith("attached keys([l/a l/b])\n")
    assert ctl_json(shim, "lease", "timetolive", other_hex, "--keys")["keys"] is None

    assert (
        ctl(shim, "lease", "keep-alive", "--once", lease_hex).stdout
        == f"lease {lease_id:016x} keepalived with TTL(60)\n"
    )
    assert ctl_json(shim, "lease", "keep-alive", "--once", lease_hex)["TTL"] == 60

    listed = ctl(shim, "lease", "list").stdout.splitlines()
    assert listed[0] == "found 2 leases"
    assert f"{lease_id:016x}" in listed[1:] and other_hex in listed[1:]

    before = head_rev(shim)
    assert ctl(shim, "lease", "revoke", lease_hex).stdout == f"lease {lease_id:016x} revoked\n"
    assert keys_of(ctl_json(shim, "get", "--prefix", "l/")) == ["l/keep"]
    # revoking deleted both keys in one revision
    assert head_rev(shim) == before + 1
    assert ctl(shim, "lease", "timetolive", lease_hex).stdout == f"lease {lease_id:016x} already expired\n"
    assert f"{lease_id:016x}" not in ctl(shim, "lease", "list").stdout
    gone = ctl(shim, "lease", "keep-alive", "--once", lease_hex, check=False)
    assert gone.returncode != 0 and "requested lease not found" in gone.stderr
    again = ctl(shim, "lease", "revoke", lease_hex, check=False)
    assert again.returncode != 0 and "requested lease not found" in again.stderr


def test_lease_expiry(shim: Server) -> None:
    kept = ctl_json(shim, "lease", "grant", "2")["ID"]
    # etcd raises a TTL below its minimum (2 s for a single member) to the minimum
    short = ctl_json(shim, "lease", "grant", "1")
    assert short["TTL"] == 2
    dropped = short["ID"]
    granted_at = time.monotonic()
    r_put = put_rev(shim, "exp/dropped", "d", f"--lease={dropped:x}")
    put_rev(shim, "exp/kept", "k", f"--lease={kept:x}")

    def dropped_gone() -> bool:
        ctl(shim, "lease", "keep-alive", "--once", f"{kept:x}")
        return ctl(shim, "get", "exp/dropped").stdout == ""

    assert wait_until(dropped_gone, timeout=8, interval=0.3)
    elapsed = time.monotonic() - granted_at
    assert elapsed >= 1.5, f"a 2 s lease expired after {elapsed:.2f} s"
    assert (
        ctl(shim, "lease", "timetolive", f"{dropped:x}").stdout == f"lease {dropped:016x} already expired\n"
    )

    # the kept-alive lease outlives its first TTL
    while time.monotonic() - granted_at < 3.0:
        ctl(shim, "lease", "keep-alive", "--once", f"{kept:x}")
        time.sleep(0.3)
    assert ctl(shim, "get", "exp/kept", "--print-value-only").stdout == "k\n"
    assert f"{kept:016x}" in ctl(shim, "lease", "list").stdout

    # ... until nobody renews it
    assert wait_until(lambda: ctl(shim, "get", "exp/kept").stdout == "", timeout=8, interval=0.2)
    assert ctl(shim, "lease", "list").stdout == "found 0 leases\n"

    # expiry deleted the keys through the revision log: watchers see the DELETEs
    w = Watch(shim, "--prefix", "exp/", "--rev", str(r_put), "-w", "json")
    events = w.wait_events(4)
    w.stop()
    assert [(e[0], e[1]) for e in map(event_summary, events)] == [
        ("PUT", "exp/dropped"),
        ("PUT", "exp/kept"),
        ("DELETE", "exp/dropped"),
        ("DELETE", "exp/kept"),
    ]


# -- compaction --


def test_compaction(shim: Server) -> None:
    revs = [put_rev(shim, "c", f"v{i}") for i in range(5)]
    target = revs[2]
    assert ctl(shim, "compaction", str(target)).stdout == f"compacted revision {target}\n"

    below = ctl(shim, "get", "c", "--rev", str(target - 1), check=False)
    assert below.returncode != 0 and COMPACTED in below.stderr
    assert ctl(shim, "get", "c", "--rev", str(target), "--print-value-only").stdout == "v2\n"
    assert ctl(shim, "get", "c", "--rev", str(revs[3]), "--print-value-only").stdout == "v3\n"
    assert ctl(shim, "get", "c", "--print-value-only").stdout == "v4\n"
    at = ctl_json(shim, "get", "c", "--rev", str(target))["kvs"][0]
    assert (at["version"], at["mod_revision"], at["create_revision"]) == (3, target, revs[0])

    again = ctl(shim, "compaction", str(target), check=False)
    assert again.returncode != 0 and COMPACTED in again.stderr
    future = ctl(shim, "compaction", str(revs[-1] + 100), check=False)
    assert future.returncode != 0 and "required revision is a future revision" in future.stderr

    # a watch from before the compaction is cancelled by the server, from at or after it replays
    w = Watch(shim, "c", "--rev", str(target - 1))
    assert w.proc.wait(10) != 0
    _, err = w.stop()
    assert f"watch was canceled ({COMPACTED})" in err
    w = Watch(shim, "c", "--rev", str(target), "-w", "json")
    events = w.wait_events(3)
    w.stop()
    assert [(e[2], e[3]) for e in map(event_summary, events)] == [
        ("v2", revs[2]),
        ("v3", revs[3]),
        ("v4", revs[4]),
    ]

    # --physical waits for the physical removal; reads above it still work
    assert ctl(shim, "compaction", "--physical", str(revs[4])).stdout == f"compacted revision {revs[4]}\n"
    assert COMPACTED in ctl(shim, "get", "c", "--rev", str(revs[3]), check=False).stderr
    assert ctl(shim, "get", "c", "--rev", str(revs[4]), "--print-value-only").stdout == "v4\n"


# -- cluster and maintenance --


def test_endpoint_status_health_and_member_list(shim: Server) -> None:
    for i in range(3):
        put_rev(shim, f"s{i}", "x")
    head = head_rev(shim)

    (entry,) = ctl_json(shim, "endpoint", "status")
    assert entry["Endpoint"] == shim.endpoint
    status = entry["Status"]
    member_id = status["header"]["member_id"]
    assert status["version"] == "3.5.16"
    assert status["dbSize"] > 0 and 0 < status["dbSizeInUse"] <= status["dbSize"]
    assert member_id != 0 and status["leader"] == member_id
    assert status["header"]["revision"] == head
    assert status["raftTerm"] >= 1 and status["header"]["raft_term"] == status["raftTerm"]
    assert status["raftIndex"] >= head and status["raftAppliedIndex"] >= head
    simple = ctl(shim, "endpoint", "status").stdout
    assert simple.startswith(f"{shim.endpoint}, {member_id:x}, 3.5.16, ")
    assert ", true, false, " in simple  # IS LEADER, IS LEARNER

    (health,) = ctl_json(shim, "endpoint", "health")
    assert health["endpoint"] == shim.endpoint and health["health"] is True
    assert f"{shim.endpoint} is healthy" in ctl(shim, "endpoint", "health").stderr

    members = ctl_json(shim, "member", "list")
    (member,) = members["members"]
    assert member["ID"] == member_id and member["name"] == "default"
    assert member["clientURLs"] == [shim.url]
    assert members["header"]["member_id"] == member_id
    assert members["header"]["cluster_id"] == status["header"]["cluster_id"]
    assert (
        ctl(shim, "member", "list").stdout
        == f"{member_id:x}, started, default, {shim.url}, {shim.url}, false\n"
    )


def test_defrag_keeps_data(shim: Server) -> None:
    big = "x" * 300_000  # over the argv limit for one argument: etcdctl put reads it from stdin
    for i in range(6):
        ctl(shim, "put", f"big/{i}", input=big)
    kept = [put_rev(shim, f"keep/{i}", f"value-{i}") for i in range(3)]
    put_rev(shim, "keep/0", "value-0b")
    assert ctl(shim, "del", "--prefix", "big/").stdout == "6\n"
    head = head_rev(shim)
    ctl(shim, "compaction", "--physical", str(head))

    before = ctl_json(shim, "get", "--prefix", "")
    hash_before = ctl(shim, "endpoint", "hashkv").stdout
    status = ctl_json(shim, "endpoint", "status")[0]["Status"]
    assert status["dbSize"] > 1_000_000  # the big values' pages are free but still in the file
    assert status["dbSizeInUse"] < status["dbSize"]

    assert ctl(shim, "defrag").stdout == f"Finished defragmenting etcd member[{shim.endpoint}]\n"

    after_status = ctl_json(shim, "endpoint", "status")[0]["Status"]
    assert after_status["dbSize"] < status["dbSize"] // 4
    assert after_status["dbSizeInUse"] == after_status["dbSize"]
    after = ctl_json(shim, "get", "--prefix", "")
    assert after["kvs"] == before["kvs"] and after["header"]["revision"] == head
    assert kv_pairs(after) == [("keep/0", "value-0b"), ("keep/1", "value-1"), ("keep/2", "value-2")]
    assert after["kvs"][0]["create_revision"] == kept[0] and after["kvs"][0]["version"] == 2
    assert ctl(shim, "endpoint", "hashkv").stdout == hash_before
    # and the store still takes writes at the next revision
    assert put_rev(shim, "keep/3", "post-defrag") == head + 1


# -- snapshot and restore --


def _state(server: Server, leases: list[int], historical: int) -> dict:
    """Everything a restore must bring back, as etcdctl reports it."""
    everything = ctl_json(server, "get", "--prefix", "")
    return {
        "kvs": everything["kvs"],
        "revision": everything["header"]["revision"],
        "historical": ctl_json(server, "get", "--prefix", "", "--rev", str(historical)).get("kvs"),
        "lease_list": sorted(ctl(server, "lease", "list").stdout.splitlines()[1:]),
        "leases": {
            lid: (ttl["granted-ttl"], sorted(ttl["keys"] or []))
            for lid in leases
            for ttl in [ctl_json(server, "lease", "timetolive", f"{lid:x}", "--keys")]
        },
        "hashkv": ctl(server, "endpoint", "hashkv").stdout.split(", ")[1],
    }


def test_snapshot_save_and_restore(shim: Server, tmp_path: Path) -> None:
    put_rev(shim, "s/a", "1")
    put_rev(shim, "s/a", "2")
    put_rev(shim, "s/b", "gone")
    ctl(shim, "del", "s/b")
    historical = put_rev(shim, "s/b", "back")
    put_rev(shim, "s/a", "3")
    compact_at = head_rev(shim) - 1
    # --physical: the compactor is done before the state is recorded (endpoint hashkv covers the log)
    ctl(shim, "compaction", "--physical", str(compact_at))
    with_keys = ctl_json(shim, "lease", "grant", "600")["ID"]
    no_keys = ctl_json(shim, "lease", "grant", "300")["ID"]
    put_rev(shim, "s/leased/1", "l1", f"--lease={with_keys:x}")
    put_rev(shim, "s/leased/2", "l2", f"--lease={with_keys:x}")
    ctl(shim, "txn", input='mod("s/t") = "0"\n\nput s/t t1\nput s/u u1\n\n\n')
    before = _state(shim, [with_keys, no_keys], historical)
    assert before["leases"][with_keys] == (600, [b64("s/leased/1"), b64("s/leased/2")])
    assert before["leases"][no_keys] == (300, [])
    assert len(before["kvs"]) == 6

    snap = tmp_path / "snap.db"
    saved = ctl(shim, "snapshot", "save", str(snap))
    assert saved.stdout == f"Snapshot saved at {snap}\n"
    assert snap.stat().st_size > 4096
    shim.stop()

    # into the old, non-empty data dir: refused, and the old database is untouched
    old_db = shim.data_dir / "db" / "state.db"
    old_bytes = old_db.read_bytes()
    refused = snapshot_restore(snap, shim.data_dir)
    assert refused.returncode != 0
    assert "already exists; restore into an empty data dir" in refused.stderr
    assert old_db.read_bytes() == old_bytes

    new_dir = tmp_path / "restored"
    done = snapshot_restore(snap, new_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"restored {snap} into {new_dir / 'db' / 'state.db'}\n"

    restored = Server(new_dir, shim_argv(), tmp_path / "restored.log").start()
    try:
        after = _state(restored, [with_keys, no_keys], historical)
        assert after == before
        below = ctl(restored, "get", "s/a", "--rev", str(compact_at - 1), check=False)
        assert below.returncode != 0 and COMPACTED in below.stderr
        for lid, granted in ((with_keys, 600), (no_keys, 300)):
            assert 0 < ctl_json(restored, "lease", "timetolive", f"{lid:x}")["ttl"] <= granted
        assert put_rev(restored, "s/new", "x") == before["revision"] + 1
        ctl(restored, "lease", "revoke", f"{with_keys:x}")
        assert ctl(restored, "get", "--prefix", "s/leased/").stdout == ""
    finally:
        restored.stop()


def test_restore_refuses_bad_snapshots(shim: Server, tmp_path: Path) -> None:
    put_rev(shim, "k", "v")
    snap = tmp_path / "snap.db"
    ctl(shim, "snapshot", "save", str(snap))
    raw = snap.read_bytes()
    body = raw[:-32]

    def corrupt_pages(data: bytes) -> bytes:
        # every page after the first overwritten: a database that was already damaged on disk when
        # the snapshot was taken, so its sha256 trailer is right
        page_size = int.from_bytes(data[16:18], "big")
        return data[:page_size] + b"\xab" * (len(data) - page_size)

    def with_trailer(data: bytes) -> bytes:
        return data + hashlib.sha256(data).digest()

    noise = os.urandom(8192)
    damaged = "database fails its integrity check|corrupt snapshot"
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    bad_header = bytearray(body)
    bad_header[16:18] = b"\x00\x07"  # an impossible page size
    cases = {
        "truncated": (raw[: len(raw) // 2], "sha256 trailer does not match"),
        "bit-flip": (bytes(flipped), "sha256 trailer does not match"),
        "empty": (b"", "too short to be a snapshot"),
        "not-sqlite": (with_trailer(noise), "not an edgek8s (SQLite) snapshot"),
        "damaged-pages": (with_trailer(corrupt_pages(body)), damaged),
        "bad-header": (with_trailer(bytes(bad_header)), "corrupt snapshot"),
        "cut-with-trailer": (with_trailer(body[: len(body) // 2]), damaged),
    }
    for name, (data, messages) in cases.items():
        bad = tmp_path / f"{name}.db"
        bad.write_bytes(data)
        target = tmp_path / f"restore-{name}"
        result = snapshot_restore(bad, target)
        assert result.returncode != 0, name
        assert any(m in result.stderr for m in messages.split("|")), (name, result.stderr)
        assert "Traceback" not in result.stderr, (name, result.stderr)
        assert result.stderr.startswith("edgek8s: "), (name, result.stderr)
        assert not (target / "db").exists(), (name, sorted(p.name for p in target.rglob("*")))

    # a leftover SQLite WAL in the target would be replayed over the restored database: refused too
    stale = tmp_path / "stale-wal"
    (stale / "db").mkdir(parents=True)
    (stale / "db" / "state.db-wal").write_bytes(b"")
    result = snapshot_restore(snap, stale)
    assert result.returncode != 0 and "state.db-wal already exists" in result.stderr
    assert not (stale / "db" / "state.db").exists()

    # and the untouched snapshot still restores
    assert snapshot_restore(snap, tmp_path / "fine").returncode == 0
