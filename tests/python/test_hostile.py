"""A hostile client (issue 17): tens of thousands of mutated requests against a spawned server.

Requests are generated from the botocore models of every service coffer serves (inputs of every
operation, mostly well-formed, often not), then mutated at every level: the JSON or form body
(bit flips, truncation, invalid UTF-8, deep nesting, huge documents, type confusion), the headers
(bad, duplicated and oversized ``X-Amz-Target``, ``Authorization``, ``Content-Type``; bytes
that are not text), the HTTP framing (wrong, huge and duplicated ``Content-Length``, broken
chunked encoding, garbage request lines) and the signature (re-signed after mutation, so the
mutation reaches the decoders and validators; or signed first and mutated after, or replayed).
Everything comes from seeded RNGs, one per worker, so a run's requests are reproducible.

What must hold: no answer is a 5xx, the server never dies, its memory stays bounded, no
connection hangs, every error to a well-formed HTTP request is AWS-shaped (``x-amzn-ErrorType``),
and ordinary boto3 calls work afterwards. Connection-level garbage may get a 400 from the HTTP
layer or a closed connection: that is fine.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path

import botocore.model
import botocore.session
import pytest

from coffer_harness import CofferServer, make_client, make_session
from hostile_http import Answer, Connection, build, sign, vm_rss_kib

SEED = int(os.environ.get("COFFER_HOSTILE_SEED", "1717"))
# Issue 17 asks for at least 20,000 mutated requests: COFFER_HOSTILE_REQUESTS may raise the
# count, and a lower one fails the test rather than passing a smaller run.
TOTAL = int(os.environ.get("COFFER_HOSTILE_REQUESTS", "20000"))
WORKERS = 4
SOCKET_TIMEOUT = 20.0
# RotateSecret waits up to 10 s for its rotation: slower than that is a hang.
SLOW = 12.0
RSS_LIMIT_KIB = 300 * 1024
RSS_GROWTH_LIMIT_KIB = 150 * 1024
MAX_BODY = 1024 * 1024
KNOWN_LIMIT = 4000

JSON_SERVICES = {
    # botocore name: (signing name, target prefix)
    "secretsmanager": ("secretsmanager", "secretsmanager"),
    "kms": ("kms", "TrentService"),
    "ssm": ("ssm", "AmazonSSM"),
    "cloudtrail": ("cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"),
}
QUERY_SERVICES = {"sts": "2011-06-15", "iam": "2010-05-08"}
ADMIN_OPERATIONS = [
    "CreateAccount", "ListAccounts", "CreateRotationFunction", "ListRotationFunctions",
    "DeleteRotationFunction", "DescribeRotation", "RequestBreakGlass", "ApproveBreakGlass",
    "GetBreakGlassCredentials", "RevokeBreakGlass", "GetBreakGlassReport", "RunBreakGlassDrill",
]
# Operations that would take the test's own credentials away (a fuzzer guessing the root key id
# is not the point), or reach out to the network.
EXCLUDED = {
    ("iam", "DeleteAccessKey"), ("iam", "UpdateAccessKey"),
    ("iam", "CreateOpenIDConnectProvider"), ("iam", "UpdateOpenIDConnectProviderThumbprint"),
}

ACCOUNT = "000000000000"
WEIRD_STRINGS = [
    "", " ", "\x00", "\x00\x01\x02", "\u202e", "\ufeff", "😀" * 40, "a" * 2049, "a" * 70000,
    "../../etc/passwd", "%00", "%s%s%n", "' OR 1=1 --", "\\", "\"", "{", "}", "[]", "null",
    "arn:aws:secretsmanager:us-east-1:000000000000:secret:", "arn:aws:kms:us-east-1:000000000000:key/",
    "arn:", "arn:aws:iam::999999999999:root", "alias/", "alias/aws/secretsmanager", "alias/aws/ssm",
    "/", "//", "/a//b", "a" * 256, "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS", "*", "?", "\r\n",
    "rate(1 hours)", "cron(0 0 * * ? *)", "cron(", "rate(0 days)", "1h", "25h",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AQIDBAUGBwgJ", "=", "====", "AQ==",
    "\udcff".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "\u0000" * 100, "true", "false", "-1", "1e400", "NaN",
]


# -- the corpus the generator draws names from ---------------------------------------------


class Known:
    """Names, ARNs and ids of real resources created before the run, so generated requests hit
    existing secrets, keys and parameters (deep into the handlers), not only NotFound."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.lock = threading.Lock()

    def add(self, *values: str) -> None:
        with self.lock:
            for v in values:
                if not v:
                    continue
                if len(self.values) < KNOWN_LIMIT:
                    self.values.append(v)
                else:
                    self.values[hash(v) % KNOWN_LIMIT] = v

    def harvest(self, document) -> None:
        """Every short string of an answer (ARNs, version ids, grant tokens, NextTokens): the
        generator sends them back, as they are or mutated."""
        if isinstance(document, dict):
            for v in document.values():
                self.harvest(v)
        elif isinstance(document, list):
            for v in document[:20]:
                self.harvest(v)
        elif isinstance(document, str) and 0 < len(document) <= 4096:
            self.add(document)

    def pick(self, rng: random.Random) -> str:
        return rng.choice(self.values) if self.values else "x"


