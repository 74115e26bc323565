"""`coffer advise` (coffer issue 23) on a seeded inventory with known answers: which secrets need
Secrets Manager and which would do as Standard parameters, the monthly AWS cost of the inventory
at the seeds' prices, and the pitfalls planted in it.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from coffer_harness import ACCESS_KEY, ACCOUNT, SECRET_KEY, _clean_env, coffer_binary

GENERIC = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CofferRandomPasswordRotation"
FOREIGN = "arn:aws:iam::111122223333:root"


def _advise(server, *args: str) -> subprocess.CompletedProcess:
    env = _clean_env()
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_REGION="us-east-1")
    return subprocess.run(
        [str(coffer_binary()), "advise", "--endpoint-url", server.endpoint, *args],
        env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def inventory(server):
    sm, ssm, kms = server.client("secretsmanager"), server.client("ssm"), server.client("kms")
    sm.create_secret(Name="adv/rotated", SecretString=json.dumps({"username": "u", "password": "p"}))
    sm.rotate_secret(SecretId="adv/rotated", RotationLambdaARN=GENERIC, RotationRules={"AutomaticallyAfterDays": 30})
    sm.create_secret(Name="adv/replicated", SecretString="r", AddReplicaRegions=[{"Region": "us-west-2"}])
    sm.create_secret(Name="adv/shared", SecretString="s")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    sm.put_resource_policy(SecretId="adv/shared", ResourcePolicy=json.dumps(policy))
    sm.create_secret(Name="adv/plain", SecretString="plain")
    for _ in range(30):
        sm.get_secret_value(SecretId="adv/plain")
    ssm.put_parameter(Name="/adv/db-password", Value="hunter2", Type="String")
    ssm.put_parameter(Name="/adv/flags", Value="{}", Type="String")
    ssm.put_parameter(Name="/adv/big", Value="x", Type="String", Tier="Advanced")
    kms.create_key(Description="customer key")
    return server


def test_recommendations_costs_and_pitfalls(inventory):
    out = _advise(inventory, "--output", "json", "--window-days", "1", "--hot-reads-per-day", "20", "--idle-days", "0")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    secrets = {s["name"]: s for s in report["secrets"]}
    assert set(secrets) == {"adv/rotated", "adv/replicated", "adv/shared", "adv/plain"}
    assert secrets["adv/rotated"]["recommendation"] == "secrets-manager"
    assert any("rotation" in r for r in secrets["adv/rotated"]["reasons"])
    assert secrets["adv/replicated"]["recommendation"] == "secrets-manager" and secrets["adv/replicated"]["replicas"] == 1
    assert secrets["adv/shared"]["recommendation"] == "secrets-manager"
    assert any("111122223333" in r for r in secrets["adv/shared"]["reasons"])
    assert secrets["adv/plain"]["recommendation"] == "parameter-store-standard"
    # $0.40 per secret and per replica per month, plus the calls.
    assert secrets["adv/replicated"]["monthly_cost_usd"] >= 0.80
    params = {p["name"]: p for p in report["parameters"]}
    assert set(params) == {"/adv/db-password", "/adv/flags", "/adv/big"}
    assert params["/adv/db-password"]["recommendation"] == "use-securestring"
    assert params["/adv/flags"]["recommendation"] == "keep"
    assert params["/adv/big"]["monthly_cost_usd"] == 0.05
    costs = report["costs"]
    assert costs["secrets_usd"] == 1.60 and costs["replicas_usd"] == 0.40
    assert costs["advanced_parameters_usd"] == 0.05 and costs["kms_keys_usd"] == 1.00
    # Calls observed over the one-day window, scaled to 30 days at $0.05 per 10,000.
    assert costs["secrets_manager_calls_usd"] > 0
    total = report["estimated_monthly_aws_cost_usd"]
    assert isinstance(total, (int, float))
    parts = sum(costs[k] for k in ("secrets_usd", "replicas_usd", "secrets_manager_calls_usd", "advanced_parameters_usd", "kms_keys_usd", "kms_calls_usd"))
    assert abs(total - parts) < 0.02
    pitfalls = {(p["kind"], p["resource"]) for p in report["pitfalls"]}
    assert ("cross-account-with-aws-managed-key", "adv/shared") in pitfalls
    assert ("plaintext-parameter", "/adv/db-password") in pitfalls
    assert ("hot-reads", "adv/plain") in pitfalls
    assert ("never-read", "adv/shared") in pitfalls and ("never-read", "adv/plain") not in pitfalls
    assert not any(k == "plaintext-parameter" and r == "/adv/flags" for k, r in pitfalls)
    assert report["events_read"] > 30


def test_text_and_markdown(inventory):
    text = _advise(inventory, "--window-days", "1")
    assert text.returncode == 0, text.stderr
    assert "adv/plain: parameter-store-standard" in text.stdout and "Estimated monthly cost on AWS" in text.stdout
    md = _advise(inventory, "--output", "markdown", "--window-days", "1")
    assert md.returncode == 0 and md.stdout.startswith("# coffer advise") and "## Pitfalls" in md.stdout
    bad = _advise(inventory, "--output", "yaml")
    assert bad.returncode != 0 and "use text, json or markdown" in bad.stderr
    # Values never appear in the report.
    for v in ("hunter2", "plain\n"):
        assert v not in text.stdout
