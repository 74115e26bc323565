"""How errors look on the wire, judged by botocore's own models: the member an awsJson error's
message goes in (Secrets Manager and most SSM shapes say ``Message``, KMS ``message``; KMS's
InvalidCiphertextException has none at all), the query protocol's codes and statuses, and what a
request for a service coffer does not serve gets (issue 16).

Raw requests are signed with botocore's SigV4Auth, which signs for any service name, and sent with
urllib, so nothing between coffer and the assertion reinterprets the body."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from coffer_harness import ACCESS_KEY, REGION, SECRET_KEY, CofferServer, error_code, http_status

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_MODELS: dict = {}

TARGETS = {
    "kms": "TrentService",
    "secretsmanager": "secretsmanager",
    "ssm": "AmazonSSM",
    "cloudtrail": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
}


def model(service: str):
    if service not in _MODELS:
        _MODELS[service] = botocore.session.get_session().get_service_model(service)
    return _MODELS[service]


def send(method: str, url: str, signing_name: str, body: bytes = b"", headers: dict | None = None):
    """Sign for ``signing_name`` and send; (status, lower-cased headers, body text)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), signing_name, REGION).add_auth(request)
    req = urllib.request.Request(url, data=body or None, headers=dict(request.headers.items()), method=method)
    try:
        with _OPENER.open(req, timeout=10) as resp:
            status, got, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, got, raw = err.code, err.headers, err.read()
    return status, {k.lower(): v for k, v in got.items()}, raw.decode(errors="replace")


