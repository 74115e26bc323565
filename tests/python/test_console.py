"""The web console at /console, end to end.

Browser tests drive Debian's headless Chromium with selenium: sign in, find a secret by filter,
see its versions and rotation status, reveal a value (and find that reveal in the audit trail
with boto3's LookupEvents), see a read-only user refused a write. Plain-HTTP tests check CSRF
refusals, the security headers, escaping and a refused sign-in.

Screenshots of the main pages are written to $COFFER_CONSOLE_SCREENSHOTS when it is set (the
ones under docs/console/ were made so)."""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import shutil
import subprocess
import ssl
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from coffer_harness import ACCESS_KEY, ACCOUNT, SECRET_KEY, CofferServer, coffer_binary

GENERIC = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CofferRandomPasswordRotation"
SECRET = "console/payments/db"
HOSTILE = '<script>alert("pwned")</script>'
READER = "console-reader"


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(server: CofferServer) -> dict:
    """Secrets, parameters, a key and a read-only IAM user to look at."""
    sm = server.client("secretsmanager")
    sm.create_secret(
        Name=SECRET,
        Description="Payments database credentials",
        SecretString=json.dumps({"username": "app", "password": "first-password"}),
        Tags=[{"Key": "team", "Value": "payments"}],
    )
    # Rotation: enabled, rotated once at once (AWSPREVIOUS follows), a schedule.
    sm.rotate_secret(
        SecretId=SECRET,
        RotationLambdaARN=GENERIC,
        RotationRules={"AutomaticallyAfterDays": 30},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        d = sm.describe_secret(SecretId=SECRET)
        stages = [s for v in d.get("VersionIdsToStages", {}).values() for s in v]
        if "LastRotatedDate" in d and "AWSPREVIOUS" in stages:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"rotation did not finish: {d}")
    sm.create_secret(
        Name="console/hostile",
        Description=HOSTILE,
        SecretString="not-shown",
        Tags=[{"Key": "note", "Value": HOSTILE}],
    )
    sm.create_secret(Name="console/orders/api-key", Description="Orders API key", SecretString="orders-key")
    ssm = server.client("ssm")
    ssm.put_parameter(Name="/console/prod/db/host", Value="db.internal", Type="String")
    ssm.put_parameter(Name="/console/prod/db/password", Value="param-secret-1", Type="SecureString")
    ssm.put_parameter(Name="/console/prod/db/password", Value="param-secret-2", Type="SecureString", Overwrite=True)
    ssm.label_parameter_version(Name="/console/prod/db/password", ParameterVersion=2, Labels=["live"])
    ssm.put_parameter(Name="/console/staging/feature", Value="on", Type="String", Description=HOSTILE)
    kms = server.client("kms")
    key = kms.create_key(Description="console test key")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/console-test", TargetKeyId=key)
    kms.enable_key_rotation(KeyId=key)

    iam = server.client("iam")
    iam.create_user(UserName=READER)
    iam.put_user_policy(
        UserName=READER,
        PolicyName="read-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "secretsmanager:List*",
                            "secretsmanager:Describe*",
                            "secretsmanager:GetResourcePolicy",
                            "secretsmanager:GetSecretValue",
                            "cloudtrail:LookupEvents",
                        ],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    reader = iam.create_access_key(UserName=READER)["AccessKey"]
    return {"reader": (reader["AccessKeyId"], reader["SecretAccessKey"]), "key": key}


# -- plain HTTP -------------------------------------------------------------------------------


class Browserless:
    """A cookie-keeping HTTP client that does not follow redirects."""

    def __init__(self, server: CofferServer):
        self.host = "127.0.0.1"
        self.port = server.port
        self.cookie: str | None = None

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        h = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            h["Cookie"] = self.cookie
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        conn.close()
        set_cookie = resp.getheader("Set-Cookie")
        if set_cookie and set_cookie.startswith("coffer_console="):
            value = set_cookie.split(";", 1)[0]
            self.cookie = None if value == "coffer_console=" else value
        return resp, data

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict, **kw):
        return self.request("POST", path, form=form, **kw)

    def sign_in(self, akid: str = ACCESS_KEY, secret: str = SECRET_KEY):
        resp, body = self.post("/console/login", {"access_key_id": akid, "secret_access_key": secret})
        return resp, body


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert m, page[:2000]
    return m.group(1)


