"""``coffer agent``: the AWS Lambda extension / Secrets Manager Agent contract, against a real server."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse

import pytest

from client_harness import TOKEN, Agent, client_env, coffer, json_server, server_request_count
from coffer_harness import make_client, make_session


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = json_server(tmp_path_factory.mktemp("coffer"))
    try:
        yield s
    finally:
        s.kill()


@pytest.fixture(scope="module")
def sm(srv):
    return make_client(make_session(), "secretsmanager", srv.endpoint)


@pytest.fixture(scope="module")
def ssm(srv):
    return make_client(make_session(), "ssm", srv.endpoint)


@pytest.fixture
def start_agent(srv, tmp_path):
    agents = []

    def start(*args, **kw):
        a = Agent(srv, tmp_path / f"agent-{len(agents)}", args=list(args), **kw)
        agents.append(a)
        return a.start()

    yield start
    for a in agents:
        a.stop()


def q(secret_id: str, **params) -> str:
    return "/secretsmanager/get?" + urllib.parse.urlencode({"secretId": secret_id, **params})


def wait_for(predicate, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def test_hits_are_served_from_the_cache_and_refresh_now_bypasses_it(srv, sm, start_agent):
    sm.create_secret(Name="agent/hit", SecretString='{"password":"one"}')
    agent = start_agent()
    before = server_request_count(srv)

    first = agent.get_json(q("agent/hit"))
    assert first["SecretString"] == '{"password":"one"}'
    assert first["Name"] == "agent/hit"
    assert first["VersionStages"] == ["AWSCURRENT"]
    assert {"ARN", "VersionId", "CreatedDate"} <= first.keys()
    assert wait_for(lambda: server_request_count(srv) == before + 1)

    for _ in range(20):
        assert agent.get_json(q("agent/hit")) == first
    time.sleep(0.2)
    assert server_request_count(srv) == before + 1, "hits must not reach the server"
    assert agent.upstream_calls("GetSecretValue") == 1

    # Changed on the server: the agent keeps serving the cached value until asked to refresh.
    sm.put_secret_value(SecretId="agent/hit", SecretString='{"password":"two"}')
    assert agent.get_json(q("agent/hit"))["SecretString"] == '{"password":"one"}'
    fresh = agent.get_json(q("agent/hit", refreshNow="true"))
    assert fresh["SecretString"] == '{"password":"two"}'
    assert fresh["VersionId"] != first["VersionId"]
    # ... and the refreshed value is what later hits get.
    assert agent.get_json(q("agent/hit"))["SecretString"] == '{"password":"two"}'
    assert agent.upstream_calls("GetSecretValue") == 2


def test_expiry_revalidates_with_describe_secret_and_refetches_only_on_change(srv, sm, start_agent):
    sm.create_secret(Name="agent/ttl", SecretString="v1")
    agent = start_agent("--ttl", "1")
    assert agent.get_json(q("agent/ttl"))["SecretString"] == "v1"
    assert agent.upstream_calls("GetSecretValue") == 1

    time.sleep(1.2)
    before = server_request_count(srv)
    revalidated_at = time.monotonic()
    assert agent.get_json(q("agent/ttl"))["SecretString"] == "v1"
    assert agent.upstream_calls("DescribeSecret") == 1
    assert agent.upstream_calls("GetSecretValue") == 1, "an unchanged value must not be fetched again"
    assert wait_for(lambda: server_request_count(srv) == before + 1)

    sm.put_secret_value(SecretId="agent/ttl", SecretString="v2")
    value = agent.get_json(q("agent/ttl"))["SecretString"]
    if time.monotonic() - revalidated_at < 0.9:
        assert value == "v1", "within the renewed TTL the cached value is served"
    time.sleep(1.2)
    assert agent.get_json(q("agent/ttl"))["SecretString"] == "v2"
    assert agent.upstream_calls("DescribeSecret") == 2
    assert agent.upstream_calls("GetSecretValue") == 2


def test_ttl_zero_disables_caching(srv, sm, start_agent):
    sm.create_secret(Name="agent/nocache", SecretString="x")
    agent = start_agent("--ttl", "0")
    for _ in range(3):
        agent.get_json(q("agent/nocache"))
    assert agent.upstream_calls("GetSecretValue") == 3


def test_versions_stages_binary_and_path_style(srv, sm, start_agent):
    v1 = sm.create_secret(Name="agent/versions", SecretString="first")["VersionId"]
    sm.put_secret_value(SecretId="agent/versions", SecretString="second")
    sm.create_secret(Name="agent/binary", SecretBinary=b"\x00\x01\xff")
    agent = start_agent()
    assert agent.get_json(q("agent/versions"))["SecretString"] == "second"
    assert agent.get_json(q("agent/versions", versionStage="AWSPREVIOUS"))["SecretString"] == "first"
    by_id = agent.get_json(q("agent/versions", versionId=v1))
    assert by_id["SecretString"] == "first" and by_id["VersionId"] == v1
    b = agent.get_json(q("agent/binary"))
    assert base64.b64decode(b["SecretBinary"]) == b"\x00\x01\xff"
    # The Secrets Manager Agent's path style: /v1/SECRET_ID.
    assert agent.get_json("/v1/agent%2Fversions?versionStage=AWSPREVIOUS")["SecretString"] == "first"
    arn = by_id["ARN"]
    assert agent.get_json(q(arn))["SecretString"] == "second"


def test_parameters_like_the_lambda_extension(srv, ssm, start_agent):
    ssm.put_parameter(Name="/agent/plain", Value="hello", Type="String")
    ssm.put_parameter(Name="/agent/plain", Value="hello2", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name="/agent/plain", ParameterVersion=1, Labels=["stable"])
    ssm.put_parameter(Name="/agent/secure", Value="s3cret", Type="SecureString")
    agent = start_agent()
    base = "/systemsmanager/parameters/get?"
    p = agent.get_json(base + "name=/agent/plain")["Parameter"]
    assert (p["Value"], p["Version"], p["Type"]) == ("hello2", 2, "String")
    assert agent.get_json(base + "name=/agent/plain&version=1")["Parameter"]["Value"] == "hello"
    assert agent.get_json(base + "name=/agent/plain&label=stable")["Parameter"]["Value"] == "hello"
    assert agent.get_json(base + "name=/agent/secure&withDecryption=true")["Parameter"]["Value"] == "s3cret"
    enc = agent.get_json(base + "name=/agent/secure")["Parameter"]["Value"]
    assert enc != "s3cret", "without withDecryption the value stays encrypted"

    # Cached until refreshNow.
    ssm.put_parameter(Name="/agent/plain", Value="hello3", Type="String", Overwrite=True)
    assert agent.get_json(base + "name=/agent/plain")["Parameter"]["Value"] == "hello2"
    assert agent.get_json(base + "name=/agent/plain&refreshNow=true")["Parameter"]["Value"] == "hello3"

    status, body, _ = agent.get(base + "name=/agent/plain&version=1&label=stable")
    assert status == 400 and b"not both" in body
    status, body, _ = agent.get(base + "name=/agent/missing")
    assert status == 400
    assert json.loads(body)["__type"] == "ParameterNotFound"


def test_token_forwarding_and_method_checks(srv, sm, start_agent):
    sm.create_secret(Name="agent/guarded", SecretString="g")
    agent = start_agent()
    path = q("agent/guarded")

    status, body, _ = agent.get(path, token=None)
    assert status == 403 and b"X-Aws-Parameters-Secrets-Token" in body
    status, _, _ = agent.get(path, token="wrong")
    assert status == 403
    status, _, _ = agent.get(path, token=TOKEN[:-1])
    assert status == 403
    status, body, _ = agent.get(path, headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 400 and b"X-Forwarded-For" in body
    for method in ("POST", "PUT", "DELETE"):
        status, _, _ = agent.get(path, method=method)
        assert status == 405, method
    status, _, _ = agent.get(path, token=None, headers={"X-Vault-Token": TOKEN})
    assert status == 200
    status, body, _ = agent.get("/ping", token=None)
    assert (status, body) == (200, b"healthy")
    status, _, _ = agent.get("/nothing/here")
    assert status == 404
    status, body, _ = agent.get("/secretsmanager/get?secretID=agent/guarded")
    assert status == 400 and b"unknown query parameter" in body
    status, _, _ = agent.get(q("agent/guarded", refreshNow="yes"))
    assert status == 400
    # None of the refused requests reached the server.
    assert agent.upstream_calls() == 1


def test_server_errors_pass_through_with_status_and_aws_shape(srv, sm, start_agent):
    agent = start_agent()
    status, body, headers = agent.get(q("agent/does-not-exist"))
    assert status == 400
    err = json.loads(body)
    assert err["__type"] == "ResourceNotFoundException"
    # Secrets Manager's error shapes name the member `Message`; the agent passes the body on.
    assert "can't find" in err["Message"]
    assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/json"

    # A cached secret that is deleted stops being served once it expires.
    sm.create_secret(Name="agent/deleted", SecretString="d")
    agent2 = start_agent("--ttl", "1")
    assert agent2.get_json(q("agent/deleted"))["SecretString"] == "d"
    sm.delete_secret(SecretId="agent/deleted", ForceDeleteWithoutRecovery=True)
    time.sleep(1.2)
    status, body, _ = agent2.get(q("agent/deleted"))
    assert status == 400 and json.loads(body)["__type"] == "ResourceNotFoundException"


def test_token_file_and_aws_agent_config_file(srv, sm, tmp_path):
    sm.create_secret(Name="agent/config", SecretString="c")
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    config = tmp_path / "agent.toml"
    config.write_text(
        'log_level = "DEBUG"\nttl_seconds = 60\ncache_size = 5\nssrf_headers = ["X-My-Token"]\n'
        'ssrf_env_variables = ["MY_TOKEN"]\nmax_conn = 10\n'
    )
    agent = Agent(srv, tmp_path / "a", args=["--config", str(config)], token=None,
                  env={"MY_TOKEN": f"file://{token_file}"})
    agent.start()
    try:
        status, _, _ = agent.get(q("agent/config"), token=None, headers={"X-My-Token": "file-token"})
        assert status == 200
        status, _, _ = agent.get(q("agent/config"), token="file-token")
        assert status == 403, "only the configured header carries the token"
    finally:
        agent.stop()


def test_refuses_to_start_unsafely(srv, tmp_path):
    env = client_env(srv, tmp_path / "home", AWS_TOKEN="t")
    r = coffer(["agent", "--listen", "0.0.0.0:0"], env, timeout=20)
    assert r.returncode != 0
    assert b"loopback" in r.stderr and b"--allow-non-loopback" in r.stderr

    env = client_env(srv, tmp_path / "home")
    r = coffer(["agent", "--listen", "127.0.0.1:0"], env, timeout=20)
    assert r.returncode != 0 and b"no SSRF token" in r.stderr

    env = client_env(srv, tmp_path / "home", AWS_TOKEN="t", AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    r = coffer(["agent", "--listen", "127.0.0.1:0"], env, timeout=20)
    assert r.returncode != 0 and b"no AWS credentials" in r.stderr

    bad = tmp_path / "bad.toml"
    bad.write_text("ttl = 5\n")
    env = client_env(srv, tmp_path / "home", AWS_TOKEN="t")
    r = coffer(["agent", "--config", str(bad)], env, timeout=20)
    assert r.returncode != 0 and b"unknown field" in r.stderr


def test_concurrent_misses_make_one_upstream_call(srv, sm, start_agent):
    import concurrent.futures

    sm.create_secret(Name="agent/burst", SecretString="b")
    agent = start_agent()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: agent.get(q("agent/burst"))[0], range(32)))
    assert results == [200] * 32
    assert agent.upstream_calls("GetSecretValue") == 1
