"""`coffer admin create-account` / `list-accounts` (issue 15: account administration is a service
operation like the others, and `coffer admin` uses coffer-client): who may call them, what they
print, and that neither request nor answer reaches the audit trail."""

from __future__ import annotations

import json
import os
import subprocess

from coffer_harness import ACCESS_KEY, SECRET_KEY, CofferServer, coffer_binary

NEW = "222222222222"


def admin(server: CofferServer, *args: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key)
    env.update(env_extra or {})
    return subprocess.run(
        [str(coffer_binary()), "admin", *args, "--endpoint-url", server.endpoint],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_accounts_are_administered_by_the_default_root_only(server: CofferServer):
    out = admin(server, "create-account", "--account-id", NEW)
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert set(created) == {"AccountId", "AccessKeyId", "SecretAccessKey"}
    assert created["AccountId"] == NEW

    again = admin(server, "create-account", "--account-id", NEW)
    assert again.returncode != 0
    assert "An error occurred (EntityAlreadyExistsException) when calling the CreateAccount operation: " in again.stderr

    bad = admin(server, "create-account", "--account-id", "12")
    assert bad.returncode != 0
    assert "(ValidationException)" in bad.stderr and "use 12 digits" in bad.stderr, bad.stderr

    # The new account's root administers its own account, not accounts.
    other = admin(server, "list-accounts", access_key=created["AccessKeyId"], secret_key=created["SecretAccessKey"])
    assert other.returncode != 0
    assert "(AccessDeniedException)" in other.stderr and "only the root of account 000000000000" in other.stderr

    listed = json.loads(admin(server, "list-accounts").stdout)["Accounts"]
    assert [a["AccountId"] for a in listed] == ["000000000000", NEW]
    assert all(isinstance(a["CreatedAt"], int) for a in listed)

    # Region from the environment instead of the default us-east-1, as the aws CLI takes it.
    assert admin(server, "list-accounts", env_extra={"AWS_REGION": "eu-west-1"}).returncode == 0

    # Recorded, as IAM events, without their documents: the secret key never reaches the trail.
    events = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateAccount"}]
    )["Events"]
    assert len(events) == 3, events
    for e in events:
        record = json.loads(e["CloudTrailEvent"])
        assert record["eventSource"] == "iam.amazonaws.com"
        assert record.get("requestParameters") is None and record.get("responseElements") is None, record
        assert created["SecretAccessKey"] not in e["CloudTrailEvent"]
