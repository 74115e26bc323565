"""TLS on the listener (coffer issue 17): --tls-self-signed with AWS_CA_BUNDLE, --tls-cert and
--tls-key with an openssl-made chain and SIGHUP reload, the refusal of plain HTTP on a network
address, and aws:SecureTransport in policies. Against spawned servers, with boto3, the aws
CLI and openssl."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time
import urllib.request

import boto3
import botocore.config
import botocore.exceptions
import pytest

from coffer_harness import ACCESS_KEY, SECRET_KEY, CofferServer, _clean_env, coffer_binary, free_port
from helpers import unique


class TlsServer(CofferServer):
    """A CofferServer whose endpoint is https."""

    @property
    def endpoint(self) -> str:
        return f"https://localhost:{self.port}"

    def _wait_healthy(self):
        deadline = time.time() + 30
        ctx = ssl.create_default_context(cafile=str(self.ca)) if getattr(self, "ca", None) else ssl._create_unverified_context()
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False, self.log_text()
            try:
                urllib.request.urlopen(f"https://localhost:{self.port}/health", context=ctx, timeout=1)
                return True, ""
            except Exception as e:  # noqa: BLE001 (anything means: not yet)
                last = str(e)
                time.sleep(0.2)
        return False, last


def boto(server, service, verify):
    session = boto3.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
    return session.client(
        service,
        endpoint_url=server.endpoint,
        verify=verify,
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    base = tmp_path_factory.mktemp("tls")
    s = TlsServer(base, extra_args=["--tls-self-signed"])
    s.ca = None
    s.start()
    s.ca = s.data_dir / "tls" / "ca.pem"
    yield s
    s.kill()


def test_self_signed_ca_and_keys_on_disk(self_signed):
    tls = self_signed.data_dir / "tls"
    assert (tls / "ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    for key in ("ca.key", "server.key"):
        assert stat.S_IMODE((tls / key).stat().st_mode) == 0o600
    assert "AWS_CA_BUNDLE=" in self_signed.log_text() and str(tls / "ca.pem") in self_signed.log_text()
    # openssl sees TLS 1.3 and a chain to coffer's CA, for localhost and 127.0.0.1.
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{self_signed.port}", "-CAfile", str(tls / "ca.pem"),
         "-verify_return_error", "-verify_ip", "127.0.0.1", "-brief"],
        input=b"", capture_output=True, timeout=20,
    )
    text = (out.stdout + out.stderr).decode()
    assert out.returncode == 0, text
    assert "TLSv1.3" in text
    # TLS 1.2 too.
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{self_signed.port}", "-CAfile", str(tls / "ca.pem"), "-tls1_2", "-brief"],
        input=b"", capture_output=True, timeout=20,
    )
    assert out.returncode == 0 and "TLSv1.2" in (out.stdout + out.stderr).decode()


def test_boto3_trusts_the_ca_bundle_only(self_signed):
    sm = boto(self_signed, "secretsmanager", str(self_signed.ca))
    name = unique("tls")
    sm.create_secret(Name=name, SecretString="over tls")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "over tls"
    with pytest.raises(botocore.exceptions.SSLError):
        boto(self_signed, "secretsmanager", True).list_secrets()


def test_aws_cli_with_and_without_aws_ca_bundle(self_signed, tmp_path):
    env = _clean_env()
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION="us-east-1", HOME=str(tmp_path))
    cmd = ["aws", "--endpoint-url", self_signed.endpoint, "sts", "get-caller-identity"]
    ok = subprocess.run(cmd, env=dict(env, AWS_CA_BUNDLE=str(self_signed.ca)), capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["Account"] == "000000000000"
    bad = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "SSL" in bad.stderr.upper(), bad.stderr


def test_plain_http_to_the_tls_port_fails(self_signed):
    with pytest.raises(Exception):
        urllib.request.urlopen(f"http://127.0.0.1:{self_signed.port}/health", timeout=5).read()
    # The server is still fine.
    boto(self_signed, "sts", str(self_signed.ca)).get_caller_identity()


def run_briefly(args, tmp_path) -> subprocess.CompletedProcess:
    env = _clean_env()
    env.update(COFFER_ROOT_ACCESS_KEY_ID=ACCESS_KEY, COFFER_ROOT_SECRET_ACCESS_KEY=SECRET_KEY)
    return subprocess.run(
        [str(coffer_binary()), "server", "--data-dir", str(tmp_path / "d"), *args],
        env=env, capture_output=True, text=True, timeout=10,
    )


def test_network_address_without_tls_is_refused(tmp_path):
    port = free_port()
    out = run_briefly(["--listen", f"0.0.0.0:{port}"], tmp_path)
    assert out.returncode != 0
    assert "--tls-cert" in out.stderr and "--tls-self-signed" in out.stderr and "--insecure-http" in out.stderr
    # With --insecure-http it serves (plain HTTP, said in the log).
    s = CofferServer(tmp_path / "insecure", extra_args=["--insecure-http"])
    s.start()
    s.kill()
    proc = subprocess.Popen(
        [str(coffer_binary()), "server", "--data-dir", str(tmp_path / "i2"), "--listen", f"0.0.0.0:{port}", "--insecure-http"],
        env=dict(_clean_env(), COFFER_ROOT_ACCESS_KEY_ID=ACCESS_KEY, COFFER_ROOT_SECRET_ACCESS_KEY=SECRET_KEY),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).status == 200
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("--insecure-http server did not come up")
    finally:
        proc.kill()
        proc.wait()


def openssl_chain(d, cn: str):
    """A root CA, an intermediate, and a leaf for localhost signed by the intermediate:
    (ca.pem, chain.pem = leaf + intermediate, leaf.key)."""
    def sh(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)
    ext = d / "ext.cnf"
    ext.write_text("[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                   "[leaf]\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    sh("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=test root", "-extensions", "v3_ca", "-config", "/etc/ssl/openssl.cnf")
    sh("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=test intermediate")
    sh("x509", "-req", "-in", "int.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "int.pem", "-days", "30", "-extfile", str(ext), "-extensions", "v3_ca")
    sh("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", f"/CN={cn}")
    sh("x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "30", "-extfile", str(ext), "-extensions", "leaf")
    (d / "chain.pem").write_text((d / "leaf.pem").read_text() + (d / "int.pem").read_text())
    return d / "ca.pem", d / "chain.pem", d / "leaf.key"


def peer_cn(port: int, ca) -> str:
    ctx = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        subject = dict(x[0] for x in tls.getpeercert()["subject"])
        return subject["commonName"]


def test_own_chain_and_sighup_reload(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    ca1, chain1, key1 = openssl_chain(one, "first")
    ca2, chain2, key2 = openssl_chain(two, "second")
    live_cert, live_key = tmp_path / "server.pem", tmp_path / "server.key"
    shutil.copy(chain1, live_cert), shutil.copy(key1, live_key)
    s = TlsServer(tmp_path / "srv", extra_args=["--tls-cert", str(live_cert), "--tls-key", str(live_key)])
    s.ca = ca1
    s.start()
    try:
        # A keep-alive connection opened before the reload.
        sts = boto(s, "sts", str(ca1))
        sts.get_caller_identity()
        assert peer_cn(s.port, ca1) == "first"
        # A broken pair is refused and the old certificate kept.
        live_cert.write_text("not a certificate")
        s.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert peer_cn(s.port, ca1) == "first"
        assert "not reloaded" in s.log_text()
        shutil.copy(chain2, live_cert), shutil.copy(key2, live_key)
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if peer_cn(s.port, ca2) == "second":
                    break
            except ssl.SSLError:
                time.sleep(0.2)
        else:
            raise AssertionError("the new certificate was not served")
        # The connection from before still works (same pooled client).
        sts.get_caller_identity()
    finally:
        s.kill()


def test_secure_transport_condition(tmp_path):
    """A resource policy denying aws:SecureTransport=false refuses plain HTTP and allows TLS: the
    same data directory served first with TLS, then without."""
    base = tmp_path / "st"
    tls = TlsServer(base, extra_args=["--tls-self-signed"])
    tls.ca = None
    tls.start()
    ca = tls.data_dir / "tls" / "ca.pem"
    name = unique("st")
    sm = boto(tls, "secretsmanager", str(ca))
    arn = sm.create_secret(Name=name, SecretString="only over tls")["ARN"]
    sm.put_resource_policy(
        SecretId=name,
        ResourcePolicy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
        }),
    )
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "only over tls"
    tls.stop()
    plain = CofferServer(base)
    plain.start()
    try:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            plain.client("secretsmanager").get_secret_value(SecretId=arn)
        assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    finally:
        plain.kill()


def test_coffer_clients_trust_aws_ca_bundle(self_signed):
    env = _clean_env()
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_REGION="us-east-1")
    cmd = [str(coffer_binary()), "admin", "list-accounts", "--endpoint-url", self_signed.endpoint]
    ok = subprocess.run(cmd, env=dict(env, AWS_CA_BUNDLE=str(self_signed.ca)), capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert "000000000000" in ok.stdout
    bad = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0


def _health(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(coffer_binary()), "health", *args], env=env or _clean_env(), capture_output=True, text=True, timeout=30)


def test_health_subcommand_over_tls(self_signed, tmp_path):
    """`coffer health` (the image's HEALTHCHECK): 0 when /health answers 200 over a verified https
    connection — the data directory's self-signed CA, --ca-bundle or AWS_CA_BUNDLE — else 1."""
    url = f"https://127.0.0.1:{self_signed.port}/health"
    ok = _health("--url", url, "--data-dir", str(self_signed.data_dir))
    assert ok.returncode == 0, ok.stderr
    assert "healthy" in ok.stdout
    assert _health("--url", url, "--ca-bundle", str(self_signed.ca)).returncode == 0
    assert _health("--url", url, env=dict(_clean_env(), AWS_CA_BUNDLE=str(self_signed.ca))).returncode == 0
    # COFFER_DATA_DIR, as the server reads it.
    assert _health("--url", url, env=dict(_clean_env(), COFFER_DATA_DIR=str(self_signed.data_dir))).returncode == 0
    # No CA that signed the certificate: the certificate is not trusted.
    empty = tmp_path / "empty-data"
    empty.mkdir()
    bad = _health("--url", url, "--data-dir", str(empty))
    assert bad.returncode == 1 and url in bad.stderr
    # Plain http to the TLS port does not answer 200.
    assert _health("--url", f"http://127.0.0.1:{self_signed.port}/health").returncode == 1


def test_health_subcommand_over_plain_http(fresh_server):
    url = f"http://127.0.0.1:{fresh_server.port}/health"
    ok = _health("--url", url)
    assert ok.returncode == 0, ok.stderr
    # Not 200 (an unknown path), nobody listening, not a URL: 1, 1, and a usage failure.
    assert _health("--url", f"http://127.0.0.1:{fresh_server.port}/no-such-page").returncode == 1
    fresh_server.kill()
    down = _health("--url", url, "--timeout", "2")
    assert down.returncode == 1 and url in down.stderr
    assert _health("--url", "ftp://127.0.0.1/health").returncode != 0


def test_coffer_resolve_over_tls_with_aws_ca_bundle(self_signed, tmp_path):
    """`coffer resolve` against a TLS server: it trusts the self-signed CA only through
    AWS_CA_BUNDLE, and then resolves secret and parameter references over https."""
    from client_harness import client_env, coffer

    name = unique("tls/resolve")
    boto(self_signed, "secretsmanager", str(self_signed.ca)).create_secret(Name=name, SecretString=json.dumps({"password": "over-tls-4e2b"}))
    boto(self_signed, "ssm", str(self_signed.ca)).put_parameter(Name=f"/{name}", Value="param-over-tls", Type="String")
    template = f"pw={{{{resolve:secretsmanager:{name}:SecretString:password}}}} p={{{{resolve:ssm:/{name}}}}}\n".encode()
    ok = coffer(["resolve"], client_env(self_signed, tmp_path / "h", AWS_CA_BUNDLE=str(self_signed.ca)), input=template)
    assert ok.returncode == 0, ok.stderr.decode()
    assert ok.stdout == b"pw=over-tls-4e2b p=param-over-tls\n"
    # Without the CA bundle the server's certificate is not trusted, and nothing is resolved.
    bad = coffer(["resolve"], client_env(self_signed, tmp_path / "h2"), input=template)
    assert bad.returncode != 0 and b"over-tls-4e2b" not in bad.stdout
