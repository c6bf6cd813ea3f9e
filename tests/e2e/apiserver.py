"""A real `edgek8s server` process on a loopback port in a temp dir, and real kubectl against it."""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support import free_port

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


class EdgeServer:
    def __init__(self, data_dir: Path, log_path: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.kubeconfig = data_dir / "kubeconfig.yaml"
        self.log_path = log_path
        self.extra = extra
        self.proc: subprocess.Popen | None = None

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "distro.cli",
            "server",
            "--data-dir",
            str(self.data_dir),
            "--https-listen-port",
            str(self.port),
            "--bind-address",
            "127.0.0.1",
            # the embedded service proxy would install nftables rules on the test machine itself
            "--disable-proxy",
            *self.extra,
        ]

    def start(self, timeout: float = 20.0) -> EdgeServer:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> float:
        """Seconds until /readyz answered 200."""
        started = time.monotonic()
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        while time.monotonic() - started < timeout:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"edgek8s server exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=1) as resp:
                    if resp.status == 200 and self.kubeconfig.exists():
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"edgek8s server not ready after {timeout}s:\n{self.log_text()}")

    def stop(self) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode if self.proc else None

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def logged_errors(self) -> list[str]:
        """Error-level log lines and tracebacks: a background task's bug shows up here and nowhere else."""
        return [
            line
            for line in self.log_text().splitlines()
            if '"level": "error"' in line or line.startswith("Traceback")
        ]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        full_env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HOME": str(self.data_dir),
            **(env or {}),
        }
        result = subprocess.run(
            [KUBECTL, *args], input=input, capture_output=True, text=True, timeout=timeout, env=full_env
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\nstdout:{result.stdout}\n"
                f"stderr:{result.stderr}"
            )
        return result


def user_kubeconfig(server: EdgeServer, user: str, groups: list[str], path: Path) -> Path:
    """A kubeconfig for USER/GROUPS with a client cert signed by the server's cluster CA."""
    import yaml

    from distro.pki.ca import CertificateAuthority, cert_pem, key_pem, new_key
    from distro.pki.certs import client_subject
    from distro.pki.kubeconfig import render_kubeconfig

    tls = server.data_dir / "tls"
    ca = CertificateAuthority.load((tls / "server-ca.crt").read_bytes(), (tls / "server-ca.key").read_bytes())
    key = new_key()
    cert = ca.sign(client_subject(user, groups), key.public_key(), "client")
    doc = render_kubeconfig(server.url, ca.pem, cert_pem(cert), key_pem(key), name=user.replace(":", "-"))
    path.write_text(yaml.safe_dump(doc))
    return path


def ssl_context(server: EdgeServer, kubeconfig: Path | None = None) -> ssl.SSLContext:
    """A client TLS context trusting the cluster CA, presenting the kubeconfig's client cert if given."""
    import base64
    import tempfile

    import yaml

    ctx = ssl.create_default_context(cadata=(server.data_dir / "tls" / "server-ca.crt").read_text())
    if kubeconfig is not None:
        user = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "c.crt", Path(tmp) / "c.key"
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            ctx.load_cert_chain(cert, key)
    return ctx