def current_value(server: CofferServer, secret_id: str = SECRET) -> str:
    return server.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]


def test_sign_in_with_a_wrong_key_is_refused_generically(server, seeded):
    c = Browserless(server)
    resp, wrong_secret = c.sign_in(ACCESS_KEY, "wrong-secret-key-0123456789012345678901")
    assert resp.status == 401 and c.cookie is None
    resp2, unknown_key = c.sign_in("AKIANOSUCHKEY0000000", SECRET_KEY)
    assert resp2.status == 401 and c.cookie is None
    message = "The access key ID, secret access key or session token is not valid."
    assert message in wrong_secret and message in unknown_key
    # Nothing tells which half was wrong, and the secret typed is not echoed back.
    assert "wrong-secret-key" not in wrong_secret
    # Not signed in: pages send the browser to sign in.
    resp, _ = c.get("/console/secrets")
    assert resp.status == 303 and resp.getheader("Location") == "/console/login"


def test_session_cookie_and_security_headers(server, seeded):
    c = Browserless(server)
    resp, _ = c.sign_in()
    assert resp.status == 303 and resp.getheader("Location") == "/console/secrets"
    cookie = resp.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; TLS adds it
    token = c.cookie.split("=", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert SECRET_KEY not in cookie and ACCESS_KEY not in cookie
    for path in ["/console/login", "/console/secrets", f"/console/secret?id={SECRET}", "/console/audit"]:
        resp, body = c.get(path)
        assert resp.status == 200, (path, body[:500])
        csp = resp.getheader("Content-Security-Policy")
        for directive in ["default-src 'none'", "style-src 'self'", "img-src 'self'", "form-action 'self'", "frame-ancestors 'none'"]:
            assert directive in csp, (path, csp)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert resp.getheader("X-Frame-Options") == "DENY"
        assert resp.getheader("X-Content-Type-Options") == "nosniff"
        assert resp.getheader("Referrer-Policy") == "no-referrer"
        assert resp.getheader("Cache-Control") == "no-store"
        assert "<script" not in body.lower()
    resp, css = c.get("/console/static/console.css")
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/css") and "body" in css


def test_posts_without_the_sessions_csrf_token_are_refused(server, seeded):
    c = Browserless(server)
    c.sign_in()
    _, page = c.get(f"/console/secret?id={SECRET}")
    token = csrf_of(page)
    before = current_value(server)
    for form, headers in [
        ({"id": SECRET, "value": "csrf-1"}, {}),  # no token
        ({"id": SECRET, "value": "csrf-2", "csrf": "0" * 64}, {}),  # wrong token
        ({"id": SECRET, "value": "csrf-3", "csrf": token}, {"Origin": "http://evil.example"}),  # cross-site
        ({"id": SECRET, "value": "csrf-4", "csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
    ]:
        resp, body = c.post("/console/secret/put", form, headers=headers)
        assert resp.status == 403, body[:500]
        assert "InvalidCsrfToken" in body
    assert current_value(server) == before
    # Another session's token is not this one's.
    other = Browserless(server)
    other.sign_in()
    resp, _ = other.post("/console/secret/put", {"id": SECRET, "value": "csrf-5", "csrf": token})
    assert resp.status == 403
    # A reveal is a POST too.
    resp, body = c.post("/console/secret/reveal", {"id": SECRET})
    assert resp.status == 403 and before not in body
    assert current_value(server) == before
    # With the token (and this origin) the write goes through.
    resp, _ = c.post(
        "/console/secret/put",
        {"id": SECRET, "value": before, "csrf": token},
        headers={"Origin": f"http://127.0.0.1:{server.port}"},
    )
    assert resp.status == 303
    # Sign-out needs the token as well, and ends the session.
    resp, _ = c.post("/console/logout", {})
    assert resp.status == 403
    resp, _ = c.post("/console/logout", {"csrf": token})
    assert resp.status == 303
    resp, _ = c.get("/console/secrets")
    assert resp.status == 303


def test_everything_shown_is_escaped(server, seeded):
    c = Browserless(server)
    c.sign_in()
    raw = HOSTILE
    escaped = html.escape(HOSTILE, quote=True).replace("&#x27;", "&#39;")
    pages = [
        "/console/secrets",
        "/console/secret?id=console/hostile",
        "/console/secrets?" + urllib.parse.urlencode({"description": raw}),  # reflected filter
        "/console/secret?" + urllib.parse.urlencode({"id": raw}),  # a secret "named" <script>
        "/console/parameters?path=/console/staging",
        "/console/audit?" + urllib.parse.urlencode({"attribute": "ResourceName", "value": raw}),
    ]
    for path in pages:
        resp, body = c.get(path)
        assert raw not in body, path
        assert "<script" not in body.lower(), path
        assert escaped in body or "&lt;script&gt;" in body, (path, body[:3000])


def test_values_are_not_on_pages_until_revealed_and_never_logged(server, seeded):
    c = Browserless(server)
    c.sign_in()
    value = current_value(server)
    _, page = c.get(f"/console/secret?id={SECRET}")
    assert html.escape(value) not in page and "first-password" not in page
    _, page = c.get("/console/parameter?name=/console/prod/db/password")
    assert "param-secret" not in page
    resp, page = c.post("/console/parameter/reveal", {"name": "/console/prod/db/password", "version": "2", "csrf": csrf_of(page)})
    assert resp.status == 200 and "param-secret-2" in page
    _, page = c.get(f"/console/secret?id={SECRET}")
    resp, page = c.post("/console/secret/reveal", {"id": SECRET, "csrf": csrf_of(page)})
    assert resp.status == 200 and html.escape(value, quote=True) in page
    log = server.log_text()
    assert "param-secret-2" not in log and value not in log and SECRET_KEY not in log


def test_over_tls_the_cookie_is_secure(tmp_path):
    from test_tls import TlsServer

    s = TlsServer(tmp_path / "tls", extra_args=["--tls-self-signed"])
    s.ca = None
    s.start()
    try:
        ctx = ssl.create_default_context(cafile=str(s.data_dir / "tls" / "ca.pem"))
        conn = http.client.HTTPSConnection("localhost", s.port, context=ctx, timeout=30)
        conn.request(
            "POST",
            "/console/login",
            body=urllib.parse.urlencode({"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://localhost:{s.port}"},
        )
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 303, resp.status
        cookie = resp.getheader("Set-Cookie")
        assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        # An http:// origin is another origin for an https page.
        conn.request(
            "POST",
            "/console/login",
            body=urllib.parse.urlencode({"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://localhost:{s.port}"},
        )
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 403 and resp.getheader("Set-Cookie") is None
        conn.close()
    finally:
        s.kill()


def test_a_deactivated_key_ends_its_console_session(server, seeded):
    iam = server.client("iam")
    iam.create_user(UserName="console-leaver")
    key = iam.create_access_key(UserName="console-leaver")["AccessKey"]
    c = Browserless(server)
    resp, _ = c.sign_in(key["AccessKeyId"], key["SecretAccessKey"])
    assert resp.status == 303
    resp, body = c.get("/console/secrets")
    # Signed in, but allowed nothing: the API's refusal is shown.
    assert resp.status == 400 or resp.status == 403, resp.status
    assert "AccessDeniedException" in body
    iam.update_access_key(UserName="console-leaver", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    deadline = time.monotonic() + 35  # the credential cache's bound on another path
    while time.monotonic() < deadline:
        resp, _ = c.get("/console/secrets")
        if resp.status == 303:
            break
        time.sleep(0.5)
    assert resp.status == 303 and resp.getheader("Location") == "/console/login"
    resp, _ = c.sign_in(key["AccessKeyId"], key["SecretAccessKey"])
    assert resp.status == 401


def test_audit_page_filters_by_attribute_and_time(server, seeded):
    c = Browserless(server)
    c.sign_in()
    q = urllib.parse.urlencode
    _, body = c.get("/console/audit?" + q({"attribute": "EventName", "value": "CreateSecret", "start": "2000-01-01T00:00"}))
    names = re.findall(r'<td class="event-name">([^<]*)</td>', body)
    assert names and set(names) == {"CreateSecret"}, names
    assert 'id="timeline"' in body
    _, body = c.get("/console/audit?" + q({"attribute": "EventName", "value": "CreateSecret", "start": "2099-01-01T00:00"}))
    assert re.findall(r'<td class="event-name">', body) == [] and 'id="timeline-empty"' in body
    _, body = c.get("/console/audit?" + q({"start": "yesterday"}))
    assert "InvalidTimeRangeException" in body
    _, body = c.get("/console/audit?" + q({"attribute": "Username", "value": READER}))
    assert set(re.findall(r'<td>([^<]*)</td><td>[a-z]+\.amazonaws\.com', body)) <= {READER}


def breakglass_cli(server: CofferServer, key: tuple[str, str], *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1], AWS_REGION="us-east-1")
    out = subprocess.run(
        [str(coffer_binary()), "breakglass", *args, "--endpoint-url", server.endpoint],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_break_glass_incidents_and_alerts_page(server, seeded):
    iam = server.client("iam")
    role = "console-breakglass"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "coffer:break-glass", "Value": "true"}])
    iam.create_user(UserName="console-approver")
    iam.put_user_policy(
        UserName="console-approver",
        PolicyName="approve",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "coffer:ApproveBreakGlass", "Resource": role_arn}]}),
    )
    k = iam.create_access_key(UserName="console-approver")["AccessKey"]
    rid = breakglass_cli(server, (ACCESS_KEY, SECRET_KEY), "request", "--role-arn", role_arn, "--reason", HOSTILE)["RequestId"]
    breakglass_cli(server, (k["AccessKeyId"], k["SecretAccessKey"]), "approve", "--request-id", rid)
    c = Browserless(server)
    c.sign_in()
    resp, body = c.get("/console/breakglass")
    assert resp.status == 200
    incidents = body[body.index('id="incidents"') : body.index('id="alerts"')]
    assert rid in incidents and "Active" in incidents and role_arn in incidents
    assert HOSTILE not in body and "&lt;script&gt;" in incidents
    alerts = body[body.index('id="alerts"') : body.index('id="refused"')]
    assert "break-glass-requested" in alerts and "break-glass-approved" in alerts
    # The read-only user may not describe the incident: the API's refusal, per row.
    reader = Browserless(server)
    reader.sign_in(*seeded["reader"])
    resp, body = reader.get("/console/breakglass")
    assert resp.status == 200 and "AccessDenied" in body


