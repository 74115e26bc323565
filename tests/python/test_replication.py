"""Multi-Region replication (coffer issue 19), against spawned servers with boto3 and the aws CLI.

In one deployment: replicas in other Regions of the same server (read-only, the primary's name
and suffix, their own KMS key, every version and label change propagated, removal, name clashes,
promotion) and KMS multi-Region keys. Across deployments: a primary server pushing its replica
to a second server (its own data directory, TLS with its self-signed CA) that keeps serving the
replica when the primary is killed, and is caught up after being down.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

import botocore.exceptions
import pytest

import coffer_harness
from coffer_harness import ACCESS_KEY, ACCOUNT, SECRET_KEY, AwsCli, CofferServer, files_under, make_client, make_session, stored_bytes
from test_tls import TlsServer

WEST = "us-west-2"
EU = "eu-west-1"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
GENERIC = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CofferRandomPasswordRotation"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def client(server: CofferServer, service: str, region: str = "us-east-1", **kwargs):
    session = make_session()
    return session.client(service, endpoint_url=server.endpoint, region_name=region, config=coffer_harness.CLIENT_CONFIG, **kwargs)


def code_of(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def status(sm, secret_id: str) -> dict[str, dict]:
    return {r["Region"]: r for r in sm.describe_secret(SecretId=secret_id).get("ReplicationStatus", [])}


@pytest.fixture(scope="module")
def east(server):
    return client(server, "secretsmanager")


@pytest.fixture(scope="module")
def west(server):
    return client(server, "secretsmanager", WEST)


@pytest.fixture(scope="module")
def west_key(server) -> str:
    return client(server, "kms", WEST).create_key(Description="replica key")["KeyMetadata"]["Arn"]


# -- the seed, as written ----------------------------------------------------------------------


def test_seed_replication_commands(start_server, tmp_path: Path):
    """The seed's two commands run as written (plus --endpoint-url) and show the replica InSync."""
    s = start_server(extra_args=["--account-id", "012345678901"])
    aws = AwsCli(s, tmp_path / "home")
    aws.json("kms", "create-key", "--multi-region", "--tags", "TagKey=_custom_id_,TagValue=mrk-abc123")
    aws.json("--region", WEST, "kms", "create-key", "--multi-region", "--tags", "TagKey=_custom_id_,TagValue=mrk-replica-key")
    aws.json(
        "secretsmanager", "create-secret", "--name", "prod/payments-api/database",
        "--secret-string", '{"username":"payments","password":"initial-password"}',
        "--kms-key-id", "arn:aws:kms:us-east-1:012345678901:key/mrk-abc123",
    )
    out = aws.json(
        "secretsmanager", "replicate-secret-to-regions",
        "--secret-id", "prod/payments-api/database",
        "--add-replica-regions", "Region=us-west-2,KmsKeyId=arn:aws:kms:us-west-2:012345678901:key/mrk-replica-key",
    )
    assert out["ReplicationStatus"][0]["Region"] == WEST
    listed = aws.json("secretsmanager", "describe-secret", "--secret-id", "prod/payments-api/database", "--query", "ReplicationStatus")
    assert listed == [
        {"Region": WEST, "KmsKeyId": "arn:aws:kms:us-west-2:012345678901:key/mrk-replica-key", "Status": "InSync"}
    ]
    value = aws.json("--region", WEST, "secretsmanager", "get-secret-value", "--secret-id", "prod/payments-api/database")
    assert json.loads(value["SecretString"])["password"] == "initial-password"
    assert value["ARN"].startswith("arn:aws:secretsmanager:us-west-2:012345678901:secret:prod/payments-api/database-")


# -- one deployment ----------------------------------------------------------------------------


