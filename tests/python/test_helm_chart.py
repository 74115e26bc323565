"""The Helm chart (deploy/helm/coffer) and the Dockerfile, checked without a cluster.

Rendering and linting are Helm's own (its Go SDK, through the ``helm-python-sdk`` wheel, which
bundles it: no ``helm`` binary, no network). On top of ``helm lint --strict`` the tests check what
matters for the manifests to work: the server's probes and flags, the store and key wiring, TLS,
the CSI provider's socket and RBAC, and that values which cannot work are refused. The flags the
chart and the Dockerfile pass to ``coffer server`` are checked against the binary's ``--help``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from coffer_harness import REPO_ROOT, coffer_binary

try:
    import helm_python as helm
except ImportError:  # every test that renders fails (not skips) with the fix in its message
    helm = None

HELM_MISSING = "Helm's SDK is missing: python3 -m pip install helm-python-sdk==0.2.2 (see requirements.txt)"

CHART = REPO_ROOT / "deploy" / "helm" / "coffer"
DOCKERFILE = REPO_ROOT / "Dockerfile"
NS = "secrets"
RELEASE = "coffer"
SOCKET = "/etc/kubernetes/secrets-store-csi-providers/aws.sock"
MASTER = {"masterKey": {"existingSecret": "coffer-master-key"}}
ROOT = {"rootCredentials": {"existingSecret": "coffer-root"}}
PG = {"postgres": {"urlSecret": {"name": "coffer-pg", "key": "url"}}, "replicas": 3}
CERT_MANAGER = {"tls": {"mode": "certManager", "certManager": {"issuerRef": {"name": "internal-ca"}}}}


def merge(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        for k, v in part.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def render(values: dict, chart: Path = CHART) -> list[dict]:
    """Every object the chart renders with ``values``, parsed (NOTES.txt left out)."""
    if helm is None:
        pytest.fail(HELM_MISSING)
    with helm.Chart.load(str(chart)) as c:
        files = c.render(values, name=RELEASE, namespace=NS, is_install=True)
    docs = []
    for name, text in files.items():
        if name.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def one(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[d['metadata']['name'] for d in found]}"
    return found[0]


def kinds(docs: list[dict]) -> set[str]:
    return {d["kind"] for d in docs}


def refused(values: dict) -> str:
    if helm is None:
        pytest.fail(HELM_MISSING)
    with pytest.raises(helm.HelmError) as e:
        render(values)
    return str(e.value)


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


# -- the semantic checks, as functions so that a broken chart can be shown to fail them ------------


def server_problems(docs: list[dict], scheme: str = "HTTPS") -> list[str]:
    problems = []
    workloads = [d for d in docs if d["kind"] in ("StatefulSet", "Deployment")]
    if len(workloads) != 1:
        return [f"expected one server workload, got {len(workloads)}"]
    pod = workloads[0]["spec"]["template"]["spec"]
    (c,) = [c for c in pod["containers"] if c["name"] == "coffer"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        if (get.get("path"), get.get("port"), get.get("scheme")) != ("/health", 4566, scheme):
            problems.append(f"{probe} is {get}, not /health on 4566 over {scheme}")
    if c["ports"] != [{"name": "api", "containerPort": 4566, "protocol": "TCP"}]:
        problems.append(f"ports {c['ports']}")
    if c["args"][:2] != ["server", "--listen=0.0.0.0:4566"]:
        problems.append(f"args start {c['args'][:2]}")
    if pod["securityContext"].get("runAsNonRoot") is not True or pod["securityContext"].get("runAsUser", 0) == 0:
        problems.append("the server pod may run as root")
    sc = c["securityContext"]
    if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"container securityContext {sc}")
    mk = env_of(c).get("COFFER_MASTER_KEY")
    if not (isinstance(mk, dict) and "secretKeyRef" in mk):
        problems.append(f"COFFER_MASTER_KEY is not read from a Secret: {mk!r}")
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    if mounts.get("/var/lib/coffer") != "data" or "--data-dir=/var/lib/coffer/data" not in c["args"]:
        problems.append("the data directory is not a subdirectory of the data volume")
    return problems


def csi_problems(docs: list[dict]) -> list[str]:
    problems = []
    ds = one(docs, "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    if c["command"] != ["coffer"] or c["args"][0] != "csi-provider":
        problems.append(f"not coffer csi-provider: {c['command']} {c['args']}")
    if f"--socket={SOCKET}" not in c["args"]:
        problems.append(f"socket is not {SOCKET}: {c['args']}")
    host = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    if host.get("providervol") != "/etc/kubernetes/secrets-store-csi-providers" or mounts.get("providervol") != host.get("providervol"):
        problems.append(f"providers directory hostPath {host} mounted at {mounts}")
    role = one(docs, "ClusterRole")
    rules = [(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r["verbs"])) for r in role["rules"]]
    if (("",), ("serviceaccounts",), ("get",)) not in rules:
        problems.append(f"ClusterRole does not allow get on serviceaccounts: {rules}")
    if any("*" in verbs or "secrets" in res for _, res, verbs in rules):
        problems.append(f"ClusterRole grants more than it needs: {rules}")
    binding = one(docs, "ClusterRoleBinding")
    if binding["roleRef"]["name"] != role["metadata"]["name"] or binding["subjects"] != [
        {"kind": "ServiceAccount", "name": pod["serviceAccountName"], "namespace": NS}
    ]:
        problems.append(f"binding {binding['roleRef']} {binding['subjects']}")
    return problems


# -- lint and the values file ----------------------------------------------------------------------


def test_helm_lint_strict():
    if helm is None:
        pytest.fail(HELM_MISSING)
    for values in (MASTER, merge(MASTER, ROOT, PG, CERT_MANAGER, {"csiProvider": {"enabled": True}, "serviceMonitor": {"enabled": True}})):
        result = helm.lint(str(CHART), values, strict=True, namespace=NS)
        assert result["errors"] == [], result
        # Severity 1 is INFO ("icon is recommended"); warnings (2) and errors (4) fail.
        assert [m for m in result["messages"] if m["severity"] > 1] == [], result


def test_values_and_templates_agree():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "coffer"
    text = "\n".join(p.read_text() for p in (CHART / "templates").iterdir())
    used = set(re.findall(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text))
    used = {u.lstrip(".") for u in used}

    def exists(path: str) -> bool:
        node = values
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    assert sorted(p for p in used if not exists(p)) == [], "templates read values that values.yaml does not define"

    def leaves(node, prefix=""):
        if isinstance(node, dict) and node:
            for k, v in node.items():
                yield from leaves(v, f"{prefix}.{k}" if prefix else k)
        else:
            yield prefix

    unused = [leaf for leaf in leaves(values) if not any(leaf == u or leaf.startswith(u + ".") for u in used)]
    assert unused == [], "values.yaml defines keys no template reads"


# -- rendered manifests ----------------------------------------------------------------------------


def test_default_is_sqlite_statefulset_with_self_signed_tls():
    docs = render(MASTER)
    assert server_problems(docs) == []
    sts = one(docs, "StatefulSet")
    assert "Deployment" not in kinds(docs) and "DaemonSet" not in kinds(docs)
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--tls-self-signed" in args
    for name in ("coffer", "coffer.secrets", "coffer.secrets.svc", "coffer.secrets.svc.cluster.local"):
        assert f"--tls-name={name}" in args
    svc = one(docs, "Service", "coffer")
    assert svc["spec"]["ports"][0]["port"] == 4566 and svc["spec"]["ports"][0]["targetPort"] == "api"
    assert one(docs, "Service", "coffer-headless")["spec"]["clusterIP"] == "None"
    assert sts["spec"]["serviceName"] == "coffer-headless"
    # No generated key material anywhere in what the chart renders.
    assert "Secret" not in kinds(docs)


def test_postgres_is_a_deployment_with_the_store_url_from_a_secret():
    docs = render(merge(MASTER, ROOT, PG, CERT_MANAGER))
    assert server_problems(docs) == []
    dep = one(docs, "Deployment")
    assert "StatefulSet" not in kinds(docs) and dep["spec"]["replicas"] == 3
    pod = dep["spec"]["template"]["spec"]
    env = env_of(pod["containers"][0])
    assert env["COFFER_STORE_URL"] == {"secretKeyRef": {"name": "coffer-pg", "key": "url"}}
    assert env["COFFER_ROOT_ACCESS_KEY_ID"]["secretKeyRef"]["name"] == "coffer-root"
    assert env["COFFER_ROOT_SECRET_ACCESS_KEY"]["secretKeyRef"]["name"] == "coffer-root"
    assert {"name": "data", "emptyDir": {}} in pod["volumes"]
    args = pod["containers"][0]["args"]
    assert "--tls-cert=/etc/coffer/tls/tls.crt" in args and "--tls-key=/etc/coffer/tls/tls.key" in args
    cert = one(docs, "Certificate")
    assert cert["spec"]["issuerRef"]["name"] == "internal-ca"
    assert "coffer.secrets.svc" in cert["spec"]["dnsNames"]
    (tls,) = [v for v in pod["volumes"] if v["name"] == "tls"]
    assert tls["secret"]["secretName"] == cert["spec"]["secretName"]


def test_insecure_http_probes_over_http():
    docs = render(merge(MASTER, {"tls": {"mode": "insecureHttp"}}))
    assert server_problems(docs, scheme="HTTP") == []
    assert "--insecure-http" in one(docs, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]["args"]


def test_csi_provider_daemonset():
    roles = {"payments/payments-api": "arn:aws:iam::000000000000:role/PaymentsApi"}
    docs = render(merge(MASTER, CERT_MANAGER, {"csiProvider": {"enabled": True, "serviceAccountRoles": roles, "region": "us-east-1"}}))
    assert csi_problems(docs) == []
    pod = one(docs, "DaemonSet")["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert "--endpoint-url=https://coffer.secrets.svc:4566" in c["args"]
    assert "--service-account-roles=/etc/coffer/sa-roles/sa-roles.json" in c["args"]
    env = env_of(c)
    assert env["AWS_CA_BUNDLE"] == "/etc/coffer/ca/ca.pem" and env["AWS_REGION"] == "us-east-1"
    (ca,) = [v for v in pod["volumes"] if v["name"] == "ca"]
    # Only the CA certificate of the TLS Secret reaches the nodes, never its key.
    assert ca["secret"]["items"] == [{"key": "ca.crt", "path": "ca.pem"}]
    cm = one(docs, "ConfigMap", "coffer-sa-roles")
    assert json.loads(cm["data"]["sa-roles.json"]) == roles
    # With a published CA ConfigMap instead (self-signed TLS).
    docs = render(merge(MASTER, {"csiProvider": {"enabled": True}, "caBundle": {"configMap": "coffer-ca"}}))
    assert csi_problems(docs) == []
    (ca,) = [v for v in one(docs, "DaemonSet")["spec"]["template"]["spec"]["volumes"] if v["name"] == "ca"]
    assert ca["configMap"] == {"name": "coffer-ca", "items": [{"key": "ca.pem", "path": "ca.pem"}]}


def test_service_monitor_config_and_oidc():
    jwks = json.dumps({"keys": [{"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"}]})
    docs = render(
        merge(
            MASTER,
            {
                "serviceMonitor": {"enabled": True},
                "config": "[limits]\nmax_connections = 500\n",
                "oidc": {"providers": [{"issuer": "https://kubernetes.default.svc", "jwks": jwks}, {"issuer": "https://idp.example", "jwksUrl": "https://idp.example/keys"}]},
            },
        )
    )
    sm = one(docs, "ServiceMonitor")
    (ep,) = sm["spec"]["endpoints"]
    assert (ep["port"], ep["path"], ep["scheme"]) == ("api", "/metrics", "https")
    # It selects the client Service only, not the headless one as well.
    selected = [d["metadata"]["name"] for d in docs if d["kind"] == "Service" and sm["spec"]["selector"]["matchLabels"].items() <= d["metadata"]["labels"].items()]
    assert selected == ["coffer"]
    c = one(docs, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    assert "--config=/etc/coffer/config/coffer.toml" in c["args"]
    assert one(docs, "ConfigMap", "coffer")["data"]["coffer.toml"].strip() == "[limits]\nmax_connections = 500"
    assert env_of(c)["COFFER_OIDC_JWKS"] == "https://kubernetes.default.svc=/etc/coffer/oidc/jwks-0.json,https://idp.example=https://idp.example/keys"
    assert json.loads(one(docs, "ConfigMap", "coffer-oidc")["data"]["jwks-0.json"]) == json.loads(jwks)


def test_values_that_cannot_work_are_refused():
    assert "kubectl create secret generic coffer-master-key" in refused({})
    assert "cannot serve several PostgreSQL replicas" in refused(merge(MASTER, ROOT, PG))
    assert "rootCredentials.existingSecret" in refused(merge(MASTER, PG, CERT_MANAGER))
    assert "caBundle.configMap" in refused(merge(MASTER, {"csiProvider": {"enabled": True}}))
    assert "tls.mode must be" in refused(merge(MASTER, {"tls": {"mode": "tls"}}))
    assert "tls.secretName" in refused(merge(MASTER, {"tls": {"mode": "secret"}}))


def test_the_checks_catch_a_broken_chart(tmp_path):
    """The semantic checks are not vacuous: a copy of the chart with a wrong probe path, a root
    server pod and another socket fails them."""
    broken = tmp_path / "coffer"
    shutil.copytree(CHART, broken)
    pod = broken / "templates" / "_pod.tpl"
    pod.write_text(pod.read_text().replace("path: /health", "path: /healthz", 1))
    values = broken / "values.yaml"
    values.write_text(values.read_text().replace("socketName: aws.sock", "socketName: coffer.sock").replace("runAsNonRoot: true", "runAsNonRoot: false"))
    docs = render(merge(MASTER, CERT_MANAGER, {"csiProvider": {"enabled": True}}), chart=broken)
    problems = server_problems(docs)
    assert any("startupProbe" in p for p in problems) and any("root" in p for p in problems), problems
    assert any("socket" in p for p in csi_problems(docs))


# -- the flags match the binary, and the Dockerfile ------------------------------------------------


def _help(*subcommand: str) -> str | None:
    r = subprocess.run([str(coffer_binary()), *subcommand, "--help"], capture_output=True, text=True, timeout=30)
    return r.stdout if r.returncode == 0 else None


def _flags(args: list[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in args if a.startswith("--")}


def test_server_flags_exist_in_the_binary():
    text = _help("server")
    assert text is not None, "coffer server --help failed"
    known = set(re.findall(r"--[a-z][a-z-]+", text))
    docs = render(merge(MASTER, {"config": "x = 1"})) + render(merge(MASTER, ROOT, PG, CERT_MANAGER)) + render(merge(MASTER, {"tls": {"mode": "insecureHttp"}}))
    used = set()
    for d in docs:
        if d["kind"] in ("StatefulSet", "Deployment"):
            used |= _flags(d["spec"]["template"]["spec"]["containers"][0]["args"])
    entrypoint, cmd = _dockerfile_exec("ENTRYPOINT"), _dockerfile_exec("CMD")
    used |= _flags(entrypoint + cmd)
    assert sorted(used - known) == [], "flags coffer server does not have"


def test_csi_provider_flags_exist_in_the_binary():
    text = _help("csi-provider")
    if text is None:
        pytest.skip("this coffer binary has no csi-provider subcommand yet")
    known = set(re.findall(r"--[a-z][a-z-]+", text))
    docs = render(merge(MASTER, CERT_MANAGER, {"csiProvider": {"enabled": True, "serviceAccountRoles": {"a/b": "arn:aws:iam::000000000000:role/R"}}}))
    used = _flags(one(docs, "DaemonSet")["spec"]["template"]["spec"]["containers"][0]["args"])
    assert sorted(used - known) == []


def _dockerfile_exec(instruction: str) -> list[str]:
    text = DOCKERFILE.read_text()
    (line,) = re.findall(rf"^{instruction} (\[.*\])\s*$", text, re.M)
    return json.loads(line)


def test_dockerfile():
    text = DOCKERFILE.read_text()
    assert _dockerfile_exec("ENTRYPOINT") == ["coffer", "server", "--listen", "0.0.0.0:4566", "--data-dir", "/var/lib/coffer"]
    # A non-loopback address needs TLS (or an explicit --insecure-http): the default is coffer's CA.
    assert _dockerfile_exec("CMD") == ["--tls-self-signed"]
    assert re.search(r"^EXPOSE 4566$", text, re.M)
    assert re.search(r'^VOLUME \["/var/lib/coffer"\]$', text, re.M)
    (user,) = re.findall(r"^USER (\S+)$", text, re.M)
    assert user.split(":")[0] not in ("0", "root")
    # The health check is coffer's own subcommand over https (then http for --insecure-http):
    # the runtime image has no curl, or any other HTTP client.
    assert re.search(r"^HEALTHCHECK .*\n(.*\\\n)*.*CMD coffer health --url https://127\.0\.0\.1:4566/health --data-dir /var/lib/coffer", text, re.M)
    assert "curl" not in text and "wget" not in text
    health = _help("health")
    assert health is not None, "coffer health --help failed"
    assert {"--url", "--ca-bundle", "--data-dir"} <= set(re.findall(r"--[a-z][a-z-]+", health))
    assert "cargo build --release --locked --bin coffer" in text
    assert re.search(r"^FROM debian:\$\{DEBIAN_RELEASE\}-slim$", text, re.M) and "ca-certificates" in text
    # What the binary links: nothing the slim base image lacks.
    ldd = shutil.which("ldd")
    if ldd:
        out = subprocess.run([ldd, str(coffer_binary())], capture_output=True, text=True).stdout
        libs = {line.split()[0] for line in out.splitlines() if "=>" in line}
        assert libs <= {"libgcc_s.so.1", "libm.so.6", "libc.so.6"}, libs
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert "target/" in ignored and ".git/" in ignored and "crates/" not in ignored
