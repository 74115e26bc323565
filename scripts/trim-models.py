#!/usr/bin/env python3
"""Trim botocore's service models into the copies embedded by coffer-service.

The server validates requests against the same API models the AWS SDKs are generated from
(see crates/coffer-service/src/model/). botocore ships them with full HTML documentation, which is
most of their size and useless to us, so this script keeps only what the server needs:

  * `metadata` (protocol, targetPrefix, jsonVersion, xmlNamespace, ...),
  * `operations` (name, http, input, output, errors, ...),
  * `shapes` (type, members, required, min, max, pattern, enum, sensitive, member/key/value,
    locationName, flattened, timestampFormat, error traits, exception, fault, union, ...).

Every `documentation`, `documentationUrl` and `examples` key is dropped, wherever it is.

Output format: one JSON document per service, with one operation or shape per line so a botocore
upgrade produces a readable diff. Object keys are sorted, EXCEPT the keys of a structure's
`members`: their order is the model's declaration order, which the validator uses to order its
error messages (and which serializers will want for output), so it is preserved.

Usage (from anywhere):  python3 scripts/trim-models.py
Requires botocore importable by the python3 running this script.
"""

import gzip
import json
import os
import sys

import botocore

# service name -> API version (the directory under botocore/data/<service>/).
SERVICES = {
    "kms": "2014-11-01",
    "sts": "2011-06-15",
    "secretsmanager": "2017-10-17",
    "ssm": "2014-11-06",
    "iam": "2010-05-08",
    "cloudtrail": "2013-11-01",
}

DROPPED_KEYS = {"documentation", "documentationUrl", "examples"}

OUT_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "crates", "coffer-service", "models"
)


def load_model(service, version):
    base = os.path.join(botocore.__path__[0], "data", service, version)
    plain = os.path.join(base, "service-2.json")
    if os.path.exists(plain):
        with open(plain, encoding="utf-8") as f:
            return json.load(f)
    with gzip.open(plain + ".gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def trim(node, preserve_order=False):
    """Drop documentation keys recursively; sort object keys unless told to keep their order."""
    if isinstance(node, dict):
        keys = [k for k in node if k not in DROPPED_KEYS]
        if not preserve_order:
            keys.sort()
        # Only the direct children of "members" keep their order (member declaration order).
        return {k: trim(node[k], preserve_order=(k == "members")) for k in keys}
    if isinstance(node, list):
        return [trim(v) for v in node]
    return node


def dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)


def render(model):
    """Compact JSON with one operation / shape per line (valid JSON, diff-friendly)."""
    out = ["{"]
    top_keys = sorted(model)
    for i, key in enumerate(top_keys):
        last = i == len(top_keys) - 1
        value = model[key]
        if key in ("operations", "shapes"):
            out.append(dumps(key) + ":{")
            names = sorted(value)
            for j, name in enumerate(names):
                comma = "," if j < len(names) - 1 else ""
                out.append(dumps(name) + ":" + dumps(value[name]) + comma)
            out.append("}" + ("" if last else ","))
        else:
            out.append(dumps(key) + ":" + dumps(value) + ("" if last else ","))
    out.append("}")
    return "\n".join(out) + "\n"


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    print(f"botocore {botocore.__version__} from {botocore.__path__[0]}")
    for service, version in SERVICES.items():
        model = trim(load_model(service, version))
        text = render(model)
        # Round-trip check: the output must be valid JSON equal to the trimmed model.
        if json.loads(text) != model:
            sys.exit(f"{service}: rendered JSON does not round-trip")
        path = os.path.join(OUT_DIR, f"{service}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(
            f"{service:15} {version}  {len(model['operations']):4} operations "
            f"{len(model['shapes']):5} shapes  {len(text.encode()):8} bytes -> {os.path.relpath(path)}"
        )


if __name__ == "__main__":
    main()