def test_replica_has_the_name_suffix_and_its_own_key(server, east, west, west_key):
    name = unique("repl/basic")
    created = east.create_secret(Name=name, SecretString="v1-value")
    out = east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST, "KmsKeyId": west_key}])
    assert out["ARN"] == created["ARN"]
    assert out["ReplicationStatus"] == [{"Region": WEST, "KmsKeyId": west_key, "Status": "InSync"}]
    replica = west.describe_secret(SecretId=name)
    assert replica["ARN"] == created["ARN"].replace(":us-east-1:", f":{WEST}:")
    assert replica["PrimaryRegion"] == "us-east-1"
    assert replica["KmsKeyId"] == west_key
    assert "PrimaryRegion" not in east.describe_secret(SecretId=name)
    assert west.get_secret_value(SecretId=name)["SecretString"] == "v1-value"
    # The replica's versions are sealed under the replica Region's key: disabling it stops the
    # replica's reads and not the primary's.
    west_kms = client(server, "kms", WEST)
    west_kms.disable_key(KeyId=west_key)
    try:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            west.get_secret_value(SecretId=name)
        assert code_of(e) == "DecryptionFailure"
        assert east.get_secret_value(SecretId=name)["SecretString"] == "v1-value"
    finally:
        west_kms.enable_key(KeyId=west_key)
    # LastAccessedDate of the replica shows on the primary's status.
    assert "LastAccessedDate" in status(east, name)[WEST]


def test_default_key_is_the_replica_regions_own(server, east, west):
    name = unique("repl/default-key")
    east.create_secret(Name=name, SecretString="default-key-value")
    out = east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST}])
    assert out["ReplicationStatus"][0]["KmsKeyId"] == "alias/aws/secretsmanager"
    assert west.get_secret_value(SecretId=name)["SecretString"] == "default-key-value"
    west_kms = client(server, "kms", WEST)
    alias = [a for a in west_kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/aws/secretsmanager"]
    east_alias = [a for a in client(server, "kms").list_aliases()["Aliases"] if a["AliasName"] == "alias/aws/secretsmanager"]
    assert alias and east_alias and alias[0]["TargetKeyId"] != east_alias[0]["TargetKeyId"]


def test_versions_labels_metadata_and_rotation_propagate(east, west, west_key):
    name = unique("repl/propagate")
    east.create_secret(Name=name, SecretString="one", Description="first", Tags=[{"Key": "team", "Value": "pay"}])
    east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST, "KmsKeyId": west_key}])
    v2 = east.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    v3 = east.put_secret_value(SecretId=name, SecretString="three", VersionStages=["CANARY"])["VersionId"]
    assert west.get_secret_value(SecretId=name)["SecretString"] == "two"
    assert west.get_secret_value(SecretId=name, VersionStage="CANARY")["SecretString"] == "three"
    east.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v3, RemoveFromVersionId=v2)
    east.update_secret(SecretId=name, Description="second")
    east.tag_resource(SecretId=name, Tags=[{"Key": "env", "Value": "prod"}])
    primary, replica = east.describe_secret(SecretId=name), west.describe_secret(SecretId=name)
    assert replica["VersionIdsToStages"] == primary["VersionIdsToStages"]
    assert replica["Description"] == "second"
    assert sorted((t["Key"], t["Value"]) for t in replica["Tags"]) == [("env", "prod"), ("team", "pay")]
    assert west.get_secret_value(SecretId=name)["SecretString"] == "three"
    assert status(east, name)[WEST]["Status"] == "InSync"
    # A rotation on the primary (the built-in random-password function) reaches the replica.
    east.put_secret_value(SecretId=name, SecretString=json.dumps({"username": "app", "password": "before"}))
    before = east.get_secret_value(SecretId=name)["VersionId"]
    east.rotate_secret(SecretId=name, RotationLambdaARN=GENERIC, RotationRules={"AutomaticallyAfterDays": 30})
    rotated = wait_for(lambda: (v := east.get_secret_value(SecretId=name)["VersionId"]) != before and v, 30, "the rotation")
    got = wait_for(lambda: (r := west.get_secret_value(SecretId=name))["VersionId"] == rotated and r, 10, "the rotated version on the replica")
    assert json.loads(got["SecretString"])["password"] != "before"
    assert west.describe_secret(SecretId=name)["VersionIdsToStages"] == east.describe_secret(SecretId=name)["VersionIdsToStages"]


