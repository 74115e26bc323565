"""Fixtures: a real coffer server per test module (or per test), boto3 sessions, the aws CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest

from coffer_harness import (
    ACCESS_KEY,
    SECRET_KEY,
    AwsCli,
    CofferServer,
    make_client,
    make_session,
)
from helpers import raw_client


@pytest.fixture(scope="session", autouse=True)
def _isolated_aws_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No user AWS configuration, profile, credentials or proxy may leak into boto3 in this process."""
    home = tmp_path_factory.mktemp("aws-home")
    (home / "config").touch()
    (home / "credentials").touch()
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("AWS_") or name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
                mp.delenv(name, raising=False)
        mp.setenv("AWS_CONFIG_FILE", str(home / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        yield


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., CofferServer]]:
    """Factory: ``start_server(extra_args=..., root_credentials=..., log_level=..., name=...)``.

    Every server it starts is killed at the end of the test if still running."""
    servers: list[CofferServer] = []

    def start(*, name: str = "coffer", **kwargs) -> CofferServer:
        server = CofferServer(tmp_path / f"{name}-{len(servers)}", **kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofferServer]:
    """One server shared by the tests of a module (they use distinct names, so they do not collide)."""
    s = CofferServer(tmp_path_factory.mktemp("coffer"))
    s.start()
    try:
        yield s
    finally:
        s.kill()


@pytest.fixture
def fresh_server(start_server) -> CofferServer:
    """A server of its own for a test that restarts it or counts what is in it."""
    return start_server()


@pytest.fixture
def session_factory() -> Callable:
    """``session_factory(access_key=ACCESS_KEY, secret_key=SECRET_KEY)`` -> boto3.Session in us-east-1."""

    def factory(access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY):
        return make_session(access_key, secret_key)

    return factory


@pytest.fixture(scope="module")
def kms(server: CofferServer):
    return make_client(make_session(), "kms", server.endpoint)


@pytest.fixture(scope="module")
def kms_raw(server: CofferServer):
    """KMS without botocore's client-side checks: coffer's own validation answers."""
    return raw_client(server, "kms")


@pytest.fixture(scope="module")
def sm(server: CofferServer):
    return make_client(make_session(), "secretsmanager", server.endpoint)


@pytest.fixture(scope="module")
def sm_raw(server: CofferServer):
    """Secrets Manager without botocore's client-side checks: coffer's own validation answers."""
    return raw_client(server, "secretsmanager")


@pytest.fixture(scope="module")
def ssm(server: CofferServer):
    return make_client(make_session(), "ssm", server.endpoint)


@pytest.fixture(scope="module")
def ssm_raw(server: CofferServer):
    """Parameter Store without botocore's client-side checks: coffer's own validation answers."""
    return raw_client(server, "ssm")


@pytest.fixture(scope="module")
def sts(server: CofferServer):
    return make_client(make_session(), "sts", server.endpoint)


@pytest.fixture(scope="module")
def aws(server: CofferServer, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    """``aws(*args) -> (returncode, stdout, stderr)``; ``aws.json(*args)`` parses a successful run."""
    return AwsCli(server, tmp_path_factory.mktemp("cli-home"))