def policy_document(rng: random.Random, known: Known) -> str:
    """An IAM-style policy, mostly well-formed, in random variations."""
    statement = {
        "Effect": rng.choice(["Allow", "Deny", "Maybe", 1, None]),
        "Principal": rng.choice([
            "*", {"AWS": "*"}, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, {"AWS": ["x", 1]},
            {"Service": "lambda.amazonaws.com"}, {"Federated": known.pick(rng)}, [], 7,
        ]),
        "Action": rng.choice(["*", "secretsmanager:*", "kms:Decrypt", ["ssm:Get*", "iam:*"], "", 3]),
        "Resource": rng.choice(["*", known.pick(rng), ["*", "arn:aws:*:*:*:*"], {}]),
    }
    if rng.random() < 0.5:
        op = rng.choice([
            "StringEquals", "StringLike", "ArnLike", "IpAddress", "NumericLessThan", "DateGreaterThan",
            "Bool", "Null", "ForAnyValue:StringLike", "ForAllValues:StringEquals",
            "StringEqualsIfExists", "BinaryEquals", "Nonsense",
        ])
        key = rng.choice(["aws:SourceIp", "aws:SecureTransport", "aws:PrincipalTag/${aws:username}",
                          "aws:CurrentTime", "kms:EncryptionContext:x", "secretsmanager:Name", "${"])
        statement["Condition"] = {op: {key: rng.choice(["10.0.0.0/8", "::/0", "true", "${aws:userid}",
                                                         ["a", "b"], 5, "2020-01-01T00:00:00Z", "${${${"])}}
    if rng.random() < 0.2:
        statement["NotAction"] = statement.pop("Action")
    doc = {"Version": rng.choice(["2012-10-17", "2008-10-17", "1999"]), "Statement": rng.choice([[statement], statement, [statement] * 3])}
    text = json.dumps(doc)
    if rng.random() < 0.2:
        text = mutate_bytes(rng, text.encode()).decode("utf-8", "replace")
    if rng.random() < 0.05:
        depth = rng.choice([64, 127, 128, 129, 2000])
        text = '{"Version":"2012-10-17","Statement":' + "[" * depth + "]" * depth + "}"
    return text


class Generator:
    """Values for botocore shapes: within the constraints most of the time, outside them often."""

    def __init__(self, rng: random.Random, known: Known) -> None:
        self.rng = rng
        self.known = known
        # Tame: required members and a few optional ones, values within their constraints,
        # names of real resources; the calls mostly succeed and reach deep into the handlers.
        self.tame = False

    def string(self, shape) -> str:
        rng = self.rng
        name = shape.name.lower()
        meta = shape.metadata
        enum = getattr(shape, "enum", None)
        if enum and rng.random() < 0.8:
            return rng.choice(enum)
        if "policy" in name and rng.random() < 0.7:
            return policy_document(rng, self.known)
        if self.tame and ("min" in meta or "max" in meta or "pattern" in meta) and rng.random() < 0.3:
            lo, hi = meta.get("min", 1), min(meta.get("max", 32), 32)
            return "".join(rng.choice("abcdefghij0123") for _ in range(rng.randint(lo, max(lo, hi))))
        roll = rng.random() * (0.4 if self.tame else 1.0)
        if roll < 0.3:
            return self.known.pick(rng)
        if roll < 0.35:
            return mutate_bytes(rng, self.known.pick(rng).encode()).decode("utf-8", "replace")
        if roll < 0.5:
            return rng.choice(WEIRD_STRINGS)
        if roll < 0.6:
            return json.dumps({"username": "u", "password": "p" * rng.randrange(40), "engine": rng.choice(["none", "x"])})
        lo = meta.get("min", 0)
        hi = min(meta.get("max", 64), 300)
        n = rng.randint(max(0, lo - 1), max(lo, hi + 1))
        alphabet = rng.choice([
            "abcdefghijklmnopqrstuvwxyz0123456789",
            "abcXYZ0123456789/_+=.@-",
            "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \t",
            "aé中😀\u200b\u0000",
        ])
        return "".join(rng.choice(alphabet) for _ in range(n))

    def value(self, shape, depth: int = 0):
        rng = self.rng
        if not self.tame and rng.random() < 0.04:
            return self.confused(depth)
        t = shape.type_name
        if t == "structure":
            out = {}
            required = set(shape.required_members)
            for member, sub in shape.members.items():
                if member in required and (self.tame or rng.random() < 0.95) or rng.random() < (0.15 if self.tame else 0.35):
                    if depth > 6:
                        continue
                    out[member] = self.value(sub, depth + 1)
            if not self.tame and rng.random() < 0.05:
                out[self.string(shape)[:20] or "Extra"] = self.confused(depth)
            return out
        if t == "list":
            n = rng.choice([0, 1, 1, 2, 3, 5]) if rng.random() < 0.95 else rng.randint(20, 120)
            return [self.value(shape.member, depth + 1) for _ in range(n)] if depth < 6 else []
        if t == "map":
            n = rng.choice([0, 1, 2, 3]) if rng.random() < 0.95 else rng.randint(20, 80)
            return {self.string(shape.key): self.value(shape.value, depth + 1) for _ in range(n)} if depth < 6 else {}
        if t == "string":
            return self.string(shape)
        if t in ("integer", "long"):
            lo, hi = shape.metadata.get("min", -5), shape.metadata.get("max", 100000)
            if self.tame:
                return rng.randint(int(lo), int(min(hi, max(lo, 100))))
            return rng.choice([rng.randint(int(lo), int(hi)), lo - 1, hi + 1, 0, -1, 2**31, 2**63, 2**64 + 1, -(2**63) - 1, 1.5, 10**30])
        if t == "boolean":
            return rng.choice([True, False, True, "true", 0, None])
        if t == "timestamp":
            return rng.choice([time.time(), 0, -1, 1e20, "2024-01-01T00:00:00Z", "yesterday", 2**63, 1.5e9])
        if t == "blob":
            raw = rng.randbytes(rng.choice([0, 1, 16, 32, 100, 500, 4096]))
            if rng.random() < 0.3 and self.known.values:
                raw = self.known.pick(self.rng).encode()
            b64 = base64.b64encode(raw).decode()
            return rng.choice([b64, b64, b64[:-1], "!!notbase64!!", b64 + "=", "", "AQ=="])
        if t in ("float", "double"):
            return rng.choice([0.0, -1.5, 1e308, 3.14])
        return self.confused(depth)

    def confused(self, depth: int):
        rng = self.rng
        return rng.choice([
            None, True, 0, -1, 2**64, 1.25e300, "", "x" * rng.randrange(1, 3000), [], {}, [None],
            {"a": {"b": [1, "2", None]}}, [[[[[]]]]] if depth < 4 else 1, {"": ""},
        ])


