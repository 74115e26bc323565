"""`coffer admin rotate-master-key` (issue 23): every access key, every KMS key's material (imported
material included) and every rotation function's key re-wrapped under a new master key while a
writer keeps writing — on SQLite, and on two nodes sharing PostgreSQL — losing nothing: old
ciphertexts decrypt, IAM users' keys still sign, the audit trail (with digests signed under the
old key) verifies; afterwards the new key alone serves and the old key alone is refused."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

from coffer_harness import CofferServer, coffer_binary
from test_backup import PG, Writer, coffer, psql
from test_kms_import import _code, _import


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def seed(server: CofferServer, tmp: Path) -> dict:
    kms, sm, ssm, iam = (server.client(s) for s in ("kms", "secretsmanager", "ssm", "iam"))
    key = kms.create_key(Description="before the rotation")["KeyMetadata"]["KeyId"]
    kms.rotate_key_on_demand(KeyId=key)
    blobs = {f"p{i}".encode(): kms.encrypt(KeyId=key, Plaintext=f"p{i}".encode())["CiphertextBlob"] for i in range(5)}
    rsa = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]["KeyId"]
    signature = kms.sign(KeyId=rsa, Message=b"signed before", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    imported = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    material = os.urandom(32)
    _import(kms, imported, material, tmp)
    imported_blob = kms.encrypt(KeyId=imported, Plaintext=b"imported")["CiphertextBlob"]
    for i in range(10):
        sm.create_secret(Name=f"rot/secret-{i}", SecretString=f"s{i}")
        ssm.put_parameter(Name=f"/rot/param-{i}", Value=f"p{i}", Type="SecureString")
    iam.create_user(UserName="signer")
    user_key = iam.create_access_key(UserName="signer")["AccessKey"]
    fn = coffer("admin", "create-rotation-function", "--function-name", "rotator", "--url", "http://127.0.0.1:9/rotate",
                "--endpoint-url", server.endpoint)
    assert fn.returncode == 0, fn.stderr
    return {"key": key, "blobs": blobs, "sign_key": rsa, "signature": signature, "imported": imported,
            "material": material, "imported_blob": imported_blob, "user_key": user_key}


def check(server: CofferServer, seeded: dict, tmp: Path, writers: list[tuple[str, int]]) -> None:
    kms, sm, ssm = (server.client(s) for s in ("kms", "secretsmanager", "ssm"))
    for plain, blob in seeded["blobs"].items():
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plain
    assert kms.verify(KeyId=seeded["sign_key"], Message=b"signed before", Signature=seeded["signature"],
                      SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"]
    assert kms.decrypt(CiphertextBlob=seeded["imported_blob"])["Plaintext"] == b"imported"
    for i in range(10):
        assert sm.get_secret_value(SecretId=f"rot/secret-{i}")["SecretString"] == f"s{i}"
        assert ssm.get_parameter(Name=f"/rot/param-{i}", WithDecryption=True)["Parameter"]["Value"] == f"p{i}"
    for tag, written in writers:
        assert int(sm.get_secret_value(SecretId=f"load/{tag}")["SecretString"]) == written
    uk = seeded["user_key"]
    who = server.client("sts", access_key=uk["AccessKeyId"], secret_key=uk["SecretAccessKey"]).get_caller_identity()
    assert who["Arn"].endswith(":user/signer")
    listed = coffer("admin", "list-rotation-functions", "--endpoint-url", server.endpoint)
    assert listed.returncode == 0 and "rotator" in listed.stdout


def refuses_to_start(data_dir: Path, env: dict, extra: list[str] = ()) -> str:
    """Run `coffer server` expecting it to exit at once; its output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COFFER_"))}
    clean.update(env)
    proc = subprocess.run(
        [str(coffer_binary()), "server", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), *extra],
        env=clean, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0, "the server started with the old master key"
    return proc.stdout + proc.stderr