@pytest.mark.parametrize(
    "call",
    [
        lambda w, n: w.put_secret_value(SecretId=n, SecretString="nope"),
        lambda w, n: w.update_secret(SecretId=n, Description="nope"),
        lambda w, n: w.tag_resource(SecretId=n, Tags=[{"Key": "k", "Value": "v"}]),
        lambda w, n: w.put_resource_policy(SecretId=n, ResourcePolicy=POLICY),
        lambda w, n: w.rotate_secret(SecretId=n, RotationLambdaARN=GENERIC),
        lambda w, n: w.delete_secret(SecretId=n),
        lambda w, n: w.replicate_secret_to_regions(SecretId=n, AddReplicaRegions=[{"Region": EU}]),
    ],
    ids=["PutSecretValue", "UpdateSecret", "TagResource", "PutResourcePolicy", "RotateSecret", "DeleteSecret", "ReplicateSecretToRegions"],
)
def test_replicas_are_read_only(east, west, call):
    name = unique("repl/ro")
    east.create_secret(Name=name, SecretString="ro-value")
    east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(west, name)
    assert code_of(e) == "InvalidParameterException"
    assert e.value.response["Error"]["Message"] == "Operation not permitted on a replica secret. Call must be made in primary secret's region."
    assert west.get_secret_value(SecretId=name)["SecretString"] == "ro-value"


def test_delete_refused_until_regions_removed(east, west):
    name = unique("repl/delete")
    east.create_secret(Name=name, SecretString="del-value")
    east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST}, {"Region": EU}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        east.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert code_of(e) == "InvalidParameterException"
    assert f"still has replica regions [{EU}, {WEST}]" in e.value.response["Error"]["Message"]
    out = east.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[WEST])
    assert [r["Region"] for r in out["ReplicationStatus"]] == [EU]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        west.get_secret_value(SecretId=name)
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        east.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[WEST])
    assert code_of(e) == "InvalidParameterException"
    east.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[EU])
    assert "ReplicationStatus" not in east.describe_secret(SecretId=name)
    east.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_name_clash_fails_the_region_unless_forced(east, west):
    name = unique("repl/clash")
    west.create_secret(Name=name, SecretString="west-own")
    east.create_secret(Name=name, SecretString="primary-value")
    out = east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST}])
    st = out["ReplicationStatus"][0]
    assert st["Status"] == "Failed" and "already exists" in st["StatusMessage"]
    assert west.get_secret_value(SecretId=name)["SecretString"] == "west-own"
    out = east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST}], ForceOverwriteReplicaSecret=True)
    assert out["ReplicationStatus"][0]["Status"] == "InSync"
    assert west.get_secret_value(SecretId=name)["SecretString"] == "primary-value"
    assert west.describe_secret(SecretId=name)["PrimaryRegion"] == "us-east-1"


def test_create_with_replicas_list_filter_and_batch(east, west):
    name = unique("repl/create")
    out = east.create_secret(Name=name, SecretString="created-value", AddReplicaRegions=[{"Region": WEST}])
    assert out["ReplicationStatus"] == [{"Region": WEST, "KmsKeyId": "alias/aws/secretsmanager", "Status": "InSync"}]
    listed = west.list_secrets(Filters=[{"Key": "primary-region", "Values": ["us-east-1"]}, {"Key": "name", "Values": [name]}])["SecretList"]
    assert [s["Name"] for s in listed] == [name] and listed[0]["PrimaryRegion"] == "us-east-1"
    batch = west.batch_get_secret_value(SecretIdList=[name])["SecretValues"]
    assert batch[0]["SecretString"] == "created-value"


def test_stop_replication_promotes_the_replica(east, west):
    name = unique("repl/promote")
    east.create_secret(Name=name, SecretString="before-failover")
    east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        east.stop_replication_to_replica(SecretId=name)
    assert code_of(e) == "InvalidRequestException"
    out = west.stop_replication_to_replica(SecretId=name)
    assert out["ARN"].startswith(f"arn:aws:secretsmanager:{WEST}:")
    assert "PrimaryRegion" not in west.describe_secret(SecretId=name)
    assert "ReplicationStatus" not in east.describe_secret(SecretId=name)
    west.put_secret_value(SecretId=name, SecretString="after-failover")
    assert west.get_secret_value(SecretId=name)["SecretString"] == "after-failover"
    assert east.get_secret_value(SecretId=name)["SecretString"] == "before-failover"


