"""Spawning a real ``coffer server`` and talking to it with real AWS clients.

The Python twin of ``tests/conformance/tests/common/mod.rs``: every server gets its own
data dir, its own free port and (by default) known root credentials. Nothing here mocks
coffer; the tests only speak HTTP to the real binary.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, Sequence

import boto3
import botocore.config

ACCESS_KEY = "AKIACOFFERTESTKEY000"
SECRET_KEY = "cofferTestSecretKey/0123456789abcdefghijk"
REGION = "us-east-1"
ACCOUNT = "000000000000"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"

HEALTH_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

REPO_ROOT = Path(__file__).resolve().parent.parent.parent

# No proxy may sit between the tests and 127.0.0.1.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# Every server process still running, so that an interrupted run does not leave any behind.
_LIVE: set[subprocess.Popen] = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _LIVE.clear()


def coffer_binary() -> Path:
    """``$COFFER_BIN``, else ``$CARGO_TARGET_DIR/debug/coffer``, else ``<repo>/target/debug/coffer``."""
    if os.environ.get("COFFER_BIN"):
        return Path(os.environ["COFFER_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR")
    # Like cargo, a relative CARGO_TARGET_DIR is relative to the current directory.
    target_dir = Path(target).resolve() if target else REPO_ROOT / "target"
    return target_dir / "debug" / "coffer"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """The current environment without anything that could configure coffer or an AWS client."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COFFER_", "AWS_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }


