"""Crash safety: ``kill -9`` coffer while several clients write secrets, ten times over one data dir.

After every restart, every write the server acknowledged must be readable with its exact value (by
VersionId), and the store must open cleanly. Writes in flight at the kill may or may not have
landed; only acknowledged ones are checked.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import botocore.config
import botocore.exceptions

from coffer_harness import CofferServer, make_client, make_session

CYCLES = 10
WRITERS = 4
SHARED_SECRETS = 3
# How long the clients write before the kill (seconds, drawn per cycle).
LOAD_SECONDS = (0.5, 1.2)

CRASH_CONFIG = botocore.config.Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=2,
    read_timeout=10,
)


@dataclass(frozen=True)
class Ack:
    secret: str
    version_id: str
    value: str | bytes
    cycle: int


def client(server: CofferServer):
    return make_client(make_session(), "secretsmanager", server.endpoint, config=CRASH_CONFIG)


class Writers:
    """``WRITERS`` threads writing until told to stop; each acknowledged write is recorded."""

    def __init__(self, server: CofferServer, cycle: int, shared: list[str]) -> None:
        self.server = server
        self.cycle = cycle
        self.shared = shared
        self.acks: list[Ack] = []
        self.unexpected: list[str] = []
        self.lock = threading.Lock()
        self.killed = threading.Event()
        # Made here, before the load window starts: four boto3 clients built concurrently take
        # about 0.45 s of Python (the GIL), which would eat most of a 0.5 s window.
        self.clients = [client(server) for _ in range(WRITERS)]
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(WRITERS)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=30)
            assert not t.is_alive(), "a writer thread hung after the kill"

    def run(self, tid: int) -> None:
        sm = self.clients[tid]
        rng = random.Random(f"{self.cycle}-{tid}")
        n = 0
        while True:
            n += 1
            tag = f"c{self.cycle}-w{tid}-n{n}-{uuid.uuid4().hex[:8]}"
            token = str(uuid.uuid4())
            try:
                roll = rng.random()
                if roll < 0.2:
                    name = f"crash/c{self.cycle}/w{tid}/{n}"
                    value: str | bytes = f"created-{tag}"
                    out = sm.create_secret(Name=name, SecretString=value, ClientRequestToken=token)
                elif roll < 0.35:
                    name = self.shared[rng.randrange(len(self.shared))]
                    value = f"binary-{tag}".encode() + bytes([0, 255, n % 256])
                    out = sm.put_secret_value(SecretId=name, SecretBinary=value, ClientRequestToken=token)
                else:
                    name = self.shared[rng.randrange(len(self.shared))]
                    value = f"put-{tag}"
                    out = sm.put_secret_value(SecretId=name, SecretString=value, ClientRequestToken=token)
            except botocore.exceptions.ClientError as e:
                if not self.killed.is_set():
                    with self.lock:
                        self.unexpected.append(f"{e.response['Error']} (HTTP {e.response['ResponseMetadata']['HTTPStatusCode']})")
                return
            except Exception as e:  # connection refused / reset: the server is gone
                if not self.killed.is_set():
                    with self.lock:
                        self.unexpected.append(f"{type(e).__name__}: {e}")
                return
            if out["VersionId"] != token:
                with self.lock:
                    self.unexpected.append(f"VersionId {out['VersionId']} is not the token {token}")
                return
            with self.lock:
                self.acks.append(Ack(name, token, value, self.cycle))


def check_acks(server: CofferServer, acks: list[Ack]) -> None:
    sm = client(server)
    for ack in acks:
        got = sm.get_secret_value(SecretId=ack.secret, VersionId=ack.version_id)
        if isinstance(ack.value, bytes):
            assert got.get("SecretBinary") == ack.value, f"cycle {ack.cycle}: {ack.secret} {ack.version_id}"
        else:
            assert got.get("SecretString") == ack.value, f"cycle {ack.cycle}: {ack.secret} {ack.version_id}"


def test_acknowledged_writes_survive_kill_9(tmp_path: Path):
    server = CofferServer(tmp_path / "crash", log_level="info")
    started = time.monotonic()
    all_acks: list[Ack] = []
    shared = [f"crash/shared-{i}" for i in range(SHARED_SECRETS)]
    try:
        server.start()
        sm = client(server)
        for name in shared:
            sm.create_secret(Name=name, SecretString=f"initial {name}")
        rng = random.Random(1234)

        for cycle in range(CYCLES):
            writers = Writers(server, cycle, shared)
            writers.start()
            time.sleep(rng.uniform(*LOAD_SECONDS))
            writers.killed.set()
            server.kill()  # SIGKILL, mid-load
            writers.join()
            assert not writers.unexpected, f"cycle {cycle}: writes failed before the kill: {writers.unexpected[:5]}"
            assert writers.acks, f"cycle {cycle}: no write was acknowledged before the kill"
            all_acks.extend(writers.acks)

            # The store opens cleanly on the same data dir: healthy, readable, writable.
            server.start()
            check_acks(server, writers.acks)
            sm = client(server)
            for name in shared:
                desc = sm.describe_secret(SecretId=name)
                current = [v for v, s in desc["VersionIdsToStages"].items() if "AWSCURRENT" in s]
                assert len(current) == 1, (cycle, name, desc["VersionIdsToStages"])
                sm.get_secret_value(SecretId=name)
            probe = f"crash/probe-{cycle}"
            sm.create_secret(Name=probe, SecretString=f"probe {cycle}")
            assert sm.get_secret_value(SecretId=probe)["SecretString"] == f"probe {cycle}"

        # Everything acknowledged in every cycle is still there after the last crash, once more
        # after a graceful restart.
        check_acks(server, all_acks)
        server.restart()
        check_acks(server, all_acks)
        sm = client(server)
        for name in shared:
            listed = set()
            token = None
            while True:
                kwargs = {"SecretId": name, "IncludeDeprecated": True, "MaxResults": 100}
                if token:
                    kwargs["NextToken"] = token
                page = sm.list_secret_version_ids(**kwargs)
                listed.update(v["VersionId"] for v in page["Versions"])
                token = page.get("NextToken")
                if not token:
                    break
            mine = {a.version_id for a in all_acks if a.secret == name}
            assert mine <= listed, f"{name}: acknowledged versions missing from ListSecretVersionIds"
        log = server.log_text()
        assert "panicked" not in log, log[-3000:]
    finally:
        server.kill()
    elapsed = time.monotonic() - started
    assert elapsed < 120, f"the crash test took {elapsed:.0f} s"
    print(f"{len(all_acks)} acknowledged writes over {CYCLES} crashes in {elapsed:.1f} s")
