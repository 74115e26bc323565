"""Plaintext never reaches the disk or the log: not in the data dir, not in the debug log."""

from __future__ import annotations


from helpers import assert_nowhere
from coffer_harness import SECRET_KEY, CofferServer, files_under, stored_bytes

PLAINTEXT = b"coffer-hygiene-\xe2\x9c\x93-Zq8vK3-distinctive-plaintext"


def test_plaintexts_are_not_stored_or_logged(start_server):
    server: CofferServer = start_server(log_level="debug")
    kms = server.client("kms")
    key = kms.create_key(Description="hygiene")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/hygiene", TargetKeyId=key)
    ctx = {"purpose": "hygiene"}

    blob = kms.encrypt(KeyId="alias/hygiene", Plaintext=PLAINTEXT, EncryptionContext=ctx)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == PLAINTEXT
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    re = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=ctx, DestinationKeyId=other)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=re)["Plaintext"] == PLAINTEXT
    managed = kms.encrypt(KeyId="alias/aws/secretsmanager", Plaintext=PLAINTEXT)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=managed)["Plaintext"] == PLAINTEXT
    data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"]
    random_bytes = kms.generate_random(NumberOfBytes=64)["Plaintext"]
    # Failures too: an oversized plaintext and a wrong context must not be echoed anywhere.
    oversized = PLAINTEXT * (4097 // len(PLAINTEXT) + 1)
    try:
        kms.encrypt(KeyId=key, Plaintext=oversized)
    except kms.exceptions.ClientError:
        pass
    else:
        raise AssertionError("an oversized plaintext was accepted")
    assert "DEBUG" in server.log_text(), "the server did not log at debug level"

    # While running (the WAL holds recent writes) and after a graceful stop (checkpointed).
    assert_nowhere(PLAINTEXT, server, "the plaintext")
    server.stop()
    assert_nowhere(PLAINTEXT, server, "the plaintext")
    assert_nowhere(data_key, server, "a data key's plaintext")
    assert_nowhere(random_bytes, server, "GenerateRandom output")


def test_root_secret_is_not_logged_or_stored_in_clear(start_server):
    server: CofferServer = start_server(log_level="debug")
    server.client("sts").get_caller_identity()
    server.client("kms").list_keys()
    server.stop()
    assert SECRET_KEY not in server.log_text()
    for path in files_under(server.data_dir):
        assert SECRET_KEY.encode() not in stored_bytes(path), f"the root secret key is stored in clear in {path.name}"