def test_invalid_regions_are_refused(east):
    name = unique("repl/bad")
    east.create_secret(Name=name, SecretString="x")
    # The primary's own Region is refused by the service; a malformed name by the model's pattern.
    for region, code in (("us-east-1", "InvalidParameterException"), ("not a region", "ValidationException")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": region}])
        assert code_of(e) == code, region
    assert "ReplicationStatus" not in east.describe_secret(SecretId=name)


# -- KMS multi-Region keys ---------------------------------------------------------------------


def test_multi_region_keys(server):
    east_kms, eu_kms = client(server, "kms"), client(server, "kms", EU)
    key = east_kms.create_key(MultiRegion=True)["KeyMetadata"]
    assert key["KeyId"].startswith("mrk-")
    assert key["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    old = east_kms.encrypt(KeyId=key["KeyId"], Plaintext=b"made before rotation")["CiphertextBlob"]
    out = east_kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion=EU, Description="eu copy")
    replica = out["ReplicaKeyMetadata"]
    assert replica["Arn"] == key["Arn"].replace(":us-east-1:", f":{EU}:") and replica["KeyId"] == key["KeyId"]
    assert replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert replica["MultiRegionConfiguration"]["PrimaryKey"] == {"Arn": key["Arn"], "Region": "us-east-1"}
    described = east_kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
    assert described["ReplicaKeys"] == [{"Arn": replica["Arn"], "Region": EU}]
    # Same material: a ciphertext of either key decrypts with the other, also after a rotation
    # of the primary (the replica catches up on the new material).
    assert eu_kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"made before rotation"
    east_kms.rotate_key_on_demand(KeyId=key["KeyId"])
    new = east_kms.encrypt(KeyId=key["KeyId"], Plaintext=b"made after rotation")["CiphertextBlob"]
    got = eu_kms.decrypt(CiphertextBlob=new)
    assert got["Plaintext"] == b"made after rotation" and got["KeyId"] == replica["Arn"]
    made_in_eu = eu_kms.encrypt(KeyId=key["KeyId"], Plaintext=b"from eu")["CiphertextBlob"]
    assert east_kms.decrypt(CiphertextBlob=made_in_eu)["Plaintext"] == b"from eu"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        east_kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion=EU)
    assert code_of(e) == "AlreadyExistsException"
    # Failover of the key: the replica becomes the primary.
    east_kms.update_primary_region(KeyId=key["KeyId"], PrimaryRegion=EU)
    assert eu_kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert east_kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        east_kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion="ap-south-1")
    assert code_of(e) == "UnsupportedOperationException"
    single = east_kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        east_kms.replicate_key(KeyId=single, ReplicaRegion=EU)
    assert code_of(e) == "UnsupportedOperationException"
    # A single-Region key's ciphertext does not decrypt in another Region.
    blob = east_kms.encrypt(KeyId=single, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        eu_kms.decrypt(CiphertextBlob=blob)
    assert code_of(e) == "NotFoundException"


# -- two deployments ---------------------------------------------------------------------------


PEER_VALUES = ["peer-value-one-7f3a", "peer-value-two-9c1e", "peer-value-three-4b8d"]


def _start_on(server: CofferServer, port: int) -> None:
    """Restart `server` on `port` (the primary's config names it)."""
    original = coffer_harness.free_port
    coffer_harness.free_port = lambda: port
    try:
        server.start()
    finally:
        coffer_harness.free_port = original


def test_replica_in_another_deployment_survives_the_primary(tmp_path: Path):
    west_server = TlsServer(tmp_path / "west", extra_args=["--tls-self-signed"])
    west_server.ca = None
    west_server.start()
    west_port = west_server.port
    west_server.ca = west_server.data_dir / "tls" / "ca.pem"
    creds = tmp_path / "west-credentials"
    creds.write_text(f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    config = tmp_path / "east.toml"
    config.write_text(
        "[[replication.peers]]\n"
        f'regions = ["{WEST}"]\n'
        f'endpoint = "https://localhost:{west_port}"\n'
        f'credentials_file = "{creds}"\n'
        f'ca_bundle = "{west_server.ca}"\n'
    )
    east_server = CofferServer(tmp_path / "east", extra_args=["--config", str(config)])
    east_server.start()
    try:
        east = client(east_server, "secretsmanager")
        west = client(west_server, "secretsmanager", WEST, verify=str(west_server.ca))
        west_key = client(west_server, "kms", WEST, verify=str(west_server.ca)).create_key()["KeyMetadata"]["Arn"]
        name = unique("peer/db")
        east.create_secret(Name=name, SecretString=PEER_VALUES[0])
        east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST, "KmsKeyId": west_key}])
        wait_for(lambda: status(east, name)[WEST]["Status"] == "InSync", 15, "the peer replica InSync")
        got = west.get_secret_value(SecretId=name)
        assert got["SecretString"] == PEER_VALUES[0]
        assert got["ARN"] == east.describe_secret(SecretId=name)["ARN"].replace(":us-east-1:", f":{WEST}:")
        described = west.describe_secret(SecretId=name)
        assert described["PrimaryRegion"] == "us-east-1" and described["KmsKeyId"] == west_key

        # The peer goes down: the Region fails with the reason; when it is back, it is caught up.
        west_server.stop()
        east.put_secret_value(SecretId=name, SecretString=PEER_VALUES[1])
        failed = wait_for(lambda: (st := status(east, name)[WEST])["Status"] == "Failed" and st, 15, "the Region Failed")
        assert "us-west-2" in failed["StatusMessage"]
        _start_on(west_server, west_port)
        wait_for(lambda: status(east, name)[WEST]["Status"] == "InSync", 45, "the peer caught up")
        assert west.get_secret_value(SecretId=name)["SecretString"] == PEER_VALUES[1]
        assert west.describe_secret(SecretId=name)["VersionIdsToStages"] == east.describe_secret(SecretId=name)["VersionIdsToStages"]

        # The pushes are audited on the primary's side (a failed one with its reason), and
        # counted in the metrics.
        pushes = client(east_server, "cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ReplicateSecretVersion"}]
        )["Events"]
        records = [json.loads(e["CloudTrailEvent"]) for e in pushes]
        assert any(r.get("errorCode") == "ReplicationFailed" for r in records)
        assert any("errorCode" not in r and r["requestParameters"]["ReplicaRegion"] == WEST for r in records)
        metrics = urllib.request.urlopen(f"{east_server.endpoint}/metrics", timeout=5).read().decode()
        assert 'coffer_replications_total{outcome="in_sync"}' in metrics
        assert 'coffer_replications_total{outcome="failed"}' in metrics
        assert "coffer_replication_lag_seconds_count" in metrics

        # Lose the primary: the replica keeps serving, refuses writes until promoted.
        east_server.kill()
        assert west.get_secret_value(SecretId=name)["SecretString"] == PEER_VALUES[1]
        with pytest.raises(botocore.exceptions.ClientError) as e:
            west.put_secret_value(SecretId=name, SecretString="refused")
        assert code_of(e) == "InvalidParameterException"
        west.stop_replication_to_replica(SecretId=name)
        west.put_secret_value(SecretId=name, SecretString=PEER_VALUES[2])
        assert west.get_secret_value(SecretId=name)["SecretString"] == PEER_VALUES[2]

        # The replication writes were audited on the replica's side.
        events = client(west_server, "cloudtrail", WEST, verify=str(west_server.ca)).lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ApplyReplica"}]
        )["Events"]
        assert events
    finally:
        east_server.kill()
        west_server.kill()
    for directory in (east_server.base_dir, west_server.base_dir):
        for f in files_under(directory):
            data = stored_bytes(f)
            for v in PEER_VALUES:
                assert v.encode() not in data, f"{v} in {f}"


def test_no_replicated_plaintext_on_disk(server, east, west):
    value = "replicated-plaintext-" + uuid.uuid4().hex
    name = unique("repl/hygiene")
    east.create_secret(Name=name, SecretString=value, AddReplicaRegions=[{"Region": WEST}, {"Region": EU}])
    east.put_secret_value(SecretId=name, SecretString=value + "-2")
    assert west.get_secret_value(SecretId=name)["SecretString"] == value + "-2"
    for f in files_under(server.base_dir):
        assert value.encode() not in stored_bytes(f), f
