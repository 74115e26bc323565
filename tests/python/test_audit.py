"""The audit trail: every call recorded (failures too), never a value, CloudTrail LookupEvents as the
seed uses it, paging, account isolation, and tamper evidence checked by `coffer audit verify`."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time

import pytest
import zstandard

from coffer_harness import AwsCli, CofferServer, coffer_binary, error_code, files_under, stored_bytes

SECRET = "audit-test-secret-Vh83-distinctive"
PARAM = "audit-test-param-Qw19-distinctive"


def _verify(data_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(coffer_binary()), "audit", "verify", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def audited(start_server, tmp_path) -> tuple[CofferServer, AwsCli]:
    server = start_server(log_level="debug")
    return server, AwsCli(server, tmp_path / "cli-home")


def test_seed_lookup_events_shows_who_did_what(audited):
    server, cli = audited
    cli.json(
        "secretsmanager", "create-secret", "--name", "prod/payments-api/database", "--secret-string", SECRET
    )
    cli.json("secretsmanager", "get-secret-value", "--secret-id", "prod/payments-api/database")
    code, _, _ = cli("secretsmanager", "get-secret-value", "--secret-id", "prod/payments-api/missing")
    assert code != 0
    # The seed's command as written (its --start-time is computed by the shell).
    proc = subprocess.run(
        [
            "bash",
            "-c",
            'aws --endpoint-url "$EP" cloudtrail lookup-events '
            "--lookup-attributes AttributeKey=ResourceName,AttributeValue=prod/payments-api/database "
            "--start-time \"$(date -u -d '-24 hours' +%Y-%m-%dT%H:%M:%SZ)\" "
            "--query 'Events[].{Time:EventTime,User:Username,Action:EventName,Source:SourceIPAddress}'",
        ],
        env={**cli.env(), "EP": server.endpoint},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["Action"] for r in rows] == ["GetSecretValue", "CreateSecret"], rows
    for r in rows:
        assert r["User"] == "root"
        assert isinstance(r["Time"], (int, float)) and abs(r["Time"] - time.time()) < 300
        # LookupEvents' Event shape has no SourceIPAddress member, so this projection is null on AWS
        # too; the address is in the full record.
        assert "Source" in r

    events = server.client("cloudtrail").lookup_events(MaxResults=50)["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    failed = [r for r in records if r.get("errorCode")]
    assert any(
        r["eventName"] == "GetSecretValue" and r["errorCode"] == "ResourceNotFoundException" for r in failed
    ), failed
    created = next(r for r in records if r["eventName"] == "CreateSecret")
    assert created["sourceIPAddress"] == "127.0.0.1"
    assert created["userIdentity"]["type"] == "Root"
    assert created["requestParameters"]["SecretString"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert created["responseElements"]["ARN"].startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:")
    assert created["readOnly"] is False and created["eventSource"] == "secretsmanager.amazonaws.com"
    got = next(r for r in records if r["eventName"] == "GetSecretValue" and not r.get("errorCode"))
    assert got["readOnly"] is True and got["responseElements"] is None


def test_paging_attributes_and_bad_input(audited):
    server, _ = audited
    sm = server.client("secretsmanager")
    for i in range(5):
        sm.create_secret(Name=f"page/{i}", SecretString=SECRET)
    ct = server.client("cloudtrail")
    seen, token = [], None
    while True:
        kwargs = {"MaxResults": 2, "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateSecret"}]}
        if token:
            kwargs["NextToken"] = token
        page = ct.lookup_events(**kwargs)
        assert len(page["Events"]) <= 2
        seen += [e["EventId"] for e in page["Events"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == 5 and len(set(seen)) == 5
    one = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": seen[0]}])["Events"]
    assert [e["EventId"] for e in one] == [seen[0]]
    reads = ct.lookup_events(LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}])["Events"]
    assert reads and all(e["ReadOnly"] == "false" for e in reads)
    with pytest.raises(ct.exceptions.ClientError) as e:
        ct.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "A"},
                {"AttributeKey": "Username", "AttributeValue": "B"},
            ]
        )
    assert error_code(e.value) == "InvalidLookupAttributesException"
    with pytest.raises(ct.exceptions.ClientError) as e:
        ct.lookup_events(StartTime=2_000_000_000, EndTime=1_000_000_000)
    assert error_code(e.value) == "InvalidTimeRangeException"


def test_accounts_see_only_their_own_events(start_server):
    server = start_server(extra_args=["--dev"])
    a = server.client("secretsmanager", access_key="111111111111", secret_key="x")
    b_ct = server.client("cloudtrail", access_key="222222222222", secret_key="x")
    a.create_secret(Name="mine", SecretString=SECRET)
    mine = server.client("cloudtrail", access_key="111111111111", secret_key="x").lookup_events()["Events"]
    assert any(e["EventName"] == "CreateSecret" for e in mine)
    theirs = b_ct.lookup_events()["Events"]
    assert all(json.loads(e["CloudTrailEvent"])["recipientAccountId"] == "222222222222" for e in theirs)
    assert not any(e["EventName"] == "CreateSecret" for e in theirs)


def test_no_value_reaches_the_trail_or_the_disk(audited):
    server, _ = audited
    sm, ssm, kms = server.client("secretsmanager"), server.client("ssm"), server.client("kms")
    sm.create_secret(Name="hyg", SecretString=SECRET)
    sm.put_secret_value(SecretId="hyg", SecretBinary=SECRET.encode() + b"-bin")
    sm.get_secret_value(SecretId="hyg")
    sm.batch_get_secret_value(SecretIdList=["hyg"])
    ssm.put_parameter(Name="/audit/p", Value=PARAM, Type="SecureString")
    ssm.get_parameter(Name="/audit/p", WithDecryption=True)
    blob = kms.encrypt(KeyId="alias/aws/ssm", Plaintext=SECRET.encode())["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob)
    events = server.client("cloudtrail").lookup_events()["Events"]
    assert len(events) >= 8
    server.stop()
    # The search sees the audit records themselves (stored compressed): their CloudTrail JSON,
    # embedded as it is in each record's line.
    assert b'"eventName":"BatchGetSecretValue"' in stored_bytes(server.data_dir / "coffer.db")
    for value in (SECRET, PARAM):
        for path in files_under(server.data_dir):
            assert value.encode() not in stored_bytes(path), f"{value} in {path.name}"
        assert value not in server.log_text()
        assert all(value not in e["CloudTrailEvent"] for e in events)


def test_verify_detects_alteration_removal_and_reordering(audited, tmp_path):
    server, _ = audited
    sm = server.client("secretsmanager")
    for i in range(4):
        sm.create_secret(Name=f"chain/{i}", SecretString=SECRET)
        sm.get_secret_value(SecretId=f"chain/{i}")
    server.stop()
    ok = _verify(server.data_dir)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "intact" in ok.stdout
    copies = iter(range(100))

    def tamper(change) -> subprocess.CompletedProcess:
        """Apply `change` (SQL, or a function of a connection) to a copy of the data dir (WAL
        included) and verify the copy."""
        copy = tmp_path / f"tampered-{next(copies)}"
        shutil.copytree(server.data_dir, copy)
        with sqlite3.connect(copy / "coffer.db") as conn:
            if callable(change):
                change(conn)
            else:
                conn.executescript(change)
        return _verify(copy)

    # Each append is one row of audit_log: `packed` holds one JSON line per record,
    # zstd-compressed (rows from before compression hold them as text in `records`).
    def holding(seq: int) -> str:
        return f"first_seq <= {seq} AND last_seq >= {seq}"

    def lines_of(conn, row: int) -> str:
        packed = conn.execute("SELECT packed FROM audit_log WHERE last_seq = ?", (row,)).fetchone()[0]
        return zstandard.ZstdDecompressor().decompress(packed).decode()

    def rewrite(conn, row: int, text: str) -> None:
        packed = zstandard.ZstdCompressor(level=1).compress(text.encode())
        conn.execute("UPDATE audit_log SET packed = ? WHERE last_seq = ?", (packed, row))

    def replace_in(seq: int, old: str, new: str):
        def change(conn):
            (row,) = conn.execute(f"SELECT last_seq FROM audit_log WHERE {holding(seq)}").fetchone()
            text = lines_of(conn, row)
            assert old in text, text
            rewrite(conn, row, text.replace(old, new))
        return change

    altered = tamper(replace_in(3, "chain/1", "chain/9"))
    assert altered.returncode != 0 and "record 3" in altered.stdout, altered.stdout
    column = tamper(replace_in(2, '"name":"GetSecretValue"', '"name":"ListSecrets"'))
    assert column.returncode != 0 and "record 2" in column.stdout, column.stdout
    removed = tamper(f"DELETE FROM audit_log WHERE {holding(4)}")
    assert removed.returncode != 0 and "removed" in removed.stdout, removed.stdout

    def as_text(conn):
        """The lines moved back to the `records` text of a row written before compression:
        unchanged, so the trail still verifies."""
        (row,) = conn.execute(f"SELECT last_seq FROM audit_log WHERE {holding(3)}").fetchone()
        text = lines_of(conn, row)
        conn.execute("UPDATE audit_log SET records = ?, packed = NULL WHERE last_seq = ?", (text, row))

    assert tamper(as_text).returncode == 0

    def swap_5_and_6(conn):
        lines = {}
        for (last,) in conn.execute("SELECT last_seq FROM audit_log").fetchall():
            for line in lines_of(conn, last).split("\n"):
                lines[json.loads(line)["seq"]] = (last, line)
        (row5, line5), (row6, line6) = lines[5], lines[6]
        for row, old, new in ((row5, line5, line6), (row6, line6, line5)):
            text = lines_of(conn, row)
            rewrite(conn, row, text.replace(old, "\0").replace(new, old).replace("\0", new) if row5 == row6
                    else text.replace(old, new))
            if row5 == row6:
                break

    swapped = tamper(swap_5_and_6)
    assert swapped.returncode != 0, swapped.stdout
    assert _verify(server.data_dir).returncode == 0


def test_export_writes_cloudtrail_files(audited, tmp_path):
    import gzip

    server, _ = audited
    sm = server.client("secretsmanager")
    for i in range(3):
        sm.create_secret(Name=f"export/{i}", SecretString=SECRET)
    server.stop()
    out = tmp_path / "export"
    proc = subprocess.run(
        [str(coffer_binary()), "audit", "export", "--data-dir", str(server.data_dir), "--out", str(out),
         "--since", "2000-01-01T00:00:00Z"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    files = sorted(out.glob("*.json.gz"))
    assert files, proc.stdout
    records = [r for f in files for r in json.loads(gzip.decompress(f.read_bytes()))["Records"]]
    assert [r["eventName"] for r in records] == ["CreateSecret"] * 3
    assert all(SECRET not in json.dumps(r) for r in records)
    bad = subprocess.run(
        [str(coffer_binary()), "audit", "export", "--data-dir", str(server.data_dir), "--since", "yesterday"],
        capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode != 0 and "RFC 3339" in bad.stderr


def test_alerts_reach_the_webhook_signed(start_server, tmp_path):
    import hashlib
    import hmac
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[tuple[dict, str]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((json.loads(body), self.headers.get("X-Coffer-Signature", ""), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    config = tmp_path / "coffer.toml"
    config.write_text(
        f"""
