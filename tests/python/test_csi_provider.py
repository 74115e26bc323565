"""`coffer csi-provider` (coffer issue 21), called over its unix socket by a gRPC client speaking
the Secrets Store CSI Driver's provider API (the repo's proto, compiled here with grpcio-tools),
as the driver calls it: Version, then Mount with the seed's SecretProviderClass parameters and a
pod's service-account token from a test OIDC issuer, exchanged by the provider through coffer's
STS for the pod's role (IRSA).
"""

from __future__ import annotations

import importlib
import json
import shutil
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc
import pytest
from grpc_tools import protoc

from coffer_harness import REPO_ROOT, _clean_env, coffer_binary, files_under, stored_bytes
from test_access_control import A, ISSUER, ISSUER_HOST, KeyPair
from test_outbound_tls import _private_ca

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI makes the test OIDC key pair")

PROTO_DIR = REPO_ROOT / "crates" / "coffer-csi" / "proto"
NAMESPACE = "payments"
SEED_OBJECTS = """- objectName: "prod/payments-api/database"
  objectType: "secretsmanager"
  jmesPath:
    - path: username
      objectAlias: db-username
    - path: password
      objectAlias: db-password
- objectName: "/prod/payments-api/feature-flags"
  objectType: "ssmparameter"
  objectAlias: feature-flags
"""
PASSWORDS = ["csi-initial-password-5e1f", "csi-rotated-password-77ab"]


def _stubs(tmp: Path):
    out = tmp / "stubs"
    if not out.exists():
        out.mkdir()
        rc = protoc.main(["protoc", f"-I{PROTO_DIR}", f"--python_out={out}", f"--grpc_python_out={out}", str(PROTO_DIR / "service.proto")])
        assert rc == 0, "protoc failed on the provider proto"
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module("service_pb2"), importlib.import_module("service_pb2_grpc")
    finally:
        sys.path.remove(str(out))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A coffer server with an OIDC issuer, a role for the payments/api service account that may
    read the seed's objects, the seed's secret and parameter, and a provider on a socket."""
    from coffer_harness import CofferServer

    tmp = tmp_path_factory.mktemp("csi")
    key = KeyPair(tmp, "k1")
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.jwk]}))
    server = CofferServer(tmp / "server", env={"COFFER_OIDC_JWKS": f"{ISSUER}={jwks}"}).start()
    iam, sm, ssm = server.client("iam"), server.client("secretsmanager"), server.client("ssm")
    provider = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["sts.amazonaws.com", "pods.eks.amazonaws.com"], ThumbprintList=["a" * 40])[
        "OpenIDConnectProviderArn"
    ]

    def role(name: str, sa: str, allow: list[str]) -> str:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{ISSUER_HOST}:sub": f"system:serviceaccount:{NAMESPACE}:{sa}"}},
                }
            ],
        }
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": allow, "Resource": "*"}] if allow else []}
        if allow:
            iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(policy))
        return f"arn:aws:iam::{A}:role/{name}"

    api_role = role("PaymentsApi", "api", ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "ssm:GetParameter"])
    other_role = role("PaymentsWorker", "worker", [])
    roles = tmp / "sa-roles.json"
    roles.write_text(json.dumps({f"{NAMESPACE}/api": api_role, f"{NAMESPACE}/worker": other_role}))
    sm.create_secret(
        Name="prod/payments-api/database",
        SecretString=json.dumps({"username": "payments", "password": PASSWORDS[0], "port": 5432}),
    )
    ssm.put_parameter(Name="/prod/payments-api/feature-flags", Value='{"new-checkout":true}', Type="String")

    proc, log, channel, stub = _start_provider(tmp, server, ["--service-account-roles", str(roles)])
    pb2, _ = _stubs(tmp)
    yield {"server": server, "stub": stub, "pb2": pb2, "key": key, "tmp": tmp, "sm": sm, "role": role}
    _stop_provider(proc, log, channel)
    server.kill()


def _start_provider(tmp: Path, server, args: list[str], env: dict[str, str] | None = None, name: str = "provider"):
    """`coffer csi-provider` on a socket under `tmp`: (process, log file, channel, stub)."""
    socket = tmp / f"{name}s" / "aws.sock"
    log = open(tmp / f"{name}.log", "wb")
    penv = _clean_env()
    penv["COFFER_LOG"] = "debug"
    penv.update(env or {})
    proc = subprocess.Popen(
        [str(coffer_binary()), "csi-provider", "--socket", str(socket), "--endpoint-url", server.endpoint, *args],
        env=penv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not socket.exists():
        assert proc.poll() is None, (tmp / f"{name}.log").read_text()
        assert time.monotonic() < deadline, "the provider did not create its socket"
        time.sleep(0.1)
    _, pb2_grpc = _stubs(tmp)
    # grpc-go (the driver) sends the authority "localhost" on unix sockets; Python's grpc would
    # send the percent-encoded path, which HTTP/2 servers refuse as an authority.
    channel = grpc.insecure_channel(f"unix://{socket}", options=[("grpc.default_authority", "localhost")])
    return proc, log, channel, pb2_grpc.CSIDriverProviderStub(channel)


def _stop_provider(proc, log, channel) -> None:
    channel.close()
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def _token(key: KeyPair, sa: str, aud: str = "sts.amazonaws.com") -> str:
    now = int(time.time())
    return key.token({"iss": ISSUER, "sub": f"system:serviceaccount:{NAMESPACE}:{sa}", "aud": aud, "iat": now, "exp": now + 600})


def _tokens(**by_audience: str) -> str:
    """The driver's serviceAccount.tokens attribute: {AUDIENCE: {"token", "expirationTimestamp"}}."""
    return json.dumps({aud: {"token": t, "expirationTimestamp": "2099-01-01T00:00:00Z"} for aud, t in by_audience.items()})


