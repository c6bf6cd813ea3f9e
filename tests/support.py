"""Real processes for tests: our datastore, a real etcd, and gRPC stubs to talk to either."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.etcdpb import rpc_pb2_grpc

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stubs:
    channel: grpc.Channel
    kv: rpc_pb2_grpc.KVStub = field(init=False)
    watch: rpc_pb2_grpc.WatchStub = field(init=False)
    lease: rpc_pb2_grpc.LeaseStub = field(init=False)
    maintenance: rpc_pb2_grpc.MaintenanceStub = field(init=False)
    cluster: rpc_pb2_grpc.ClusterStub = field(init=False)

    def __post_init__(self) -> None:
        self.kv = rpc_pb2_grpc.KVStub(self.channel)
        self.watch = rpc_pb2_grpc.WatchStub(self.channel)
        self.lease = rpc_pb2_grpc.LeaseStub(self.channel)
        self.maintenance = rpc_pb2_grpc.MaintenanceStub(self.channel)
        self.cluster = rpc_pb2_grpc.ClusterStub(self.channel)

    def close(self) -> None:
        self.channel.close()


def stubs_for(endpoint: str) -> Stubs:
    channel = grpc.insecure_channel(
        endpoint, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024), ("grpc.enable_retries", 0)]
    )
    return Stubs(channel)


def wait_ready(endpoint: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    stubs = stubs_for(endpoint)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode} before serving {endpoint}")
            try:
                stubs.maintenance.Status(pb.StatusRequest(), timeout=1.0)
                return
            except grpc.RpcError:
                time.sleep(0.05)
        raise TimeoutError(f"{endpoint} not ready after {timeout}s")
    finally:
        stubs.close()


class Server:
    """A datastore process (ours or etcd) on a loopback port, in its own data dir."""

    def __init__(self, data_dir: Path, argv_fn, log_path: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.endpoint}"
        self._argv_fn = argv_fn
        self._log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        log = open(self._log_path, "ab")
        self.proc = subprocess.Popen(
            self._argv_fn(self), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        wait_ready(self.endpoint, self.proc)
        return self

    def stubs(self) -> Stubs:
        return stubs_for(self.endpoint)

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_text(self) -> str:
        return self._log_path.read_text(errors="replace") if self._log_path.exists() else ""


def shim_argv(*extra: str):
    def argv(server: Server) -> list[str]:
        return [
            sys.executable, "-m", "distro.cli", "datastore",
            "--data-dir", str(server.data_dir),
            "--listen-client-urls", server.url,
            *extra,
        ]  # fmt: skip

    return argv


def etcd_argv(*extra: str):
    def argv(server: Server) -> list[str]:
        peer = f"http://127.0.0.1:{free_port()}"
        return [
            ETCD, "--name", "default", "--data-dir", str(server.data_dir),
            "--listen-client-urls", server.url, "--advertise-client-urls", server.url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"default={peer}", "--log-level", "error", *extra,
        ]  # fmt: skip

    return argv


def etcdctl(endpoint: str, *args: str, input: str | None = None, timeout: float = 20.0, check: bool = True):
    env = {**os.environ, "ETCDCTL_API": "3"}
    result = subprocess.run(
        [ETCDCTL, f"--endpoints={endpoint}", *args],
        input=input, capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"etcdctl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result
