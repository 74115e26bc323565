"""A write whose client goes away mid-request is still audited: the server runs a call that may
change something to its end, audit record included, whatever happens to the connection. Every
version a PutSecretValue left behind must have the PutSecretValue record that names its token."""

from __future__ import annotations

import json
import random
import socket
import time
import uuid

from coffer_harness import CofferServer
from hostile_http import build, sign

TARGET = "secretsmanager.PutSecretValue"


def _abandon_put(server: CofferServer, secret: str, token: str, wait_s: float) -> None:
    """Send a signed PutSecretValue, then close the connection without reading the answer."""
    host = f"127.0.0.1:{server.port}"
    body = json.dumps({"SecretId": secret, "SecretString": "abandoned", "ClientRequestToken": token}).encode()
    headers = sign(host, "secretsmanager", body, {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET})
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(build("POST", "/", headers, body))
        time.sleep(wait_s)
        # RST rather than FIN: the server sees the peer gone at once.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def test_a_write_abandoned_by_its_client_is_still_audited(start_server):
    server = start_server()
    sm = server.client("secretsmanager")
    sm.create_secret(Name="abandoned", SecretString="first")
    rng = random.Random(7)
    tokens = [str(uuid.uuid4()) for _ in range(80)]
    for token in tokens:
        _abandon_put(server, "abandoned", token, rng.uniform(0, 0.004))
    time.sleep(1.5)
    versions = sm.list_secret_version_ids(SecretId="abandoned", IncludeDeprecated=True)["Versions"]
    written = {v["VersionId"] for v in versions} & set(tokens)
    assert written, "no abandoned write reached the store: the test exercised nothing"

    audited: set[str] = set()
    ct = server.client("cloudtrail")
    kwargs = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "PutSecretValue"}]}
    while True:
        page = ct.lookup_events(MaxResults=50, **kwargs)
        for event in page["Events"]:
            params = json.loads(event["CloudTrailEvent"]).get("requestParameters") or {}
            audited.add(params.get("clientRequestToken") or params.get("ClientRequestToken"))
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    missing = written - audited
    assert not missing, f"{len(missing)} of {len(written)} written versions have no audit record"
