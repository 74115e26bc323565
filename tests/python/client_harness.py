"""Driving coffer's client side (``coffer agent``/``sync``/``resolve``/``run``) against a real server.

Every command gets a clean environment: no user AWS configuration, the server's endpoint and the
test's root credentials. Nothing is mocked: the client talks HTTP to a spawned ``coffer server``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Sequence

from coffer_harness import ACCESS_KEY, REGION, SECRET_KEY, _LIVE, CofferServer, coffer_binary, free_port

_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

TOKEN = "test-ssrf-token"


def client_env(server: CofferServer | None, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a coffer client command pointed at ``server``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COFFER_", "AWS_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        AWS_CONFIG_FILE=str(home / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_REGION=REGION,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    if server is not None:
        env["AWS_ENDPOINT_URL"] = server.endpoint
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def coffer(
    args: Sequence[str],
    env: dict[str, str],
    *,
    input: bytes | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess:
    """Run ``coffer ARGS``; returns the completed process (bytes stdout/stderr)."""
    return subprocess.run(
        [str(coffer_binary()), *args],
        env=env,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        cwd=cwd,
    )


def server_request_count(server: CofferServer) -> int:
    """Requests the server has answered so far (its JSON debug log has one `request` line each)."""
    n = 0
    for line in server.log_text().splitlines():
        if '"message":"request"' in line and "coffer_server::protocol" in line:
            n += 1
    return n


def json_server(base_dir: Path) -> CofferServer:
    """A server whose debug log is JSON, so its requests can be counted."""
    return CofferServer(base_dir, env={"COFFER_LOG_FORMAT": "json"}).start()


class Agent:
    """A running ``coffer agent`` on a free loopback port."""

    def __init__(self, server: CofferServer | None, base_dir: Path, *, args: Sequence[str] = (), env: dict | None = None,
                 token: str | None = TOKEN, port: int | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log_path = self.base_dir / "agent.log"
        extra = {"COFFER_LOG": "debug"}
        if token is not None:
            extra["AWS_TOKEN"] = token
        extra.update(env or {})
        self.env = client_env(server, self.base_dir / "home", **extra)
        self.args = ["agent", "--listen", f"127.0.0.1:{self.port}", "--log-format", "json", *args]
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> "Agent":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(coffer_binary()), *self.args],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _LIVE.add(self.proc)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"coffer agent exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                status, _, _ = self.get("/ping", token=None)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"coffer agent did not answer /ping:\n{self.log_text()}")

    def wait_exit(self, timeout: float = 20) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        _LIVE.discard(self.proc)
        return code

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        _LIVE.discard(proc)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def upstream_calls(self, operation: str | None = None) -> int:
        """Calls the agent made to the endpoint (from its JSON debug log)."""
        n = 0
        for line in self.log_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            fields = rec.get("fields", {})
            if fields.get("message") == "upstream call" and (operation is None or fields.get("operation") == operation):
                n += 1
        return n

    def get(self, path: str, *, token: str | None = TOKEN, headers: dict | None = None,
            method: str = "GET") -> tuple[int, bytes, dict]:
        """One request; returns (status, body, headers)."""
        h = dict(headers or {})
        if token is not None:
            h.setdefault("X-Aws-Parameters-Secrets-Token", token)
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=h, method=method)
        try:
            with _NO_PROXY_OPENER.open(req, timeout=30) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def get_json(self, path: str, **kw):
        status, body, _ = self.get(path, **kw)
        assert status == 200, f"{path}: {status} {body!r}\n{self.log_text()[-3000:]}"
        return json.loads(body)