# -- the browser ------------------------------------------------------------------------------


def chromium_driver(tmp_path: Path):
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.fail("chromium and chromium-driver are needed (apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture
def browser(tmp_path):
    driver = chromium_driver(tmp_path)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver, name: str) -> None:
    out = os.environ.get("COFFER_CONSOLE_SCREENSHOTS")
    if not out:
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(Path(out) / f"{name}.png"))


def go(driver, element) -> None:
    """Click `element` and wait until the page it leads to has replaced this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_driver) -> bool:
        try:
            return expected_conditions.staleness_of(old)(_driver)
        except WebDriverException as e:
            # Asked mid-navigation about a node of the page being replaced, Chrome may answer
            # with an inspector error rather than "stale element" (seen once in CI, under load).
            if "does not belong to the document" in str(e):
                return True
            raise

    WebDriverWait(driver, 20).until(replaced)


def sign_in(driver, server: CofferServer, akid: str, secret: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{server.endpoint}/console/login")
    driver.find_element(By.NAME, "access_key_id").send_keys(akid)
    driver.find_element(By.NAME, "secret_access_key").send_keys(secret)
    go(driver, driver.find_element(By.ID, "sign-in"))
    assert driver.current_url.endswith("/console/secrets"), driver.page_source[:2000]


def test_browser_sign_in_filter_versions_rotation_reveal_and_audit(server, seeded, browser, tmp_path):
    from selenium.webdriver.common.by import By

    d = browser
    d.get(f"{server.endpoint}/console/login")
    shot(d, "login")
    sign_in(d, server, ACCESS_KEY, SECRET_KEY)
    assert d.find_element(By.ID, "principal").text == f"arn:aws:iam::{ACCOUNT}:root"
    # The stylesheet applied (CSP allows 'self'): the header is coloured.
    bg = d.find_element(By.TAG_NAME, "header").value_of_css_property("background-color")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent"), bg

    # Find the secret by a description filter (ListSecrets' word-prefix semantics).
    box = d.find_element(By.ID, "filter-description")
    box.send_keys("payments datab")
    go(d, d.find_element(By.ID, "apply-filters"))
    names = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#secrets tbody td:first-child a")]
    assert names == [SECRET], names
    # A name prefix that matches nothing.
    d.get(f"{server.endpoint}/console/secrets?name=console/nothing-here")
    assert d.find_element(By.ID, "count").text == "0 secret(s)"
    d.get(f"{server.endpoint}/console/secrets?name=console/")
    shot(d, "secrets")
    go(d, d.find_element(By.LINK_TEXT, SECRET))

    # Versions, labels and rotation.
    assert d.find_element(By.TAG_NAME, "h1").text == SECRET
    labels = [td.text for td in d.find_elements(By.CSS_SELECTOR, "#versions-table td.labels")]
    assert "AWSCURRENT" in labels and "AWSPREVIOUS" in labels, labels
    assert d.find_element(By.ID, "rotation-status").text == "Rotation enabled"
    assert "30" in d.find_element(By.ID, "rotation-schedule").text
    assert d.find_element(By.ID, "last-rotated").text.endswith("UTC")
    assert d.find_element(By.ID, "next-rotation").text.endswith("UTC")
    assert d.find_elements(By.CSS_SELECTOR, "#rotation-history tbody tr"), "rotation history"
    value = current_value(server)
    assert value not in d.page_source
    assert 'id="revealed-value"' not in d.page_source

    # Reveal AWSCURRENT's value.
    before = time.time() - 1
    row = next(
        tr for tr in d.find_elements(By.CSS_SELECTOR, "#versions-table tbody tr")
        if tr.find_element(By.CSS_SELECTOR, "td.labels").text == "AWSCURRENT"
    )
    current_version = row.find_element(By.CSS_SELECTOR, "td.mono").text
    go(d, row.find_element(By.CSS_SELECTOR, "button.reveal"))
    assert d.find_element(By.ID, "revealed-value").text == value
    shot(d, "secret-detail")

    # The reveal is in the audit trail as GetSecretValue, by the console, for this secret.
    ct = server.client("cloudtrail")
    found = None
    for _ in range(50):
        events = ct.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetSecretValue"}],
            StartTime=before,
        )["Events"]
        for e in events:
            record = json.loads(e["CloudTrailEvent"])
            if record.get("userAgent", "").startswith("coffer-console/") and any(
                SECRET in r.get("ResourceName", "") for r in e.get("Resources", [])
            ):
                found = record
        if found:
            break
        time.sleep(0.1)
    assert found, "the console's reveal is not in LookupEvents"
    assert found["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    params = {k.lower(): v for k, v in found["requestParameters"].items()}
    assert params["secretid"] == SECRET and params["versionid"] == current_version, found
    assert value not in json.dumps(found)

    # The audit page shows it too, with the timeline.
    d.get(f"{server.endpoint}/console/audit?attribute=EventName&value=GetSecretValue")
    assert d.find_element(By.ID, "timeline")
    assert "GetSecretValue" in [td.text for td in d.find_elements(By.CSS_SELECTOR, "#events td.event-name")]
    d.get(f"{server.endpoint}/console/audit")
    shot(d, "audit")

    # Parameters: a tree by path, history and labels.
    d.get(f"{server.endpoint}/console/parameters?path=/console/prod")
    go(d, d.find_element(By.LINK_TEXT, "db/"))
    names = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#parameters tbody td:first-child a")]
    assert names == ["/console/prod/db/host", "/console/prod/db/password"], names
    shot(d, "parameters")
    go(d, d.find_element(By.LINK_TEXT, "/console/prod/db/password"))
    rows = d.find_elements(By.CSS_SELECTOR, "#history-table tbody tr")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == ["2", "1"]
    assert "live" in rows[0].text and "param-secret" not in d.page_source
    go(d, rows[0].find_element(By.CSS_SELECTOR, "button.reveal"))
    assert d.find_element(By.ID, "revealed-value").text == "param-secret-2"

    # KMS keys and aliases.
    d.get(f"{server.endpoint}/console/keys")
    keys = d.find_element(By.ID, "keys").text
    assert seeded["key"] in keys and "alias/console-test" in keys and "every 365 days" in keys
    shot(d, "keys")
    d.get(f"{server.endpoint}/console/breakglass")
    assert d.find_element(By.ID, "incidents")
    shot(d, "breakglass")

    # A write as the administrator goes through.
    d.get(f"{server.endpoint}/console/secret?id=console/orders/api-key")
    d.find_element(By.ID, "new-value").send_keys("orders-key-2")
    go(d, d.find_element(By.ID, "put-submit"))
    assert "A new version was stored" in d.find_element(By.ID, "notice").text
    assert current_value(server, "console/orders/api-key") == "orders-key-2"


def test_browser_read_only_user_is_refused_a_write(server, seeded, browser):
    from selenium.webdriver.common.by import By

    akid, secret = seeded["reader"]
    d = browser
    sign_in(d, server, akid, secret)
    assert d.find_element(By.ID, "principal").text == f"arn:aws:iam::{ACCOUNT}:user/{READER}"
    # Reading is allowed.
    assert SECRET in [a.text for a in d.find_elements(By.CSS_SELECTOR, "#secrets tbody td:first-child a")]
    go(d, d.find_element(By.LINK_TEXT, SECRET))
    before = current_value(server)
    # Writing is not: the AWS error is shown, and nothing changed.
    d.find_element(By.ID, "new-value").send_keys("reader-was-here")
    go(d, d.find_element(By.ID, "put-submit"))
    error = d.find_element(By.ID, "error").text
    assert error.startswith("AccessDeniedException"), error
    assert "secretsmanager:PutSecretValue" in error, error
    assert current_value(server) == before
    shot(d, "read-only-refused")
    # Nor may it create a secret, or see parameters it has no permission for.
    d.get(f"{server.endpoint}/console/secrets")
    d.find_element(By.CSS_SELECTOR, "#create-secret summary").click()
    d.find_element(By.ID, "name").send_keys("console/by-reader")
    d.find_element(By.ID, "create-value").send_keys("x")
    go(d, d.find_element(By.ID, "create-submit"))
    assert d.find_element(By.ID, "error").text.startswith("AccessDeniedException")
    d.get(f"{server.endpoint}/console/parameters")
    assert d.find_element(By.ID, "error").text.startswith("AccessDeniedException")
    # The refusal is in the trail like an API call's.
    ct = server.client("cloudtrail")
    events = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": READER}], MaxResults=50
    )["Events"]
    refused = [json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "PutSecretValue"]
    assert refused and refused[0]["errorCode"] == "AccessDeniedException"