[audit]
webhook_url = "http://127.0.0.1:{hook.server_port}/alerts"

[[audit.alerts]]
name = "prod-read-from-unknown-network"
event_names = ["GetSecretValue"]
resources = ["prod/"]
allowed_networks = ["10.0.0.0/8"]

[[audit.alerts]]
name = "denied-burst"
error_codes = ["AccessDeniedException"]
burst = {{ count = 3, window_seconds = 60 }}
"""
    )
    server = start_server(extra_args=["--config", str(config)], env={"COFFER_ALERT_WEBHOOK_SECRET": "hook-secret"})
    sm = server.client("secretsmanager")
    sm.create_secret(Name="prod/db", SecretString=SECRET)
    sm.create_secret(Name="dev/db", SecretString=SECRET)
    sm.get_secret_value(SecretId="dev/db")
    sm.get_secret_value(SecretId="prod/db")
    for _ in range(3):
        with pytest.raises(sm.exceptions.ClientError):
            sm.get_secret_value(SecretId="arn:aws:secretsmanager:us-east-1:111111111111:secret:theirs-AbCdEf")
    deadline = time.monotonic() + 10
    while len(received) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    hook.shutdown()
    rules = sorted(a["rule"] for a, _, _ in received)
    assert rules == ["denied-burst", "prod-read-from-unknown-network"], received
    for alert, sig, body in received:
        expected = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(sig, expected)
        assert SECRET not in body.decode()
    read = next(a for a, _, _ in received if a["rule"] == "prod-read-from-unknown-network")
    assert read["event"]["eventName"] == "GetSecretValue" and read["event"]["requestParameters"]["SecretId"] == "prod/db"
    assert next(a for a, _, _ in received if a["rule"] == "denied-burst")["count"] == 3
    assert "audit alert" in server.log_text()