def rotate(server: CofferServer, new_key_file: Path) -> dict:
    out = coffer("admin", "rotate-master-key", "--new-master-key-file", str(new_key_file),
                 "--endpoint-url", server.endpoint)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def test_rotation_on_sqlite_under_load(tmp_path):
    server = CofferServer(tmp_path / "node").start()
    try:
        seeded = seed(server, tmp_path)
        server.restart()  # signs an audit digest under the old key (a new leader signs at once)
        old = (server.data_dir / "master.key").read_bytes()
        new = os.urandom(32)
        new_file = tmp_path / "new.key"
        new_file.write_bytes(new)

        # Without a previous key there is nothing to rotate from: refused, nothing changed.
        refused = coffer("admin", "rotate-master-key", "--endpoint-url", server.endpoint)
        assert refused.returncode != 0 and "COFFER_PREVIOUS_MASTER_KEY" in refused.stderr

        # Restart with the new key and the old one as previous; rotate while a writer writes.
        server.stop()
        server.extra_env.update(COFFER_MASTER_KEY=b64(new), COFFER_PREVIOUS_MASTER_KEY=b64(old))
        server.start()
        check(server, seeded, tmp_path, [])
        writer = Writer(server, "during")
        writer.start()
        while writer.written < 5:
            time.sleep(0.01)
        # Naming another key than the server's current one is refused.
        wrong = tmp_path / "wrong.key"
        wrong.write_bytes(os.urandom(32))
        mismatch = coffer("admin", "rotate-master-key", "--new-master-key-file", str(wrong), "--endpoint-url", server.endpoint)
        assert mismatch.returncode != 0 and "not" in mismatch.stderr
        report = rotate(server, new_file)
        written = writer.finish()
        assert report["AccessKeys"] >= 2 and report["KeyMaterials"] >= 4 and report["RotationFunctions"] == 1, report
        # Again: already done, nothing left to re-wrap.
        again = rotate(server, new_file)
        assert again["AccessKeys"] == again["KeyMaterials"] == 0
        check(server, seeded, tmp_path, [("during", written)])

        # The new key alone serves everything, and the old ciphertexts still decrypt.
        server.stop()
        del server.extra_env["COFFER_PREVIOUS_MASTER_KEY"]
        server.start()
        check(server, seeded, tmp_path, [("during", written)])
        # Imported material: the same material re-imports (its fingerprint was made under the old key).
        kms = server.client("kms")
        kms.delete_imported_key_material(KeyId=seeded["imported"])
        assert _code(lambda: _import(kms, seeded["imported"], os.urandom(32), tmp_path)) == "IncorrectKeyMaterialException"
        _import(kms, seeded["imported"], seeded["material"], tmp_path)
        assert kms.decrypt(CiphertextBlob=seeded["imported_blob"])["Plaintext"] == b"imported"
        server.stop()
        verify = coffer("audit", "verify", "--data-dir", str(server.data_dir), env_extra={"COFFER_MASTER_KEY": b64(new)})
        assert verify.returncode == 0, verify.stdout + verify.stderr
        # Digests were signed at every start: the first under the old key, checked with its
        # retired digest key.
        digests = int(re.search(r"(\d+) signed digests", verify.stdout).group(1))
        assert digests >= 3, verify.stdout

        # The old key alone (the data directory's master.key still holds it) is refused.
        log = refuses_to_start(server.data_dir, {})
        assert "rotated" in log and "master key does not match" in log
    finally:
        server.kill()


def test_rotation_on_two_postgres_nodes_under_load(tmp_path):
    schema = f"coffer_rekey_{uuid.uuid4().hex[:12]}"
    psql(f"CREATE SCHEMA {schema}")
    url = f"{PG}?options[search_path]={schema}"
    old, new = os.urandom(32), os.urandom(32)
    new_file = tmp_path / "new.key"
    new_file.write_bytes(new)
    nodes = [
        CofferServer(tmp_path / f"node-{i}", extra_args=["--store", url], env={"COFFER_MASTER_KEY": b64(old)})
        for i in range(2)
    ]
    try:
        for n in nodes:
            n.start()
        seeded = seed(nodes[0], tmp_path)
        # Rolling restart: every node with the new key and the old one as previous.
        for n in nodes:
            n.stop()
            n.extra_env.update(COFFER_MASTER_KEY=b64(new), COFFER_PREVIOUS_MASTER_KEY=b64(old))
            n.start()
        writers = [Writer(n, f"pg-{i}") for i, n in enumerate(nodes)]
        for w in writers:
            w.start()
        while min(w.written for w in writers) < 3:
            time.sleep(0.01)
        report = rotate(nodes[0], new_file)
        written = [w.finish() for w in writers]
        assert report["KeyMaterials"] >= 4, report
        tags = [(f"pg-{i}", n) for i, n in enumerate(written)]
        for n in nodes:
            check(n, seeded, tmp_path, tags)
        # Both nodes with only the new key.
        for n in nodes:
            n.stop()
            del n.extra_env["COFFER_PREVIOUS_MASTER_KEY"]
            n.start()
            check(n, seeded, tmp_path, tags)
        verify = coffer("audit", "verify", "--data-dir", str(nodes[0].data_dir), "--store", url,
                        env_extra={"COFFER_MASTER_KEY": b64(new)})
        assert verify.returncode == 0, verify.stdout + verify.stderr
        # A node with only the old key is refused.
        log = refuses_to_start(tmp_path / "late-node", {"COFFER_MASTER_KEY": b64(old)}, ["--store", url])
        assert "master key does not match" in log
    finally:
        for n in nodes:
            n.kill()
        psql(f"DROP SCHEMA {schema} CASCADE")
