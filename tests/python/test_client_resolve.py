"""``coffer resolve``: CloudFormation ``{{resolve:...}}`` references, every form, against a real server."""

from __future__ import annotations

import stat

import pytest

from client_harness import client_env, coffer


@pytest.fixture(scope="module")
def seeded(sm, ssm):
    ssm.put_parameter(Name="/prod/payments-api/database-url", Value="postgres://v1", Type="String")
    ssm.put_parameter(Name="/prod/payments-api/database-url", Value="postgres://v2", Type="String", Overwrite=True)
    ssm.put_parameter(Name="/prod/payments-api/db-password", Value="pw-v1", Type="SecureString")
    ssm.put_parameter(Name="/prod/payments-api/db-password", Value="pw-v2", Type="SecureString", Overwrite=True)
    ssm.put_parameter(Name="hosts", Value="a,b,c", Type="StringList")
    first = sm.create_secret(Name="prod/payments-api/database",
                             SecretString='{"username":"payments","password":"old","port":5432}')
    second = sm.put_secret_value(SecretId="prod/payments-api/database",
                                 SecretString='{"username":"payments","password":"new","port":5432}')
    return {"v1": first["VersionId"], "v2": second["VersionId"], "arn": first["ARN"]}


def resolve(server, tmp_path, template: str, *args: str):
    return coffer(["resolve", *args], client_env(server, tmp_path / "h"), input=template.encode())


def test_every_reference_form(server, tmp_path, seeded):
    v1, arn = seeded["v1"], seeded["arn"]
    cases = {
        "{{resolve:ssm:/prod/payments-api/database-url}}": "postgres://v2",
        "{{resolve:ssm:/prod/payments-api/database-url:1}}": "postgres://v1",
        "{{resolve:ssm:hosts}}": "a,b,c",
        "{{resolve:ssm-secure:/prod/payments-api/db-password}}": "pw-v2",
        "{{resolve:ssm-secure:/prod/payments-api/db-password:1}}": "pw-v1",
        "{{resolve:secretsmanager:prod/payments-api/database}}":
            '{"username":"payments","password":"new","port":5432}',
        "{{resolve:secretsmanager:prod/payments-api/database:SecretString}}":
            '{"username":"payments","password":"new","port":5432}',
        "{{resolve:secretsmanager:prod/payments-api/database:SecretString:password}}": "new",
        "{{resolve:secretsmanager:prod/payments-api/database:SecretString:port}}": "5432",
        "{{resolve:secretsmanager:prod/payments-api/database:SecretString:password:AWSPREVIOUS}}": "old",
        "{{resolve:secretsmanager:prod/payments-api/database:SecretString:password:AWSCURRENT}}": "new",
        f"{{{{resolve:secretsmanager:prod/payments-api/database:SecretString:password::{v1}}}}}": "old",
        "{{resolve:secretsmanager:prod/payments-api/database:SecretString::AWSPREVIOUS}}":
            '{"username":"payments","password":"old","port":5432}',
        "{{resolve:secretsmanager:prod/payments-api/database::username}}": "payments",
        f"{{{{resolve:secretsmanager:{arn}:SecretString:password}}}}": "new",
        f"{{{{resolve:secretsmanager:{arn}}}}}": '{"username":"payments","password":"new","port":5432}',
    }
    lines = [f"case{i}: <{ref}>" for i, ref in enumerate(cases)]
    template = "# not a reference: {{ leave.me }}\n" + "\n".join(lines) + "\n"
    r = resolve(server, tmp_path, template)
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode().splitlines()
    assert out[0] == "# not a reference: {{ leave.me }}"
    for i, expected in enumerate(cases.values()):
        assert out[i + 1] == f"case{i}: <{expected}>", (list(cases)[i], out[i + 1])


def test_file_input_and_atomic_output(server, tmp_path, seeded):
    template = tmp_path / "app.env"
    template.write_text("DB_PASSWORD={{resolve:secretsmanager:prod/payments-api/database:SecretString:password}}\n")
    out = tmp_path / "rendered" / "app.env"
    r = coffer(["resolve", str(template), "--output", str(out)], client_env(server, tmp_path / "h"))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b""
    assert out.read_text() == "DB_PASSWORD=new\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_missing_reference_fails_loudly_and_writes_nothing(server, tmp_path, seeded):
    template = (
        "ok={{resolve:ssm:hosts}}\n"
        "bad={{resolve:secretsmanager:prod/does-not-exist:SecretString:password}}\n"
        "bad2={{resolve:ssm:/no/such/param}}\n"
        "badkey={{resolve:secretsmanager:prod/payments-api/database:SecretString:nokey}}\n"
    )
    out = tmp_path / "out.txt"
    r = resolve(server, tmp_path, template, "--output", str(out))
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "{{resolve:secretsmanager:prod/does-not-exist:SecretString:password}}" in err
    assert "ResourceNotFoundException" in err
    assert "{{resolve:ssm:/no/such/param}}" in err and "ParameterNotFound" in err
    assert 'no key "nokey"' in err
    assert "line 2" in err and "line 3" in err and "line 4" in err
    assert "{{resolve:ssm:hosts}}" not in err
    assert not out.exists()
    # To standard output: nothing either.
    r = resolve(server, tmp_path, template)
    assert r.returncode != 0 and r.stdout == b""


def test_ssm_on_a_secure_string_points_to_ssm_secure(server, tmp_path, seeded):
    r = resolve(server, tmp_path, "{{resolve:ssm:/prod/payments-api/db-password}}")
    assert r.returncode != 0
    assert b"ssm-secure" in r.stderr
    assert b"pw-v" not in r.stderr + r.stdout


def test_malformed_references_fail_without_calling_anything(tmp_path):
    env = client_env(None, tmp_path / "h", AWS_ENDPOINT_URL="http://127.0.0.1:9")
    for template, needle in [
        ("x={{resolve:vault:secret}}", b"unknown service"),
        ("x={{resolve:ssm:name:notanumber}}", b"not a parameter version"),
        ("x={{resolve:secretsmanager:id:SecretString:k:AWSCURRENT:some-id}}", b"not both"),
        ("x=\n{{resolve:ssm:unclosed", b"line 2"),
    ]:
        r = coffer(["resolve"], env, input=template.encode())
        assert r.returncode != 0 and needle in r.stderr, (template, r.stderr)
