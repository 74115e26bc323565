"""A private PostgreSQL cluster for tests that must stop, restart or starve it: its own temp
directory, its own port, trust authentication on 127.0.0.1, run as the ``postgres`` user when the
tests run as root (as ``test_rotation_cli.py`` does), controlled with ``pg_ctl``."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from coffer_harness import free_port


def pg_bin() -> Path:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not dirs:
        pytest.fail("PostgreSQL binaries are missing (apt-get install postgresql; .ci/run does)")
    return Path(dirs[-1]).parent


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PgCluster:
    def __init__(self) -> None:
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.dir = Path(tempfile.mkdtemp(prefix="coffer-pgfault-", dir=base))
        self.data = self.dir / "data"
        self.port = free_port()
        self.bin = pg_bin()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30",
                         "-l", str(self.dir / "postgres.log"), *args]),
            capture_output=True, text=True, timeout=timeout,
        )

    def init(self) -> "PgCluster":
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.dir)], check=True)
        subprocess.run(
            as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                         "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True,
        )
        # The process survives (only coffer is killed in these tests), so commits need not reach
        # the platters: fsync off keeps a shared machine fast without weakening what is tested.
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                "fsync = off\nfull_page_writes = off\nmax_connections = 200\n"
            )
        return self

    def start(self) -> "PgCluster":
        out = self._ctl("start")
        assert out.returncode == 0, f"pg_ctl start: {out.stdout}{out.stderr}\n{self.log()}"
        return self

    def restart(self) -> float:
        """``pg_ctl restart -m fast``; returns how long it took (seconds)."""
        started = time.monotonic()
        out = self._ctl("restart", "-m", "fast")
        assert out.returncode == 0, f"pg_ctl restart: {out.stdout}{out.stderr}\n{self.log()}"
        return time.monotonic() - started

    def stop(self, mode: str = "immediate") -> None:
        out = self._ctl("stop", "-m", mode)
        assert out.returncode == 0, f"pg_ctl stop: {out.stdout}{out.stderr}\n{self.log()}"

    def destroy(self) -> None:
        self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql: str) -> str:
        out = subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
             "-w", "-Atc", sql],
            env={"PATH": os.environ.get("PATH", ""), "PGCONNECT_TIMEOUT": "5"}, capture_output=True, text=True, timeout=30,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def log(self) -> str:
        try:
            return (self.dir / "postgres.log").read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""
