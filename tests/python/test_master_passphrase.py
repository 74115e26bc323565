"""The master key derived from a passphrase: no key file, data readable again with the same
passphrase, a wrong passphrase refused at start-up with a clear error."""

from __future__ import annotations

import pytest

from coffer_harness import CofferServer

PASSPHRASE = "correct horse battery staple 42"


def test_passphrase_master_key(tmp_path):
    server = CofferServer(tmp_path / "node", env={"COFFER_MASTER_PASSPHRASE": PASSPHRASE}).start()
    try:
        server.client("secretsmanager").create_secret(Name="pp", SecretString="passphrase-protected")
        assert not (server.data_dir / "master.key").exists()
        server.restart()
        got = server.client("secretsmanager").get_secret_value(SecretId="pp")
        assert got["SecretString"] == "passphrase-protected"
    finally:
        server.kill()

    wrong = CofferServer(tmp_path / "node", env={"COFFER_MASTER_PASSPHRASE": "another passphrase entirely"})
    with pytest.raises(RuntimeError) as e:
        wrong.start()
    assert "master key" in str(e.value).lower()
    wrong.kill()


def test_a_second_server_on_the_same_data_dir_refuses_to_start(tmp_path):
    """One process owns a SQLite store (its read cache relies on seeing every write): a second
    server pointed at the same data directory stops with an error naming the cause."""
    first = CofferServer(tmp_path / "node").start()
    try:
        first.client("secretsmanager").create_secret(Name="owned", SecretString="v1")
        second = CofferServer(tmp_path / "node")
        with pytest.raises(RuntimeError) as e:
            second.start()
        second.kill()
        assert "in use by another coffer server" in str(e.value)
        # The first is unaffected, and serves its own writes at once (the cache is invalidated).
        sm = first.client("secretsmanager")
        sm.put_secret_value(SecretId="owned", SecretString="v2")
        assert sm.get_secret_value(SecretId="owned")["SecretString"] == "v2"
    finally:
        first.kill()
    # Once the owner is gone, the directory can be served again.
    again = CofferServer(tmp_path / "node").start()
    try:
        assert again.client("secretsmanager").get_secret_value(SecretId="owned")["SecretString"] == "v2"
    finally:
        again.kill()