TOKENS = "csi.storage.k8s.io/serviceAccount.tokens"


def _mount(world, sa: str = "api", objects: str = SEED_OBJECTS, current=(), stub=None, token_of: str | None = None, **extra):
    pb2 = world["pb2"]
    attributes = {
        "objects": objects,
        "region": "us-east-1",
        "secretProviderClass": "payments-secrets",
        "csi.storage.k8s.io/pod.name": "payments-api-" + uuid.uuid4().hex[:5],
        "csi.storage.k8s.io/pod.namespace": NAMESPACE,
        "csi.storage.k8s.io/serviceAccount.name": sa,
        "csi.storage.k8s.io/serviceAccount.tokens": json.dumps(
            {"sts.amazonaws.com": {"token": _token(world["key"], token_of or sa), "expirationTimestamp": "2099-01-01T00:00:00Z"}}
        ),
        **extra,
    }
    request = pb2.MountRequest(
        attributes=json.dumps(attributes),
        secrets="{}",
        target_path="/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/secrets-store/mount",
        permission="420",
        current_object_version=[pb2.ObjectVersion(id=i, version=v) for i, v in current],
    )
    return (stub or world["stub"]).Mount(request, timeout=30)


def test_version(world):
    out = world["stub"].Version(world["pb2"].VersionRequest(version="v1.4.0"), timeout=10)
    assert out.version == "v1alpha1" and out.runtime_name == "coffer" and out.runtime_version


def test_mount_returns_the_seed_files_and_versions(world):
    out = _mount(world)
    files = {f.path: f for f in out.files}
    assert set(files) == {"prod_payments-api_database", "db-username", "db-password", "feature-flags"}
    assert files["db-username"].contents == b"payments"
    assert files["db-password"].contents == PASSWORDS[0].encode()
    assert json.loads(files["prod_payments-api_database"].contents)["port"] == 5432
    assert files["feature-flags"].contents == b'{"new-checkout":true}'
    assert {f.mode for f in out.files} == {0o644}
    versions = {v.id: v.version for v in out.object_version}
    current = world["sm"].describe_secret(SecretId="prod/payments-api/database")["VersionIdsToStages"]
    assert versions["prod_payments-api_database"] in current and versions["feature-flags"] == "1"


def test_remount_after_a_new_version_returns_it(world):
    first = _mount(world)
    versions = [(v.id, v.version) for v in first.object_version]
    world["sm"].put_secret_value(
        SecretId="prod/payments-api/database",
        SecretString=json.dumps({"username": "payments", "password": PASSWORDS[1], "port": 5432}),
    )
    again = _mount(world, current=versions)
    files = {f.path: f.contents for f in again.files}
    assert files["db-password"] == PASSWORDS[1].encode()
    new = dict((v.id, v.version) for v in again.object_version)
    assert new["prod_payments-api_database"] != dict(versions)["prod_payments-api_database"]
    assert new["feature-flags"] == dict(versions)["feature-flags"]


def test_a_service_account_without_access_reads_nothing(world):
    with pytest.raises(grpc.RpcError) as e:
        _mount(world, sa="worker")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "prod/payments-api/database" in e.value.details() and "AccessDenied" in e.value.details()
    # All or nothing: an object that cannot be read fails the whole mount.
    missing = SEED_OBJECTS + '- objectName: "prod/does-not-exist"\n  objectType: "secretsmanager"\n'
    with pytest.raises(grpc.RpcError) as e:
        _mount(world, objects=missing)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    # A service account with no role mapped, and a token for another service account.
    with pytest.raises(grpc.RpcError) as e:
        _mount(world, sa="unmapped")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED and "no IAM role" in e.value.details()
    # The pod says it runs as payments/api (whose role may read everything) but its token is
    # payments/worker's: the api role's trust policy refuses the exchange, nothing is read.
    with pytest.raises(grpc.RpcError) as e:
        _mount(world, sa="api", token_of="worker")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "PaymentsApi" in e.value.details() and "AccessDenied" in e.value.details()