def json_call(server: CofferServer, service: str, operation: str, payload, signing_name: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return send(
        "POST",
        f"{server.endpoint}/",
        signing_name or service,
        body,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{TARGETS.get(service, service)}.{operation}"},
    )


def query_call(server: CofferServer, service: str, params: dict):
    return send(
        "POST",
        f"{server.endpoint}/",
        service,
        urllib.parse.urlencode(params).encode(),
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )


def declared_message_member(service: str, code: str) -> str | None:
    """The message member botocore's model declares for error ``code``; None when the model has
    the shape but no message member, or no such shape (a common error)."""
    try:
        shape = model(service).shape_for(code)
    except Exception:  # botocore.model.NoShapeFoundError
        return None
    return next((m for m in ("Message", "message") if m in shape.members), None)


# Errors of every awsJson service, each triggered for real. Both spellings and memberless shapes.
JSON_CASES = [
    ("secretsmanager", "GetSecretValue", {"SecretId": "wire/missing"}, "ResourceNotFoundException"),
    ("secretsmanager", "ListSecrets", {"NextToken": "garbage-token"}, "InvalidNextTokenException"),
    ("secretsmanager", "DescribeSecret", b"{not json", "SerializationException"),
    ("kms", "DescribeKey", {"KeyId": str(uuid.UUID(int=7))}, "NotFoundException"),
    ("kms", "Decrypt", {"CiphertextBlob": "AAECAwQFBgcICQ=="}, "InvalidCiphertextException"),
    ("ssm", "GetParameter", {"Name": "/wire/missing"}, "ParameterNotFound"),
    ("ssm", "AddTagsToResource", {"ResourceType": "Document", "ResourceId": "d", "Tags": [{"Key": "a", "Value": "b"}]}, "InvalidResourceType"),
    ("ssm", "DeleteResourcePolicy", {"ResourceArn": "arn:aws:ssm:us-east-1:000000000000:parameter/wire-none", "PolicyId": "p", "PolicyHash": "h"}, None),
    ("cloudtrail", "LookupEvents", {"LookupAttributes": [{"AttributeKey": "Nope", "AttributeValue": "x"}]}, None),
]


@pytest.mark.parametrize("service,operation,payload,expected_code", JSON_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_awsjson_errors_render_the_models_message_member(server: CofferServer, service, operation, payload, expected_code):
    status, headers, text = json_call(server, service, operation, payload)
    assert 400 <= status < 500, text
    body = json.loads(text)
    code = body["__type"]
    if expected_code is not None:
        assert code == expected_code, body
    assert headers["x-amzn-errortype"] == code
    # Codes that are modelled must be errors the model lists for this operation (or common ones).
    listed = {s.name for s in model(service).operation_model(operation).error_shapes}
    assert code in listed or declared_message_member(service, code) is None, (code, listed)
    if code == "InvalidCiphertextException":
        # AWS sends this one without any message member.
        assert body == {"__type": code}, body
        return
    member = declared_message_member(service, code) or "message"
    # A message, if there is one (AWS sends ParameterNotFound without), under the model's name.
    assert set(body) - {"__type"} <= {member}, (service, code, body)
    assert all(body[k] for k in body), body


def test_secrets_manager_message_is_capitalised_for_sdks_that_read_the_model(server: CofferServer):
    status, _, text = json_call(server, "secretsmanager", "GetSecretValue", {"SecretId": "wire/none"})
    assert status == 400
    body = json.loads(text)
    assert "Message" in body and "message" not in body, body
    assert "can't find the specified secret" in body["Message"]


def query_error(text: str) -> dict:
    fields = {tag: re.search(f"<{tag}>(.*?)</{tag}>", text, re.S) for tag in ("Type", "Code", "Message")}
    return {k: (m.group(1) if m else None) for k, m in fields.items()}


QUERY_CASES = [
    ("iam", {"Action": "GetUser", "Version": "2010-05-08", "UserName": "wire-nobody"}, "NoSuchEntityException"),
    ("iam", {"Action": "CreateUser", "Version": "2010-05-08", "UserName": "bad name!"}, None),
    ("sts", {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::000000000000:role/none", "RoleSessionName": "wire"}, None),
]


@pytest.mark.parametrize("service,params,shape", QUERY_CASES)
def test_query_errors_carry_the_models_code_and_status(server: CofferServer, service, params, shape):
    status, headers, text = query_call(server, service, params)
    err = query_error(text)
    assert err["Message"], text
    assert headers["x-amzn-errortype"] == err["Code"]
    assert err["Type"] == ("Sender" if status < 500 else "Receiver")
    if shape is not None:
        meta = model(service).shape_for(shape).metadata["error"]
        assert (err["Code"], status) == (meta["code"], meta["httpStatusCode"]), text


@pytest.mark.parametrize("service,version", [("sts", "2011-06-15"), ("iam", "2010-05-08")])
def test_an_unknown_query_action_is_worded_as_aws_words_it(server: CofferServer, service, version):
    status, _, text = query_call(server, service, {"Action": "NoSuchAction", "Version": version})
    err = query_error(text)
    assert (status, err["Code"]) == (400, "InvalidAction"), text
    assert err["Message"] == f"Could not find operation NoSuchAction for version {version}", text


# -- services coffer does not serve -------------------------------------------------------------

SERVED = "kms, secretsmanager, ssm, cloudtrail, coffer, sts, iam"


def test_sdk_clients_of_unserved_services_are_told_so(server: CofferServer):
    session = server.session()
    cases = [
        ("lambda", lambda c: c.list_functions(), "UnknownOperationException"),  # REST-JSON
        ("dynamodb", lambda c: c.list_tables(), "UnknownOperationException"),  # awsJson 1.0
        ("sqs", lambda c: c.list_queues(), None),  # awsJson (new SDKs) or query (old ones)
        ("s3", lambda c: c.list_buckets(), "InvalidAction"),  # REST-XML
    ]
    for name, call, code in cases:
        client = session.client(name, endpoint_url=server.endpoint, region_name=REGION)
        with pytest.raises(ClientError) as e:
            call(client)
        if code is not None:
            assert error_code(e.value) == code, (name, e.value.response)
        assert http_status(e.value) == 400, (name, e.value.response)
        message = e.value.response["Error"]["Message"]
        assert f"The service {name} is not supported by coffer" in message, (name, message)


def test_raw_requests_signed_for_unserved_services(server: CofferServer):
    # awsJson with a target prefix coffer does not know, signed for dynamodb.
    status, headers, text = send(
        "POST",
        f"{server.endpoint}/",
        "dynamodb",
        b"{}",
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
    )
    assert status == 400, text
    body = json.loads(text)
    assert body == {
        "__type": "UnknownOperationException",
        "message": f"The service dynamodb is not supported by coffer (it serves {SERVED}).",
    }
    assert headers["x-amzn-errortype"] == "UnknownOperationException"

    # The query protocol, signed for sqs.
    status, headers, text = query_call(server, "sqs", {"Action": "ListQueues", "Version": "2012-11-05"})
    err = query_error(text)
    assert (status, err["Code"], err["Type"]) == (400, "InvalidAction", "Sender"), text
    assert err["Message"] == f"The service sqs is not supported by coffer (it serves {SERVED}).", text

    # REST-JSON, signed for lambda.
    status, _, text = send("GET", f"{server.endpoint}/2015-03-31/functions/", "lambda")
    assert status == 400, text
    assert json.loads(text)["__type"] == "UnknownOperationException", text

    # A served target signed for another service is still a signature problem, as on AWS.
    status, _, text = json_call(server, "kms", "ListKeys", {}, signing_name="lambda")
    assert (status, json.loads(text)["__type"]) == (400, "InvalidSignatureException"), text