# -- mutations -----------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """One or a few byte-level mutations: bit flips, truncation, invalid UTF-8, splices."""
    b = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 3, 8])):
        kind = rng.randrange(9)
        if not b:
            b = bytearray(b"{")
        pos = rng.randrange(len(b))
        if kind == 0:  # bit flip
            b[pos] ^= 1 << rng.randrange(8)
        elif kind == 1:  # truncation
            del b[pos:]
        elif kind == 2:  # invalid UTF-8
            b[pos:pos] = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80"])
        elif kind == 3:  # delete a slice
            del b[pos:pos + rng.randrange(1, 16)]
        elif kind == 4:  # duplicate a slice
            end = min(len(b), pos + rng.randrange(1, 64))
            b[pos:pos] = b[pos:end] * rng.randrange(1, 10)
        elif kind == 5:  # a structural character
            b[pos:pos] = rng.choice([b"{", b"}", b"[", b"]", b'"', b",", b":", b"\\", b"\\u", b"\\ud800", b"\x00", b"%", b"&", b"="])
        elif kind == 6:  # random bytes
            b[pos:pos + rng.randrange(1, 8)] = rng.randbytes(rng.randrange(1, 8))
        elif kind == 7:  # a number where something else was
            b[pos:pos] = rng.choice([b"1e999999", b"-0", b"18446744073709551616", b"0.0000000000000000001e-400", b"NaN", b"Infinity"])
        else:  # a byte replaced with a random one
            b[pos] = rng.randrange(256)
    return bytes(b)


def deep_json(rng: random.Random) -> bytes:
    depth = rng.choice([100, 127, 128, 129, 500, 5000, 200000])
    kind = rng.randrange(3)
    if kind == 0:
        return b"[" * depth + b"]" * depth
    if kind == 1:
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b'{"SecretId":' + b"[" * depth + b"]" * (depth if rng.random() < 0.5 else 0) + b"}"