def test_use_pod_identity_exchanges_the_pod_identity_token(world):
    """`usePodIdentity: "true"` (EKS Pod Identity): the pod's token for the audience
    pods.eks.amazonaws.com is the one exchanged for the mapped role, not the STS audience's."""
    key = world["key"]
    # The sts.amazonaws.com token here belongs to another service account: using it would fail.
    tokens = _tokens(**{"sts.amazonaws.com": _token(key, "worker"), "pods.eks.amazonaws.com": _token(key, "api", aud="pods.eks.amazonaws.com")})
    out = _mount(world, usePodIdentity="true", **{TOKENS: tokens})
    files = {f.path: f.contents for f in out.files}
    assert files["db-username"] == b"payments" and "feature-flags" in files
    # Without usePodIdentity the same attributes use the STS audience's token, which is refused.
    with pytest.raises(grpc.RpcError):
        _mount(world, **{TOKENS: tokens})
    with pytest.raises(grpc.RpcError) as e:
        _mount(world, usePodIdentity="false", **{TOKENS: tokens})
    # Pod Identity with no token for its audience (two others): refused, naming the audience.
    with pytest.raises(grpc.RpcError) as e:
        _mount(world, usePodIdentity="true", **{TOKENS: _tokens(a=_token(key, "api"), b=_token(key, "api"))})
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED and "pods.eks.amazonaws.com" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        _mount(world, usePodIdentity="maybe")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "usePodIdentity" in e.value.details()


def test_bad_requests_are_refused_clearly(world):
    with pytest.raises(grpc.RpcError) as e:
        _mount(world, objects="- objectName: x\n  objectType: dynamodb\n")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        _mount(world, **{"csi.storage.k8s.io/serviceAccount.tokens": ""})
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_failover_region_serves_when_the_primary_cannot(world):
    """The seed's secret replicated to us-west-2; a mount whose primary Region has no such
    secret falls back to the failover Region."""
    sm = world["sm"]
    name = "prod/payments-api/replicated-" + uuid.uuid4().hex[:6]
    sm.create_secret(Name=name, SecretString=json.dumps({"password": "from-west"}), AddReplicaRegions=[{"Region": "us-west-2"}])
    objects = f'- objectName: "{name}"\n  objectType: "secretsmanager"\n  objectAlias: db\n'
    out = _mount(world, objects=objects, region="eu-west-1", failoverRegion="us-west-2")
    assert {f.path: f.contents for f in out.files}["db"] == json.dumps({"password": "from-west"}).encode()


def test_no_value_in_the_provider_log(world):
    _mount(world)
    log = (world["tmp"] / "provider.log").read_bytes()
    for v in PASSWORDS:
        assert v.encode() not in log
    for f in files_under(world["server"].base_dir):
        for v in PASSWORDS:
            assert v.encode() not in stored_bytes(f), f


class _FakeKubernetes:
    """The one Kubernetes API call the provider makes, over https with a test CA:
    GET /api/v1/namespaces/NS/serviceaccounts/SA, answered from `annotations` (SA -> role ARN);
    every request's path and Authorization header is recorded."""

    def __init__(self, cert: Path, key: Path, annotations: dict[str, str]) -> None:
        self.seen: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.seen.append((self.path, self.headers.get("Authorization", "")))
                prefix = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/"
                sa = self.path[len(prefix):] if self.path.startswith(prefix) else None
                if sa is not None and sa in annotations:
                    doc = {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": sa, "namespace": NAMESPACE}}
                    if annotations[sa]:
                        doc["metadata"]["annotations"] = {"eks.amazonaws.com/role-arn": annotations[sa]}
                    status = 200
                else:
                    doc = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
                    status = 404
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_role_from_the_service_account_annotation(world, tmp_path):
    """No mapping file: the provider reads the pod's service account from the Kubernetes API
    (https, the cluster CA and its own token from its service-account directory) and uses the
    role of its eks.amazonaws.com/role-arn annotation, as IRSA does."""
    ca, cert, key = _private_ca(tmp_path)
    sa_dir = tmp_path / "serviceaccount"
    sa_dir.mkdir()
    (sa_dir / "token").write_text("provider-own-token-3f9a\n")
    shutil.copy(ca, sa_dir / "ca.crt")
    annotated = world["role"]("PaymentsAnnotated", "annotated", ["secretsmanager:GetSecretValue", "ssm:GetParameter"])
    kube = _FakeKubernetes(cert, key, {"annotated": annotated, "bare": ""})
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(kube.port), "COFFER_KUBERNETES_SERVICE_ACCOUNT_DIR": str(sa_dir)}
    proc, log, channel, stub = _start_provider(tmp_path, world["server"], [], env, name="in-cluster")
    try:
        out = _mount(world, sa="annotated", stub=stub)
        files = {f.path: f.contents for f in out.files}
        assert files["db-password"] in (p.encode() for p in PASSWORDS) and files["feature-flags"] == b'{"new-checkout":true}'
        assert (f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/annotated", "Bearer provider-own-token-3f9a") in kube.seen
        # A service account without the annotation, and one that does not exist: no role.
        for sa in ("bare", "missing"):
            with pytest.raises(grpc.RpcError) as e:
                _mount(world, sa=sa, stub=stub)
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED and "no IAM role" in e.value.details()
        # The api service account is not annotated here, and no file maps it: the role the
        # module's provider uses for it is not used.
        with pytest.raises(grpc.RpcError) as e:
            _mount(world, sa="api", stub=stub)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        _stop_provider(proc, log, channel)
        kube.close()
