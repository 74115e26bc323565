#!/usr/bin/env python3
"""Seed a 1 KiB secret and SecureString parameter in a running coffer, and write wrk scripts that
replay one SigV4-signed request each (signed by botocore; coffer verifies the signature of every
replay — SigV4 has no nonce, and a signature stays valid for 15 minutes).

    scripts/wrk-signed.py --endpoint-url http://127.0.0.1:4566 --out DIR [--seed]

Writes DIR/get-secret-value.lua and DIR/get-parameter.lua (WithDecryption). Credentials from
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SECRET = "bench/wrk-secret"
PARAMETER = "/bench/wrk/parameter"
VALUE = "v" * 1024


def seed(endpoint: str, region: str) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=region)
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name=region)
    try:
        sm.create_secret(Name=SECRET, SecretString=VALUE)
    except sm.exceptions.ResourceExistsException:
        pass
    ssm.put_parameter(Name=PARAMETER, Value=VALUE, Type="SecureString", Overwrite=True)


def lua(endpoint: str, region: str, service: str, target: str, body: dict) -> str:
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                        os.environ.get("AWS_SESSION_TOKEN"))
    data = json.dumps(body)
    req = AWSRequest(method="POST", url=endpoint + "/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": target,
    })
    SigV4Auth(creds, service, region).add_auth(req)
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(data)}"]
    for name, value in req.headers.items():
        if name.lower() != "host":
            lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", action="store_true")
    a = ap.parse_args()
    if a.seed:
        seed(a.endpoint_url, a.region)
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    scripts = {
        "get-secret-value": ("secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": SECRET}),
        "get-parameter": ("ssm", "AmazonSSM.GetParameter", {"Name": PARAMETER, "WithDecryption": True}),
    }
    for name, (service, target, body) in scripts.items():
        (out / f"{name}.lua").write_text(lua(a.endpoint_url, a.region, service, target, body))


if __name__ == "__main__":
    main()
