"""Break-glass access end to end (coffer issue 22), against a spawned server with a webhook.

Two people (a requester with coffer:RequestBreakGlass, an approver with
coffer:ApproveBreakGlass), a time box, an alarm on every step and use, and the secrets read
during the window rotated (or reported for manual rotation) once it ends."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time

import botocore.exceptions
import pytest

from coffer_harness import ACCESS_KEY, ACCOUNT, SECRET_KEY, CofferServer, coffer_binary, error_code
from helpers import unique
from test_access_control import client

ROLE = "breakglass-admin"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
GENERIC = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CofferRandomPasswordRotation"


class Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def rules_seen() -> list[str]:
    return [a["rule"] for a in Hook.received]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    base = tmp_path_factory.mktemp("breakglass")
    config = base / "coffer.toml"
    config.write_text(
        f"""
[audit]
webhook_url = "http://127.0.0.1:{hook.server_address[1]}/alerts"

[breakglass]
min_duration_seconds = 2
request_ttl_seconds = 4
"""
    )
    server = CofferServer(base, extra_args=["--config", str(config)])
    server.start()
    iam = server.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "coffer:break-glass", "Value": "true"}])
    iam.put_role_policy(
        RoleName=ROLE,
        PolicyName="everything",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    iam.create_role(RoleName="ordinary", AssumeRolePolicyDocument=json.dumps(trust))
    people = {"root": {"AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY}}
    # alice may also approve (others' requests): the two-person rule, not a missing
    # permission, is what stops her approving her own.
    for name, action in [("alice", ["coffer:RequestBreakGlass", "coffer:ApproveBreakGlass"]), ("bob", "coffer:ApproveBreakGlass"), ("carol", "coffer:RequestBreakGlass"), ("mallory", None)]:
        iam.create_user(UserName=name)
        if action:
            iam.put_user_policy(
                UserName=name,
                PolicyName="breakglass",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": ROLE_ARN}]}),
            )
        people[name] = iam.create_access_key(UserName=name)["AccessKey"]
    yield {"server": server, "people": people, "hook": hook}
    server.kill()
    hook.shutdown()


def cli(world, who: str, *args: str) -> dict:
    """`coffer breakglass ...` as `who` (the standard credential chain: environment)."""
    key = world["people"][who]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"], AWS_REGION="us-east-1")
    out = subprocess.run(
        [str(coffer_binary()), "breakglass", *args, "--endpoint-url", world["server"].endpoint],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout) if out.stdout.strip().startswith("{") else {"text": out.stdout}


def fails(world, who: str, *args: str) -> str:
    with pytest.raises(RuntimeError) as e:
        cli(world, who, *args)
    return str(e.value)


def sm_of(world, creds: dict):
    return client(world["server"], "secretsmanager", creds)


def test_break_glass_role_cannot_be_assumed(world):
    sts = world["server"].client("sts")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="direct")
    assert error_code(e.value) == "AccessDenied" or error_code(e.value) == "AccessDeniedException"
    # An ordinary role still can; and it is not a break-glass role.
    sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ordinary", RoleSessionName="fine")
    assert "not a break-glass role" in fails(
        world, "root", "request", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/ordinary", "--reason", "x"
    )
    # Permission is per role: alice may request the break-glass role only.
    assert "AccessDenied" in fails(
        world, "alice", "request", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/ordinary", "--reason", "x"
    )


def test_two_people_window_alarm_and_rotation_after(world):
    server = world["server"]
    admin_sm = server.client("secretsmanager")
    rotated = unique("bg-rotated")
    admin_sm.create_secret(Name=rotated, SecretString=json.dumps({"username": "app", "password": "before"}))
    admin_sm.rotate_secret(SecretId=rotated, RotationLambdaARN=GENERIC, RotationRules={"AutomaticallyAfterDays": 30})
    manual = unique("bg-manual")
    admin_sm.create_secret(Name=manual, SecretString="no rotation function")
    before = admin_sm.describe_secret(SecretId=rotated)["VersionIdsToStages"]
    current_before = next(v for v, s in before.items() if "AWSCURRENT" in s)

    # Only permitted principals request; nobody approves their own request; the approver needs
    # coffer:ApproveBreakGlass.
    assert "AccessDenied" in fails(world, "mallory", "request", "--role-arn", ROLE_ARN, "--reason", "x")
    req = cli(world, "alice", "request", "--role-arn", ROLE_ARN, "--reason", "prod database down", "--duration-seconds", "3600")
    rid = req["RequestId"]
    assert req["State"] == "Pending"
    assert "cannot approve it" in fails(world, "alice", "approve", "--request-id", rid)
    assert "AccessDenied" in fails(world, "mallory", "approve", "--request-id", rid)
    assert "InvalidRequestException" in fails(world, "alice", "credentials", "--request-id", rid)
    assert cli(world, "bob", "approve", "--request-id", rid)["State"] == "Active"
    assert "InvalidRequestException" in fails(world, "bob", "approve", "--request-id", rid)
    # The requester only gets the credentials.
    assert "only the requester" in fails(world, "bob", "credentials", "--request-id", rid)
    creds = cli(world, "alice", "credentials", "--request-id", rid)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]

    ident = client(server, "sts", creds).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/breakglass-{rid}"
    sm = sm_of(world, creds)
    assert json.loads(sm.get_secret_value(SecretId=rotated)["SecretString"])["username"] == "app"
    sm.get_secret_value(SecretId=manual)

    # Alarm: request, approval and uses reach the webhook.
    wait_for(lambda: {"break-glass-requested", "break-glass-approved", "break-glass-use"} <= set(rules_seen()), 15, "alerts")

    # Revoke: the credentials stop at once.
    assert cli(world, "alice", "revoke", "--request-id", rid)["State"] == "Revoked"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sm.get_secret_value(SecretId=rotated)
    assert error_code(e.value) in {"ExpiredTokenException", "ExpiredToken"}

    # After the window: the read secret with a rotation function is rotated, the other one is
    # reported for manual rotation (housekeeping runs every 30 s).
    def closed():
        r = cli(world, "bob", "report", "--request-id", rid)
        return r if "ClosedAt" in r else None

    report = wait_for(closed, 75, "the incident to close")
    reads = {r["Arn"].split(":secret:")[1].rsplit("-", 1)[0]: r for r in report["Reads"]}
    assert reads[rotated]["Rotation"] == "rotated" and reads[rotated]["Reads"] == 1
    assert reads[manual]["Rotation"] == "manual"
    assert report["RequestedBy"].endswith(":user/alice") and report["ApprovedBy"].endswith(":user/bob")
    assert report["Reason"] == "prod database down" and report["State"] == "Revoked"
    after = admin_sm.describe_secret(SecretId=rotated)["VersionIdsToStages"]
    assert next(v for v, s in after.items() if "AWSCURRENT" in s) != current_before
    wait_for(lambda: "break-glass-manual-rotation" in rules_seen() and "break-glass-ended" in rules_seen(), 15, "end alerts")
    manual_alert = next(a for a in Hook.received if a["rule"] == "break-glass-manual-rotation")
    assert manual in json.dumps(manual_alert)
    text = cli(world, "bob", "report", "--request-id", rid, "--format", "text")["text"]
    assert rid in text and "rotation manual" in text
    # The audit trail has every use under the incident's session name.
    events = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": f"breakglass-{rid}"}]
    )["Events"]
    assert any(e["EventName"] == "GetSecretValue" for e in events), events
    # ... and each step under the incident's id, without the credentials' secret.
    pages = server.client("cloudtrail").get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": rid}]
    )
    steps = [e for p in pages for e in p["Events"]]
    names = {e["EventName"] for e in steps}
    assert {"RequestBreakGlass", "ApproveBreakGlass", "GetBreakGlassCredentials", "RevokeBreakGlass"} <= names, names
    request_event = json.loads(next(e for e in steps if e["EventName"] == "RequestBreakGlass")["CloudTrailEvent"])
    assert request_event["requestParameters"]["Reason"] == "prod database down"
    assert creds["SecretAccessKey"] not in json.dumps(steps, default=str)
    assert creds["SecretAccessKey"].encode() not in (server.data_dir / "coffer.db").read_bytes()


def test_credentials_end_with_the_window_and_requests_expire(world):
    rid = cli(world, "carol", "request", "--role-arn", ROLE_ARN, "--reason", "short", "--duration-seconds", "2")["RequestId"]
    cli(world, "bob", "approve", "--request-id", rid)
    creds = cli(world, "carol", "credentials", "--request-id", rid)["Credentials"]
    sts = client(world["server"], "sts", creds)
    sts.get_caller_identity()
    time.sleep(2.5)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.get_caller_identity()
    assert error_code(e.value) in {"ExpiredToken", "ExpiredTokenException"}
    assert "InvalidRequestException" in fails(world, "carol", "credentials", "--request-id", rid)
    # A request nobody approves in time expires.
    stale = cli(world, "carol", "request", "--role-arn", ROLE_ARN, "--reason", "late", "--duration-seconds", "60")["RequestId"]
    time.sleep(4.5)
    assert "Expired" in fails(world, "bob", "approve", "--request-id", stale)
    assert "out of range" not in fails(world, "carol", "request", "--role-arn", ROLE_ARN, "--reason", "x", "--duration-seconds", "999999")


def test_drill(world):
    """The quarterly drill runs the whole flow against its own role and secret and passes; it
    can be run again (its fixtures persist), and only the account's root may run it."""
    for _ in range(2):
        out = cli(world, "root", "drill")
        assert out["Passed"] is True, out
        names = [s["Step"] for s in out["Steps"]]
        assert "AssumeRole on the break-glass role is refused" in names
        assert "the requester cannot approve its own request" in names
        assert "the secret read is rotated after the window" in names and len(names) == 10
    assert "AccessDenied" in fails(world, "alice", "drill")
    report = cli(world, "root", "report", "--request-id", out["RequestId"])
    assert report["State"] == "Revoked" and report["Reads"][0]["Rotation"] == "rotated"
