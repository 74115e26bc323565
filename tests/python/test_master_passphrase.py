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