class CofferServer:
    """One ``coffer server`` process on a free port, with its data dir and log under ``base_dir``."""

    def __init__(
        self,
        base_dir: Path,
        *,
        extra_args: Sequence[str] = (),
        root_credentials: bool = True,
        log_level: str = "debug",
        env: dict[str, str] | None = None,
    ) -> None:
        self.base_dir = Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "server.log"
        self.extra_args = list(extra_args)
        self.root_credentials = root_credentials
        self.log_level = log_level
        self.extra_env = dict(env or {})
        self.port = 0
        self.proc: subprocess.Popen | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "CofferServer":
        binary = coffer_binary()
        if not binary.exists():
            raise RuntimeError(f"{binary} is missing: run `cargo build --bin coffer` first (or set COFFER_BIN)")
        # A free port can be taken between probing and binding: try a few.
        last_error = ""
        for _ in range(3):
            self.port = free_port()
            env = _clean_env()
            env["COFFER_LOG"] = self.log_level
            # Request quotas are tested on their own (test_limits.py): the suites call faster
            # than AWS's control-plane quotas allow. A test passes env={"COFFER_NO_THROTTLE": "false"}
            # to keep them.
            env["COFFER_NO_THROTTLE"] = "true"
            if self.root_credentials:
                env["COFFER_ROOT_ACCESS_KEY_ID"] = ACCESS_KEY
                env["COFFER_ROOT_SECRET_ACCESS_KEY"] = SECRET_KEY
            env.update(self.extra_env)
            with open(self.log_path, "ab") as log:
                log.write(f"==== coffer server on port {self.port} ====\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    [
                        str(binary),
                        "server",
                        "--listen",
                        f"127.0.0.1:{self.port}",
                        "--data-dir",
                        str(self.data_dir),
                        *self.extra_args,
                    ],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                _LIVE.add(self.proc)
            ok, last_error = self._wait_healthy()
            if ok:
                return self
            if "in use" not in self.log_text().lower():
                break
        self.kill()
        raise RuntimeError(f"coffer did not become healthy: {last_error}\n--- server log ---\n{self.log_text()}")

    def _wait_healthy(self) -> tuple[bool, str]:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.proc is not None
            code = self.proc.poll()
            if code is not None:
                return False, f"coffer exited with status {code}"
            try:
                with _NO_PROXY_OPENER.open(f"{self.endpoint}/health", timeout=2) as resp:
                    body = resp.read()
                    if resp.status == 200:
                        json.loads(body)
                        return True, ""
                    last = f"/health answered {resp.status}"
            except urllib.error.HTTPError as e:
                last = f"/health answered {e.code}"
            except (OSError, ValueError) as e:
                last = repr(e)
            time.sleep(0.05)
        return False, f"not healthy within {HEALTH_TIMEOUT:.0f} s ({last})"

    def stop(self) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit status."""
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        _LIVE.discard(proc)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"coffer did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM\n{self.log_text()}")
        return proc.returncode

    def restart(self) -> "CofferServer":
        """Graceful stop, then start again on the same data dir (on a new port)."""
        code = self.stop()
        if code != 0:
            raise RuntimeError(f"coffer exited with status {code} on SIGTERM\n{self.log_text()}")
        return self.start()

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        _LIVE.discard(proc)
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_bytes(self) -> bytes:
        try:
            return self.log_path.read_bytes()
        except FileNotFoundError:
            return b""

    # -- clients ---------------------------------------------------------------------------

    def session(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> boto3.Session:
        return make_session(access_key, secret_key)

    def client(self, service: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, **kwargs):
        return make_client(self.session(access_key, secret_key), service, self.endpoint, **kwargs)


# One attempt only: a 5xx from coffer must show up as a failure, not be retried away.
CLIENT_CONFIG = botocore.config.Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
)


def make_session(access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> boto3.Session:
    return boto3.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=REGION)


def make_client(session: boto3.Session, service: str, endpoint: str, **kwargs):
    kwargs.setdefault("config", CLIENT_CONFIG)
    return session.client(service, endpoint_url=endpoint, **kwargs)


class AwsCli:
    """The real ``aws`` CLI (v1) pointed at a coffer server, with no user configuration leaking in."""

    def __init__(self, server: CofferServer, home: Path, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY):
        exe = shutil.which("aws")
        if exe is None:
            raise RuntimeError("the `aws` CLI is not on PATH (pip install -r tests/python/requirements.txt)")
        self.exe = exe
        self.server = server
        self.home = Path(home)
        (self.home / ".aws").mkdir(parents=True, exist_ok=True)
        self.config_file = self.home / ".aws" / "config"
        self.credentials_file = self.home / ".aws" / "credentials"
        self.config_file.touch()
        self.credentials_file.touch()
        self.access_key = access_key
        self.secret_key = secret_key

    def env(self) -> dict[str, str]:
        env = _clean_env()
        env.update(
            HOME=str(self.home),
            AWS_CONFIG_FILE=str(self.config_file),
            AWS_SHARED_CREDENTIALS_FILE=str(self.credentials_file),
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_DEFAULT_REGION=REGION,
            AWS_MAX_ATTEMPTS="1",
            AWS_RETRY_MODE="standard",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        return env

    def __call__(self, *args: str, timeout: float = 60) -> tuple[int, str, str]:
        proc = subprocess.run(
            [self.exe, "--endpoint-url", self.server.endpoint, *args],
            env=self.env(),
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return proc.returncode, proc.stdout, proc.stderr

    def json(self, *args: str):
        """Run with ``--output json``; the command must succeed. Returns the parsed output (None if empty)."""
        code, out, err = self(*args, "--output", "json")
        assert code == 0, f"aws {' '.join(args)} exited {code}\nstdout: {out}\nstderr: {err}"
        return json.loads(out) if out.strip() else None

    def text(self, *args: str) -> str:
        """Run with ``--output text``; the command must succeed. Returns stdout stripped."""
        code, out, err = self(*args, "--output", "text")
        assert code == 0, f"aws {' '.join(args)} exited {code}\nstdout: {out}\nstderr: {err}"
        return out.strip()


def files_under(directory: Path) -> Iterable[Path]:
    return sorted(p for p in Path(directory).rglob("*") if p.is_file())


def stored_bytes(path: Path) -> bytes:
    """What a file holds, for tests that look for a value in it: its bytes, and for a SQLite
    database also the audit log's batches uncompressed (they are stored zstd-compressed, where
    a leaked value would not show as its bytes). The database is read from a copy, its WAL
    included, so a running server is not disturbed."""
    import sqlite3
    import tempfile

    import zstandard

    raw = Path(path).read_bytes()
    if not raw.startswith(b"SQLite format 3\0"):
        return raw
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        shutil.copyfile(path, copy)
        wal = Path(f"{path}-wal")
        if wal.exists():
            shutil.copyfile(wal, Path(f"{copy}-wal"))
        conn = sqlite3.connect(copy)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_log'").fetchone():
                return raw
            columns = {row[1] for row in conn.execute("PRAGMA table_info(audit_log)")}
            if "packed" not in columns:
                return raw
            packed = [row[0] for row in conn.execute("SELECT packed FROM audit_log WHERE packed IS NOT NULL")]
        finally:
            conn.close()
    unpack = zstandard.ZstdDecompressor()
    return raw + b"".join(unpack.decompress(p) for p in packed)


def error_code(exc) -> str:
    return exc.response["Error"]["Code"]


def http_status(exc) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]