def huge_json(rng: random.Random, member: str) -> bytes:
    """Near or over the 1 MiB body cap, in shapes that cost a parser: one long string, many
    members, long arrays, many small numbers."""
    size = rng.choice([200_000, MAX_BODY - 200, MAX_BODY - 10, MAX_BODY + 1, 3 * MAX_BODY])
    kind = rng.randrange(5)
    if kind == 0:
        return json.dumps({member: "x" * size}).encode()
    if kind == 1:
        n = size // 12
        return ("{" + ",".join(f'"k{i}":{i}' for i in range(n)) + "}").encode()
    if kind == 2:
        return ("[" + ",".join("1" for _ in range(size // 2)) + "]").encode()
    if kind == 3:
        return json.dumps({member: [{"Key": "k" * 10, "Value": "v" * 10}] * (size // 34)}).encode()
    return ('{"' + member + '":"' + "\\u0041" * (size // 6) + '"}').encode()


def form_encode(params: dict, prefix: str = "") -> list[tuple[str, str]]:
    """A JSON-shaped input in the query protocol's form: ``A.B``, ``L.member.N``, ``M.entry.N.key``."""
    out: list[tuple[str, str]] = []
    if isinstance(params, dict):
        for k, v in params.items():
            out.extend(form_encode(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(params, list):
        for i, v in enumerate(params, 1):
            out.extend(form_encode(v, f"{prefix}.member.{i}"))
    elif params is None:
        out.append((prefix, ""))
    elif isinstance(params, bool):
        out.append((prefix, "true" if params else "false"))
    else:
        out.append((prefix, str(params)))
    return out


def http_well_formed(data: bytes) -> bool:
    """Whether a request's head is valid HTTP/1.1 as far as field values go: no control
    characters (RFC 9110 5.5), which the HTTP layer refuses before coffer sees the request."""
    head = data.split(b"\r\n\r\n", 1)[0]
    if any(b"\r" in line or b"\n" in line or (i and b":" not in line) for i, line in enumerate(head.split(b"\r\n"))):
        return False
    return not any(b < 0x20 and b not in (0x09, 0x0D, 0x0A) or b == 0x7F for b in head)


class Worker:
    """One client thread: its own RNG, its own keep-alive connection, a fresh one when needed."""

    def __init__(self, index: int, server: CofferServer, plan: "Plan", count: int) -> None:
        self.rng = random.Random(f"{SEED}-{index}")
        self.gen = Generator(self.rng, plan.known)
        self.plan = plan
        self.host = f"127.0.0.1:{server.port}"
        self.port = server.port
        self.count = count
        self.conn = Connection("127.0.0.1", server.port, SOCKET_TIMEOUT)
        self.sent = 0
        self.kinds: Counter = Counter()
        self.statuses: Counter = Counter()
        self.codes: Counter = Counter()
        self.failures: list[str] = []
        self.slow: list[str] = []
        self.replays: list[bytes] = []

    # The request kinds, with their weights.
    def run(self) -> None:
        kinds = [
            (self.signed_valid, 30), (self.signed_mutated, 22), (self.signed_then_mutated, 5),
            (self.replay, 4), (self.header_mutation, 12), (self.bad_target, 5),
            (self.framing, 9), (self.query_protocol, 10), (self.huge_or_deep, 3),
        ]
        funcs = [k for k, _ in kinds]
        weights = [w for _, w in kinds]
        try:
            while self.sent < self.count:
                kind = self.rng.choices(funcs, weights)[0]
                kind()
        finally:
            self.conn.close()

    # -- sending and checking ---------------------------------------------------------------

    def send(self, kind: str, data: bytes, *, fresh: bool = False, half_close: bool = False,
             well_formed: bool = True, method: str = "POST") -> Answer | None:
        self.sent += 1
        self.kinds[kind] += 1
        well_formed = well_formed and http_well_formed(data)
        conn = Connection("127.0.0.1", self.port, SOCKET_TIMEOUT) if fresh else self.conn
        started = time.monotonic()
        try:
            answer = conn.exchange(data, half_close=half_close, method=method)
        except TimeoutError as e:
            self.failures.append(f"{kind}: no answer within {SOCKET_TIMEOUT:.0f} s ({e}): {data[:300]!r}")
            return None
        except ConnectionRefusedError:
            self.failures.append(f"{kind}: connection refused (is the server dead?)")
            return None
        finally:
            if fresh:
                conn.close()
        took = time.monotonic() - started
        if took > SLOW:
            self.slow.append(f"{kind}: {took:.1f} s: {data[:200]!r}")
        self.statuses[answer.status] += 1
        if answer.status == 200 and answer.body[:1] == b"{" and self.rng.random() < 0.5:
            try:
                self.plan.known.harvest(json.loads(answer.body))
            except ValueError:
                pass
        self.codes[(kind, answer.headers.get("x-amzn-errortype", str(answer.status)))] += 1
        if answer.status >= 500:
            self.failures.append(f"{kind}: HTTP {answer.status} {answer.body[:300]!r} for {data[:600]!r}")
        elif well_formed and 400 <= answer.status < 500 and answer.status != 431:
            if "x-amzn-errortype" not in answer.headers:
                self.failures.append(f"{kind}: HTTP {answer.status} without x-amzn-ErrorType: {answer.body[:200]!r} for {data[:300]!r}")
        return answer

    # -- request material ------------------------------------------------------------------

    def json_request(self) -> tuple[str, str, dict]:
        """(signing name, target, input document) for a random operation of a JSON service."""
        rng = self.rng
        if rng.random() < 0.04:
            op = rng.choice(ADMIN_OPERATIONS)
            doc = {k: self.gen.confused(0) if rng.random() < 0.3 else self.known_or_weird()
                   for k in rng.sample(["AccountId", "FunctionName", "Url", "TimeoutSeconds", "SecretId",
                                        "Reason", "IncidentId", "Alias", "Role", "Duration", "Resources"], rng.randrange(4))}
            return "coffer", f"coffer.admin.{op}", doc
        service = rng.choice(self.plan.json_ops_weighted)
        signing, prefix = JSON_SERVICES[service]
        op = rng.choice(self.plan.json_ops[service])
        shape = self.plan.input_shape(service, op)
        doc = self.gen.value(shape) if shape is not None else {}
        if not isinstance(doc, dict):
            doc = {"x": doc}
        return signing, f"{prefix}.{op}", doc

    def known_or_weird(self) -> str:
        return self.plan.known.pick(self.rng) if self.rng.random() < 0.5 else self.rng.choice(WEIRD_STRINGS)

    def json_headers(self, target: str) -> dict[str, str]:
        ct = self.rng.choice(["application/x-amz-json-1.1"] * 8 + ["application/json", "text/plain", "", "application/x-amz-json-1.0; charset=\xff"])
        h = {"X-Amz-Target": target}
        if ct:
            h["Content-Type"] = ct
        return h

    def signed(self, signing: str, body: bytes, headers: dict, **kw) -> list[tuple[str, str]]:
        return sign(self.host, signing, body, headers, **kw)

    # -- kinds -----------------------------------------------------------------------------

    def signed_valid(self) -> None:
        self.gen.tame = self.rng.random() < 0.6
        try:
            signing, target, doc = self.json_request()
        finally:
            self.gen.tame = False
        body = json.dumps(doc).encode()
        if len(body) > MAX_BODY:
            body = body[:MAX_BODY]
        headers = self.signed(signing, body, self.json_headers(target))
        data = build("POST", "/", headers, body)
        if len(self.replays) < 200 and self.rng.random() < 0.1:
            self.replays.append(data)
        self.send("signed", data)

    def signed_mutated(self) -> None:
        signing, target, doc = self.json_request()
        body = mutate_bytes(self.rng, json.dumps(doc).encode())[:MAX_BODY]
        headers = self.signed(signing, body, self.json_headers(target))
        self.send("re-signed mutation", build("POST", "/", headers, body))

    def signed_then_mutated(self) -> None:
        signing, target, doc = self.json_request()
        body = json.dumps(doc).encode()[:MAX_BODY]
        headers = self.signed(signing, body, self.json_headers(target))
        if self.rng.random() < 0.5:
            body = mutate_bytes(self.rng, body)
        else:  # the signature itself, or the date, mutated
            which = self.rng.choice(["authorization", "x-amz-date"])
            i = next(i for i, (k, _) in enumerate(headers) if k.lower() == which)
            k, v = headers[i]
            headers[i] = (k, mutate_bytes(self.rng, v.encode()).decode("latin-1"))
        self.send("mutated after signing", build("POST", "/", headers, body))

    def replay(self) -> None:
        if not self.replays:
            return self.signed_valid()
        data = self.rng.choice(self.replays)
        self.send("replay", data)

    def header_mutation(self) -> None:
        rng = self.rng
        signing, target, doc = self.json_request()
        body = json.dumps(doc).encode()[:MAX_BODY]
        headers: list = self.signed(signing, body, self.json_headers(target))
        well_formed = True
        fresh = False
        kind = rng.randrange(9)
        if kind == 0:  # a duplicated header, same or different value
            i = rng.randrange(len(headers))
            k, v = headers[i]
            headers.insert(rng.randrange(len(headers) + 1), (k, v if rng.random() < 0.5 else mutate_bytes(rng, v.encode()).decode("latin-1")))
        elif kind == 1:  # an oversized header value
            fresh = True
            well_formed = False
            size = rng.choice([8 * 1024, 64 * 1024, 200 * 1024, 1024 * 1024])
            name = rng.choice(["X-Amz-Target", "Authorization", "X-Junk", "User-Agent", "Host"])
            headers.append((name, "A" * size))
        elif kind == 2:  # very many headers
            fresh = True
            well_formed = False
            headers.extend((f"X-Many-{i}", "v") for i in range(rng.choice([90, 101, 500, 5000])))
        elif kind == 3:  # bytes that are not text in a header value
            i = rng.randrange(len(headers))
            k, v = headers[i]
            headers[i] = (k, v.encode() + rng.choice([b"\xff\xfe", b"\x80", b"\xc3\x28", b"\x01\x7f"]))
        elif kind == 4:  # a mangled Authorization header
            i = next(i for i, (k, _) in enumerate(headers) if k == "Authorization")
            v = headers[i][1]
            headers[i] = ("Authorization", rng.choice([
                v[: rng.randrange(len(v))], v.replace("Credential=", "Credential=" * 3), "AWS4-HMAC-SHA256",
                "AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=, Signature=",
                v.replace("SignedHeaders=", "SignedHeaders=x-amz-target;;;"), v + ", " + v, "Bearer x", v.replace(",", ",,,"),
                "AWS4-HMAC-SHA256 Credential=" + "A/" * 3000, v.replace("us-east-1", rng.choice(["", "x" * 300, "us-east-1/../", "\u00e9"])),
            ]))
        elif kind == 5:  # headers removed
            drop = rng.choice(["host", "x-amz-date", "content-type", "x-amz-target", "authorization"])
            headers = [(k, v) for k, v in headers if k.lower() != drop]
        elif kind == 6:  # header names of odd case or odd characters
            headers = [(k.upper() if rng.random() < 0.5 else k.lower(), v) for k, v in headers]
            if rng.random() < 0.3:
                headers.append(("X-Amz-Security-Token", rng.choice(["", "garbage", "AQ" * 500, base64.b64encode(rng.randbytes(200)).decode()])))
        elif kind == 7:  # presigned-style query parameters on top of the header signature
            q = urllib.parse.urlencode({
                "X-Amz-Algorithm": rng.choice(["AWS4-HMAC-SHA256", "x"]),
                "X-Amz-Credential": rng.choice(["AKIACOFFERTESTKEY000/20240101/us-east-1/kms/aws4_request", "a/b", "/" * 10]),
                "X-Amz-Date": rng.choice(["20240101T000000Z", "x", ""]),
                "X-Amz-Expires": rng.choice(["0", "-1", "604801", "99999999999999999999", "x"]),
                "X-Amz-SignedHeaders": rng.choice(["host", "", ";;"]),
                "X-Amz-Signature": rng.choice(["00" * 32, "zz", ""]),
            })
            self.send("header mutation", build("POST", "/?" + q, headers, body))
            return
        else:  # a Content-Type of all kinds
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", rng.choice(["multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "\xff", "a" * 5000, ";;;"])))
        self.send("header mutation", build("POST", "/", headers, body), fresh=fresh, well_formed=well_formed)

    def bad_target(self) -> None:
        rng = self.rng
        signing, target, doc = self.json_request()
        body = json.dumps(doc).encode()[:MAX_BODY]
        prefix, _, op = target.rpartition(".")
        bad = rng.choice([
            "", ".", "..", prefix, f"{prefix}.", f".{op}", f"{prefix}.{op}.{op}", f"{prefix}..{op}",
            f"{prefix}.{op.lower()}", f"{prefix.upper()}.{op}", f"{prefix}.{op}\x00", f"{prefix}.{op} ",
            f"{prefix}.{'A' * 5000}", "TrentService.CreateSecret", "secretsmanager.Decrypt",
            "coffer.admin.", "coffer.admin.CreateAccount.x", "AmazonSSM.Describe*", "DynamoDB_20120810.ListTables",
            "lambda.Invoke", f"{prefix}.{op}é", "%41mazonSSM.GetParameter", "x" * 100,
        ])
        signing = rng.choice([signing, signing, "lambda", "s3", "sts", "iam", "", "coffer", "kms"])
        headers = self.signed(signing or "x", body, {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": bad})
        self.send("bad X-Amz-Target", build("POST", "/", headers, body))

    def framing(self) -> None:
        """HTTP-level garbage, each on a fresh connection: the server may answer 400 or close."""
        rng = self.rng
        signing, target, doc = self.json_request()
        body = json.dumps(doc).encode()[:MAX_BODY]
        headers = self.signed(signing, body, self.json_headers(target))
        kind = rng.randrange(12)
        half = False
        if kind == 0:  # Content-Length larger than the body, then our side closes
            data = build("POST", "/", headers + [("Content-Length", str(len(body) + rng.randrange(1, 1000)))], body)
            half = True
        elif kind == 1:  # Content-Length smaller than the body: the rest looks like the next request
            data = build("POST", "/", headers + [("Content-Length", str(rng.randrange(0, max(1, len(body)))))], body)
        elif kind == 2:  # huge or unparsable Content-Length
            cl = rng.choice(["1099511627776", "18446744073709551616", "99999999999999999999999999", "-1", "1e3", "0x10", " 10", "10 ", "+10", "", "abc"])
            data = build("POST", "/", headers + [("Content-Length", cl)], body)
            half = True
        elif kind == 3:  # two different Content-Lengths
            data = build("POST", "/", headers + [("Content-Length", str(len(body))), ("Content-Length", str(len(body) + 1))], body)
        elif kind == 4:  # chunked, well-formed or broken
            chunks = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
            chunks = rng.choice([chunks, mutate_bytes(rng, chunks), b"ffffffffffffffff\r\n" + body, b"zz\r\n\r\n", chunks[:-5]])
            extra = [("Transfer-Encoding", rng.choice(["chunked", "chunked, chunked", "gzip, chunked", "identity", "xchunked"]))]
            if rng.random() < 0.5:
                extra.append(("Content-Length", str(len(body))))
            data = build("POST", "/", headers + extra, chunks, content_length=False)
            half = True
        elif kind == 5:  # the request line mutated
            data = mutate_bytes(rng, build("POST", "/", headers, body)[:60]) + build("POST", "/", headers, body)[60:]
            half = True
        elif kind == 6:  # odd methods, paths and versions
            method = rng.choice(["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "FOO", "G\x00T", "post"])
            path = rng.choice(["/", "//", "/health", "/health/../", "*", "/" + "a" * 20000, "/%00", "/%zz", "http://x/", "/?" + "a=b&" * 3000, "/\xff"])
            version = rng.choice([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9.9", b"HTTP/1.1x", b""])
            data = build(method.encode("latin-1"), path.encode("latin-1"), headers, body, version=version)
            half = True
        elif kind == 7:  # random bytes
            data = rng.randbytes(rng.randrange(1, 2000))
            half = True
        elif kind == 8:  # a body over the cap
            big = b"{" + b" " * (MAX_BODY + rng.randrange(1, 100000)) + b"}"
            data = build("POST", "/", headers, big)
        elif kind == 9:  # headers with no body and no end
            data = build("POST", "/", headers, b"")[:-2]
            half = True
        elif kind == 10:  # a header line without a colon, folded lines, bare LF, NUL
            raw = build("POST", "/", headers, body)
            cut = raw.index(b"\r\n") + 2
            junk = rng.choice([b"NoColonHere\r\n", b" folded continuation\r\n", b"X-A: b\nX-B: c\r\n", b"X-\x00: y\r\n", b": empty-name\r\n"])
            data = raw[:cut] + junk + raw[cut:]
            half = True
        else:  # a signed HTTP/1.0 request with keep-alive, or expect-100
            extra = rng.choice([[("Connection", "keep-alive")], [("Expect", "100-continue")], [("Connection", "close, upgrade"), ("Upgrade", "h2c")]])
            data = build("POST", "/", headers + extra, body, version=rng.choice([b"HTTP/1.0", b"HTTP/1.1"]))
            half = True
        self.send("framing", data, fresh=True, half_close=half, well_formed=False)

    def query_request(self) -> tuple[str, list[tuple[str, str]]]:
        rng = self.rng
        service = rng.choice(list(QUERY_SERVICES))
        op = rng.choice(self.plan.query_ops[service])
        shape = self.plan.input_shape(service, op)
        doc = self.gen.value(shape) if shape is not None else {}
        params = [("Action", op), ("Version", QUERY_SERVICES[service])] + form_encode(doc if isinstance(doc, dict) else {})
        return service, params

    def query_protocol(self) -> None:
        rng = self.rng
        self.gen.tame = rng.random() < 0.4
        try:
            service, params = self.query_request()
        finally:
            self.gen.tame = False
        kind = rng.randrange(8)
        if kind == 1:
            params = [(k, v) for k, v in params if k != "Action"] + rng.choice([[], [("Action", "")], [("Action", "Nope")], [("Action", "GetCallerIdentity")] * 2])
        elif kind == 2:
            params.append((f"Tags.member.{rng.choice([0, -1, 999999999, 2**40])}.Key", "k"))
            params.append((rng.choice(["a." * 2000, "Policy.member.1.member.1.member.1", "....", ".member", "Tags.entry.1.value"]), "v"))
        elif kind == 3:
            params = params * rng.choice([2, 50])
        elif kind == 4:
            params.extend((f"P{i}", "v") for i in range(rng.choice([500, 5000, 20000])))
        body = urllib.parse.urlencode(params).encode()
        if kind == 5:
            body = mutate_bytes(rng, body)
        elif kind == 6:
            body = body + rng.choice([b"&%", b"&%zz=1", b"&a=%ff%fe", b"&=", b"&&&", b"&a", b"%E2%82", b"+" * 1000])
        body = body[:MAX_BODY]
        path = "/"
        if kind == 7:  # parameters in the query string instead
            path = "/?" + body.decode("latin-1")[:6000]
            body = b""
        headers = {"Content-Type": rng.choice(["application/x-www-form-urlencoded; charset=utf-8"] * 5 + ["application/x-www-form-urlencoded", "text/xml", ""])}
        if not headers["Content-Type"]:
            headers = {}
        signing = service if rng.random() < 0.9 else rng.choice(["sts", "iam", "kms", "sns", ""]) or "x"
        try:
            signed = self.signed(signing, body, headers, path=path) if rng.random() < 0.92 else [("Host", self.host)] + list(headers.items())
        except (ValueError, UnicodeError):
            signed = [("Host", self.host)] + list(headers.items())
        self.send("query protocol", build("POST", path, signed, body))

    def huge_or_deep(self) -> None:
        rng = self.rng
        signing, target, doc = self.json_request()
        member = rng.choice(list(doc) or ["SecretId"])
        body = deep_json(rng) if rng.random() < 0.5 else huge_json(rng, member)
        headers = self.signed(signing, body, self.json_headers(target))
        over = len(body) > MAX_BODY
        self.send("huge or deep JSON", build("POST", "/", headers, body), fresh=over, well_formed=not over)


class Plan:
    """The models, the operations coffer implements (found by asking it), and known names."""

    def __init__(self) -> None:
        session = botocore.session.get_session()
        self.models = {s: session.get_service_model(s) for s in [*JSON_SERVICES, *QUERY_SERVICES]}
        self.known = Known()
        self.json_ops: dict[str, list[str]] = {}
        self.query_ops: dict[str, list[str]] = {}
        self.json_ops_weighted: list[str] = []

    def input_shape(self, service: str, op: str):
        try:
            return self.models[service].operation_model(op).input_shape
        except botocore.model.OperationNotFoundError:
            return None

    def probe(self, server: CofferServer) -> int:
        """Which operations coffer serves: an empty signed call to each, UnknownOperation /
        InvalidAction means not served (a handful of those stay in, for coverage). Returns how
        many requests that took."""
        host = f"127.0.0.1:{server.port}"
        conn = Connection("127.0.0.1", server.port, SOCKET_TIMEOUT)
        sent = 0
        try:
            for service, (signing, prefix) in JSON_SERVICES.items():
                ops = []
                for op in self.models[service].operation_names:
                    body = b"{}"
                    data = build("POST", "/", sign(host, signing, body, {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{prefix}.{op}"}), body)
                    answer = conn.exchange(data)
                    sent += 1
                    assert answer.status < 500, (service, op, answer)
                    if answer.headers.get("x-amzn-errortype") != "UnknownOperationException":
                        ops.append(op)
                assert ops, f"coffer serves no operation of {service}?"
                self.json_ops[service] = ops + ["NoSuchOperation"]
                self.json_ops_weighted.extend([service] * max(1, len(ops) // 3))
            for service, version in QUERY_SERVICES.items():
                ops = []
                for op in self.models[service].operation_names:
                    if (service, op) in EXCLUDED:
                        continue
                    body = urllib.parse.urlencode({"Action": op, "Version": version}).encode()
                    data = build("POST", "/", sign(host, service, body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}), body)
                    answer = conn.exchange(data)
                    sent += 1
                    assert answer.status < 500, (service, op, answer)
                    if b"<Code>InvalidAction</Code>" not in answer.body:
                        ops.append(op)
                assert ops, f"coffer serves no operation of {service}?"
                self.query_ops[service] = ops + ["NoSuchAction"]
        finally:
            conn.close()
        return sent

    def seed(self, server: CofferServer) -> None:
        """Real resources for the generator to name."""
        session = make_session()
        sm = make_client(session, "secretsmanager", server.endpoint)
        kms = make_client(session, "kms", server.endpoint)
        ssm = make_client(session, "ssm", server.endpoint)
        iam = make_client(session, "iam", server.endpoint)
        for i in range(6):
            key = kms.create_key(Description=f"hostile {i}")["KeyMetadata"]
            self.known.add(key["KeyId"], key["Arn"])
            kms.create_alias(AliasName=f"alias/hostile-{i}", TargetKeyId=key["KeyId"])
            self.known.add(f"alias/hostile-{i}")
            blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hostile", EncryptionContext={"a": "b"})["CiphertextBlob"]
            self.known.add(base64.b64encode(blob).decode())
            s = sm.create_secret(Name=f"hostile/secret-{i}", SecretString=json.dumps({"username": "u", "password": "p"}), Tags=[{"Key": "k", "Value": "v"}])
            self.known.add(s["Name"], s["ARN"], s["VersionId"])
            ssm.put_parameter(Name=f"/hostile/p{i}", Value=f"v{i}", Type=["String", "StringList", "SecureString"][i % 3])
            self.known.add(f"/hostile/p{i}", f"/hostile/p{i}:1", "/hostile", f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/hostile/p{i}")
            u = iam.create_user(UserName=f"hostile-user-{i}")["User"]
            self.known.add(u["UserName"], u["Arn"])
            r = iam.create_role(RoleName=f"hostile-role-{i}", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}))["Role"]
            self.known.add(r["RoleName"], r["Arn"])
        self.known.add("/aws/reference/secretsmanager/hostile/secret-0", ACCOUNT, "us-east-1", str(uuid.uuid4()))


def _data_dir_base() -> Path:
    """tmpfs when there is one: the audit trail's fsyncs on a real disk would make the run slow.
    ``COFFER_HOSTILE_DIR`` chooses another place (a full disk, say, to see the test fail)."""
    if os.environ.get("COFFER_HOSTILE_DIR"):
        return Path(tempfile.mkdtemp(prefix="coffer-hostile-", dir=os.environ["COFFER_HOSTILE_DIR"]))
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="coffer-hostile-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="coffer-hostile-"))


def test_hostile_client_cannot_break_the_server(tmp_path: Path):
    started = time.monotonic()
    base = _data_dir_base()
    server = CofferServer(base, log_level="info")
    try:
        server.start()
        assert server.proc is not None
        pid = server.proc.pid
        plan = Plan()
        plan.seed(server)
        probes = plan.probe(server)
        rss_before = vm_rss_kib(pid)

        per_worker = (TOTAL - probes) // WORKERS + 1
        workers = [Worker(i, server, plan, per_worker) for i in range(WORKERS)]
        errors: list[str] = []

        def run(w: Worker) -> None:
            try:
                w.run()
            except Exception as e:  # a bug in the test itself must not pass silently
                errors.append(f"worker crashed: {type(e).__name__}: {e}")
                raise

        threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in workers]
        rss_peak = rss_before
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
            assert server.running, f"coffer died mid-run\n{server.log_text()[-4000:]}"
            rss_peak = max(rss_peak, vm_rss_kib(pid))
        for t in threads:
            t.join()
        assert not errors, errors

        sent = probes + sum(w.sent for w in workers)
        kinds = sum((w.kinds for w in workers), Counter())
        statuses = sum((w.statuses for w in workers), Counter())
        failures = [f for w in workers for f in w.failures]
        slow = [s for w in workers for s in w.slow]
        rss_after = vm_rss_kib(pid)
        codes = sum((w.codes for w in workers), Counter())
        if os.environ.get("COFFER_HOSTILE_VERBOSE"):
            for (k, c), n in sorted(codes.items()):
                print(f"  {k:24} {c:40} {n}")
        elapsed = time.monotonic() - started
        print(f"\n{sent} requests in {elapsed:.1f} s; kinds {dict(kinds)}")
        print(f"statuses {dict(sorted(statuses.items()))}; connections opened {sum(w.conn.opened for w in workers)}")
        print(f"RSS {rss_before // 1024} MiB before, {rss_peak // 1024} MiB peak, {rss_after // 1024} MiB after")

        assert sent >= 20_000, f"only {sent} requests sent (COFFER_HOSTILE_REQUESTS={TOTAL}); issue 17 needs 20,000"
        assert server.running, f"coffer died\n{server.log_text()[-4000:]}"
        assert not failures, f"{len(failures)} failures, first ones:\n" + "\n".join(failures[:15])
        assert not slow, f"{len(slow)} answers slower than {SLOW} s:\n" + "\n".join(slow[:10])
        # Most answers are answers (not closed connections), and most signed ones got past
        # authentication: the generator really reaches the services.
        assert statuses[200] > sent // 50, statuses
        assert rss_peak < RSS_LIMIT_KIB, f"peak RSS {rss_peak} KiB"
        assert rss_after - rss_before < RSS_GROWTH_LIMIT_KIB, f"RSS grew from {rss_before} to {rss_after} KiB"

        # Ordinary clients are served afterwards.
        sm = make_client(make_session(), "secretsmanager", server.endpoint)
        name = f"after-hostile-{uuid.uuid4().hex[:8]}"
        sm.create_secret(Name=name, SecretString="still fine")
        assert sm.get_secret_value(SecretId=name)["SecretString"] == "still fine"
        sts = make_client(make_session(), "sts", server.endpoint)
        assert sts.get_caller_identity()["Account"] == ACCOUNT

        log = server.log_text()
        assert "panicked" not in log, re.findall(r".*panicked.*", log)[:5]
        # A hang guard, not a speed target (each answer is held to SLOW above): the run took
        # 57 s on an idle 2-core machine and 154 s beside a release build.
        assert elapsed < 600, f"the hostile test took {elapsed:.0f} s"
    finally:
        server.kill()
        import shutil

        shutil.rmtree(base, ignore_errors=True)
