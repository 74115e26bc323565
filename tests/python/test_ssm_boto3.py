"""boto3 against a real coffer server: Parameter Store as applications and tools use it."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from coffer_harness import ACCOUNT, REGION, ROOT_ARN, CofferServer, make_client, make_session
from helpers import assert_nowhere, expect_error, unique_path


def arn(name: str) -> str:
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}"


def test_put_get_and_types(ssm):
    base = unique_path("types")
    out = ssm.put_parameter(Name=f"{base}/s", Value="plain", Type="String", Description="d")
    assert out["Version"] == 1 and out["Tier"] == "Standard"
    ssm.put_parameter(Name=f"{base}/l", Value="a,b,c", Type="StringList")
    ssm.put_parameter(Name=f"{base}/secure", Value="s3cr3t-value", Type="SecureString")

    p = ssm.get_parameter(Name=f"{base}/s")["Parameter"]
    assert p["Value"] == "plain"
    assert p["Type"] == "String"
    assert p["ARN"] == arn(f"{base}/s")
    assert p["DataType"] == "text"
    assert p["Version"] == 1
    assert p["LastModifiedDate"].year >= 2024
    assert ssm.get_parameter(Name=f"{base}/l")["Parameter"]["Value"] == "a,b,c"

    hidden = ssm.get_parameter(Name=f"{base}/secure")["Parameter"]["Value"]
    assert hidden != "s3cr3t-value" and "s3cr3t" not in hidden
    base64.b64decode(hidden, validate=True)  # opaque ciphertext, base64 as on AWS
    shown = ssm.get_parameter(Name=f"{base}/secure", WithDecryption=True)["Parameter"]["Value"]
    assert shown == "s3cr3t-value"
    # WithDecryption changes nothing for String.
    assert ssm.get_parameter(Name=f"{base}/s", WithDecryption=True)["Parameter"]["Value"] == "plain"
    # The ARN form is accepted wherever a name is.
    assert ssm.get_parameter(Name=arn(f"{base}/s"))["Parameter"]["Name"] == f"{base}/s"

    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{base}/secure"]}])["Parameters"]
    assert len(meta) == 1
    assert meta[0]["KeyId"] == "alias/aws/ssm"
    assert meta[0]["LastModifiedUser"] == ROOT_ARN
    assert meta[0]["Tier"] == "Standard"


def test_versions_selectors_history_and_rollback(ssm):
    name = unique_path("versions")
    for i in range(1, 6):
        out = ssm.put_parameter(Name=name, Value=f"value-{i}", Type="SecureString", Overwrite=i > 1)
        assert out["Version"] == i
    v3 = ssm.get_parameter(Name=f"{name}:3", WithDecryption=True)["Parameter"]
    assert (v3["Value"], v3["Version"], v3["Selector"]) == ("value-3", 3, ":3")
    expect_error("ParameterVersionNotFound", ssm.get_parameter, Name=f"{name}:9")

    pages = ssm.get_paginator("get_parameter_history").paginate(Name=name, WithDecryption=True, PaginationConfig={"PageSize": 2})
    history = [h for page in pages for h in page["Parameters"]]
    assert [h["Version"] for h in history] == [1, 2, 3, 4, 5]
    assert [h["Value"] for h in history] == [f"value-{i}" for i in range(1, 6)]
    assert all(h["Labels"] == [] and h["Tier"] == "Standard" for h in history)

    # Rollback: read an old version, put it back.
    old = ssm.get_parameter(Name=f"{name}:2", WithDecryption=True)["Parameter"]["Value"]
    assert ssm.put_parameter(Name=name, Value=old, Type="SecureString", Overwrite=True)["Version"] == 6
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "value-2"

    got = ssm.get_parameters(Names=[f"{name}:1", name, f"{name}:77", unique_path("absent")], WithDecryption=True)
    assert [p["Value"] for p in got["Parameters"]] == ["value-1", "value-2"]
    assert got["InvalidParameters"][0] == f"{name}:77"
    assert len(got["InvalidParameters"]) == 2


def test_put_errors(ssm, ssm_raw):
    name = unique_path("errors")
    ssm.put_parameter(Name=name, Value="v", Type="String")
    err = expect_error("ParameterAlreadyExists", ssm.put_parameter, Name=name, Value="w", Type="String")
    assert "set the overwrite option" in err.response["Error"]["Message"]
    expect_error("HierarchyTypeMismatchException", ssm.put_parameter, Name=name, Value="w", Type="StringList", Overwrite=True)
    err = expect_error("AccessDeniedException", ssm.put_parameter, Name="/aws/mine", Value="v", Type="String")
    assert err.response["Error"]["Message"] == "No access to reserved parameter name: /aws/mine."
    for bad in ["ssmName", "/SSM/x", "AWSx", "/a//b", "/with space", "/star*", "a/b"]:
        expect_error("ValidationException", ssm.put_parameter, Name=bad, Value="v", Type="String")
    expect_error(
        "HierarchyLevelLimitExceededException",
        ssm.put_parameter,
        Name="".join(f"/l{i}" for i in range(16)),
        Value="v",
        Type="String",
    )
    err = expect_error("ValidationException", ssm.put_parameter, Name=unique_path("notype"), Value="v")
    assert err.response["Error"]["Message"] == "A parameter type is required when you create a parameter."
    err = expect_error("ParameterPatternMismatchException", ssm.put_parameter, Name=unique_path("pat"), Value="abc", Type="String", AllowedPattern=r"^\d+$")
    assert err.response["Error"]["Message"] == r"Parameter value, cannot be validated against allowedPattern: ^\d+$"
    expect_error("InvalidAllowedPatternException", ssm.put_parameter, Name=unique_path("pat"), Value="abc", Type="String", AllowedPattern="(unclosed")
    expect_error("InvalidKeyId", ssm.put_parameter, Name=unique_path("key"), Value="v", Type="SecureString", KeyId="alias/none-such")
    expect_error("ValidationException", ssm.put_parameter, Name=unique_path("dt"), Value="v", Type="String", DataType="Text")
    expect_error("ValidationException", ssm.put_parameter, Name=unique_path("ami"), Value="not-an-ami", Type="String", DataType="aws:ec2:image")
    assert ssm.put_parameter(Name=unique_path("ami"), Value="ami-0123456789abcdef0", Type="String", DataType="aws:ec2:image")["Version"] == 1
    expect_error("ValidationException", ssm.put_parameter, Name=name, Value="w", Overwrite=True, Tags=[{"Key": "a", "Value": "b"}])
    # Server-side validation of what botocore would have refused.
    expect_error("ValidationException", ssm_raw.put_parameter, Name=unique_path("empty"), Value="", Type="String")
    expect_error("ValidationException", ssm_raw.put_parameter, Name=unique_path("enum"), Value="v", Type="Number")
    expect_error("ValidationException", ssm_raw.get_parameters, Names=[])
    expect_error("ValidationException", ssm_raw.get_parameters_by_path, Path="/", MaxResults=11)
    expect_error("ValidationException", ssm_raw.describe_parameters, MaxResults=0)
    expect_error("SerializationException", ssm_raw.put_parameter, Name=unique_path("ser"), Value=7, Type="String")
    # Nothing was created by the failures.
    assert ssm.get_parameter(Name=name)["Parameter"]["Version"] == 1


def test_not_found_everywhere(ssm):
    missing = unique_path("missing")
    expect_error("ParameterNotFound", ssm.get_parameter, Name=missing)
    expect_error("ParameterNotFound", ssm.get_parameter_history, Name=missing)
    expect_error("ParameterNotFound", ssm.delete_parameter, Name=missing)
    expect_error("ParameterNotFound", ssm.label_parameter_version, Name=missing, Labels=["x"])
    expect_error("InvalidResourceId", ssm.list_tags_for_resource, ResourceType="Parameter", ResourceId=missing)
    # Another account's ARN needs that parameter's resource policy: refused, whether or not it
    # exists (test_ssm_fidelity.py shares one).
    expect_error("AccessDeniedException", ssm.get_parameter, Name=f"arn:aws:ssm:{REGION}:111111111111:parameter/x")


def test_tiers_and_sizes(ssm):
    big = "x" * 5000
    err = expect_error("ValidationException", ssm.put_parameter, Name=unique_path("big"), Value=big, Type="String")
    assert "Standard tier parameters support a maximum parameter value of 4096" in err.response["Error"]["Message"]
    name = unique_path("adv")
    assert ssm.put_parameter(Name=name, Value=big, Type="String", Tier="Advanced")["Tier"] == "Advanced"
    assert ssm.put_parameter(Name=unique_path("it"), Value=big, Type="String", Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    assert ssm.put_parameter(Name=unique_path("it"), Value="small", Type="String", Tier="Intelligent-Tiering")["Tier"] == "Standard"
    err = expect_error("ValidationException", ssm.put_parameter, Name=name, Value="small", Tier="Standard", Overwrite=True)
    assert "can't downgrade" in err.response["Error"]["Message"]
    # Without a tier an Advanced parameter stays Advanced.
    assert ssm.put_parameter(Name=name, Value="small", Overwrite=True)["Tier"] == "Advanced"
    expect_error("ValidationException", ssm.put_parameter, Name=unique_path("huge"), Value="y" * 8193, Type="String", Tier="Advanced")
    assert ssm.put_parameter(Name=unique_path("max"), Value="y" * 8192, Type="String", Tier="Advanced")["Version"] == 1


def test_labels(ssm):
    name = unique_path("labels")
    for i in (1, 2):
        ssm.put_parameter(Name=name, Value=f"v{i}", Type="String", Overwrite=i > 1)
    out = ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["Prod", "1bad", "aws-x", "SSMy", "ok.label-1_x"])
    assert out["ParameterVersion"] == 1
    assert out["InvalidLabels"] == ["1bad", "aws-x", "SSMy"]
    assert ssm.get_parameter(Name=f"{name}:Prod")["Parameter"]["Value"] == "v1"
    # Labels are case-sensitive.
    expect_error("ParameterVersionNotFound", ssm.get_parameter, Name=f"{name}:prod")
    # Move to the newest version.
    assert ssm.label_parameter_version(Name=name, Labels=["Prod"])["ParameterVersion"] == 2
    history = ssm.get_parameter_history(Name=name)["Parameters"]
    assert history[0]["Labels"] == ["ok.label-1_x"]
    assert history[1]["Labels"] == ["Prod"]
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=[f"l{i}" for i in range(9)])
    expect_error("ParameterVersionLabelLimitExceeded", ssm.label_parameter_version, Name=name, ParameterVersion=2, Labels=["one-too-many"])
    out = ssm.unlabel_parameter_version(Name=name, ParameterVersion=2, Labels=["l0", "ok.label-1_x"])
    assert out["RemovedLabels"] == ["l0"] and out["InvalidLabels"] == ["ok.label-1_x"]
    expect_error("ParameterVersionNotFound", ssm.unlabel_parameter_version, Name=name, ParameterVersion=5, Labels=["x"])


def test_paths_filters_and_paging(ssm):
    root = unique_path("tree")
    names = [f"{root}/app/n{i:02}" for i in range(23)] + [f"{root}/app/deep/x", f"{root}/top"]
    for i, n in enumerate(names):
        ssm.put_parameter(Name=n, Value=f"v{i}", Type="SecureString" if i % 3 == 0 else "String")
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=f"{root}/app", PaginationConfig={"PageSize": 4})
    one_level = [p["Name"] for page in pages for p in page["Parameters"]]
    assert one_level == sorted(n for n in names if n.count("/") == root.count("/") + 2 and "/deep/" not in n)
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=f"{root}/", Recursive=True, WithDecryption=True)
    everything = [p for page in pages for p in page["Parameters"]]
    assert sorted(p["Name"] for p in everything) == sorted(names)
    assert {p["Value"] for p in everything} == {f"v{i}" for i in range(len(names))}
    secure = ssm.get_parameters_by_path(
        Path=root, Recursive=True, ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}], MaxResults=10
    )
    collected = [p["Name"] for p in secure["Parameters"]]
    token = secure.get("NextToken")
    while token:
        page = ssm.get_parameters_by_path(
            Path=root, Recursive=True, ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}], NextToken=token
        )
        collected += [p["Name"] for p in page["Parameters"]]
        token = page.get("NextToken")
    assert collected == sorted(n for i, n in enumerate(names) if i % 3 == 0)
    expect_error("InvalidFilterKey", ssm.get_parameters_by_path, Path=root, ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    expect_error("InvalidNextToken", ssm.get_parameters_by_path, Path=root, NextToken="bm90LWEtdG9rZW4")
    expect_error("ValidationException", ssm.get_parameters_by_path, Path="relative/path")

    described = [
        p["Name"]
        for page in ssm.get_paginator("describe_parameters").paginate(
            ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [root]}], PaginationConfig={"PageSize": 5}
        )
        for p in page["Parameters"]
    ]
    assert described == sorted(names)
    by_name = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": ["deep"]}])["Parameters"]
    assert f"{root}/app/deep/x" in [p["Name"] for p in by_name]
    legacy = ssm.describe_parameters(Filters=[{"Key": "Name", "Values": [f"{root}/app/n0"]}])["Parameters"]
    assert [p["Name"] for p in legacy] == [f"{root}/app/n{i:02}" for i in range(10)]
    expect_error("ValidationException", ssm.describe_parameters, Filters=[{"Key": "Name", "Values": ["a"]}], ParameterFilters=[{"Key": "Name", "Values": ["a"]}])
    expect_error("InvalidFilterValue", ssm.describe_parameters, ParameterFilters=[{"Key": "Type", "Values": ["Secret"]}])
    expect_error("InvalidFilterOption", ssm.describe_parameters, ParameterFilters=[{"Key": "Tier", "Option": "Contains", "Values": ["Standard"]}])


def test_tags(ssm):
    name = unique_path("tags")
    ssm.put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "team", "Value": "payments"}])
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "core"}])
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert tags == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "core"}]
    found = ssm.describe_parameters(ParameterFilters=[{"Key": "tag:env", "Values": ["prod"]}, {"Key": "Name", "Values": [name]}])["Parameters"]
    assert [p["Name"] for p in found] == [name]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=["env"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"] == [{"Key": "team", "Value": "core"}]
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    expect_error("TooManyTagsError", ssm.add_tags_to_resource, ResourceType="Parameter", ResourceId=name, Tags=too_many)
    expect_error("InvalidResourceType", ssm.add_tags_to_resource, ResourceType="Document", ResourceId="doc", Tags=[{"Key": "a", "Value": "b"}])


def test_delete(ssm):
    a, b = unique_path("del"), unique_path("del")
    ssm.put_parameter(Name=a, Value="v", Type="String")
    ssm.put_parameter(Name=b, Value="v", Type="String")
    ssm.delete_parameter(Name=a)
    expect_error("ParameterNotFound", ssm.get_parameter, Name=a)
    out = ssm.delete_parameters(Names=[b, a])
    assert out["DeletedParameters"] == [b] and out["InvalidParameters"] == [a]
    # The name can be used again, from version 1.
    assert ssm.put_parameter(Name=a, Value="again", Type="String")["Version"] == 1


def test_policies_are_validated_and_shown(ssm):
    name = unique_path("policies")
    policies = json.dumps(
        [
            {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2099-01-01T00:00:00.000Z"}},
            {"Type": "ExpirationNotification", "Version": "1.0", "Attributes": {"Before": "15", "Unit": "Days"}},
            {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "20", "Unit": "Days"}},
        ]
    )
    out = ssm.put_parameter(Name=name, Value="v", Type="String", Tier="Advanced", Policies=policies)
    assert out["Tier"] == "Advanced"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][0]
    assert [p["PolicyType"] for p in meta["Policies"]] == ["Expiration", "ExpirationNotification", "NoChangeNotification"]
    assert all(p["PolicyStatus"] == "Pending" for p in meta["Policies"])
    assert json.loads(meta["Policies"][0]["PolicyText"])["Attributes"]["Timestamp"] == "2099-01-01T00:00:00.000Z"
    history = ssm.get_parameter_history(Name=name)["Parameters"]
    assert len(history[0]["Policies"]) == 3
    expect_error("InvalidPolicyTypeException", ssm.put_parameter, Name=unique_path("p"), Value="v", Type="String", Tier="Advanced", Policies='[{"Type":"Rotation"}]')
    expect_error(
        "InvalidPolicyAttributeException",
        ssm.put_parameter,
        Name=unique_path("p"),
        Value="v",
        Type="String",
        Tier="Advanced",
        Policies='[{"Type":"Expiration","Attributes":{"Timestamp":"2001-01-01T00:00:00Z"}}]',
    )
    expect_error(
        "IncompatiblePolicyException",
        ssm.put_parameter,
        Name=unique_path("p"),
        Value="v",
        Type="String",
        Tier="Advanced",
        Policies='[{"Type":"ExpirationNotification","Attributes":{"Before":"1","Unit":"Days"}}]',
    )
    err = expect_error("ValidationException", ssm.put_parameter, Name=unique_path("p"), Value="v", Type="String", Tier="Standard", Policies=policies)
    assert "advanced-parameter tier" in err.response["Error"]["Message"]


def test_expired_parameter_is_gone_on_read(fresh_server):
    """An Expiration policy in the (near) future: once it passes, reads no longer find the parameter."""
    import datetime
    import time

    ssm = fresh_server.client("ssm")
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    ssm.put_parameter(
        Name="/expiring/soon",
        Value="v",
        Type="String",
        Tier="Advanced",
        Policies=json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": stamp}}]),
    )
    assert ssm.get_parameter(Name="/expiring/soon")["Parameter"]["Value"] == "v"
    time.sleep(3)
    expect_error("ParameterNotFound", ssm.get_parameter, Name="/expiring/soon")
    assert ssm.get_parameters_by_path(Path="/expiring")["Parameters"] == []
    assert "parameter policy event" in fresh_server.log_text()
    # The name is free again.
    assert ssm.put_parameter(Name="/expiring/soon", Value="w", Type="String")["Version"] == 1


def test_service_settings(fresh_server):
    ssm = fresh_server.client("ssm")
    tier = "/ssm/parameter-store/default-parameter-tier"
    s = ssm.get_service_setting(SettingId=tier)["ServiceSetting"]
    assert (s["SettingValue"], s["Status"]) == ("Standard", "Default")
    assert s["ARN"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:servicesetting{tier}"
    ssm.update_service_setting(SettingId=tier, SettingValue="Advanced")
    s = ssm.get_service_setting(SettingId=tier)["ServiceSetting"]
    assert (s["SettingValue"], s["Status"], s["LastModifiedUser"]) == ("Advanced", "Customized", ROOT_ARN)
    assert ssm.put_parameter(Name="/dt/a", Value="v", Type="String")["Tier"] == "Advanced"
    ssm.update_service_setting(SettingId=tier, SettingValue="Intelligent-Tiering")
    assert ssm.put_parameter(Name="/dt/b", Value="v", Type="String")["Tier"] == "Standard"
    assert ssm.put_parameter(Name="/dt/c", Value="v" * 4097, Type="String")["Tier"] == "Advanced"
    reset = ssm.reset_service_setting(SettingId=tier)["ServiceSetting"]
    assert (reset["SettingValue"], reset["Status"]) == ("Standard", "Default")
    expect_error("ValidationException", ssm.update_service_setting, SettingId=tier, SettingValue="Premium")
    ht = "/ssm/parameter-store/high-throughput-enabled"
    assert ssm.get_service_setting(SettingId=ht)["ServiceSetting"]["SettingValue"] == "false"
    ssm.update_service_setting(SettingId=ht, SettingValue="true")
    assert ssm.get_service_setting(SettingId=ht)["ServiceSetting"]["SettingValue"] == "true"
    expect_error("ServiceSettingNotFound", ssm.get_service_setting, SettingId="/ssm/managed-instance/activation-tier")
    # Settings are per region.
    west = make_client(make_session(), "ssm", fresh_server.endpoint, region_name="eu-west-1")
    assert west.get_service_setting(SettingId=ht)["ServiceSetting"]["SettingValue"] == "false"


def test_resource_policies(ssm, kms):
    name = unique_path("shared")
    ssm.put_parameter(Name=name, Value="v", Type="String", Tier="Advanced")
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": ["ssm:GetParameter"], "Resource": arn(name)}
            ],
        }
    )
    out = ssm.put_resource_policy(ResourceArn=arn(name), Policy=policy)
    got = ssm.get_resource_policies(ResourceArn=arn(name))["Policies"]
    assert got == [{"PolicyId": out["PolicyId"], "PolicyHash": out["PolicyHash"], "Policy": policy}]
    # Update under the hash; a stale hash conflicts.
    policy2 = policy.replace("GetParameter", "GetParameters")
    out2 = ssm.put_resource_policy(ResourceArn=arn(name), Policy=policy2, PolicyId=out["PolicyId"], PolicyHash=out["PolicyHash"])
    assert out2["PolicyId"] == out["PolicyId"] and out2["PolicyHash"] != out["PolicyHash"]
    expect_error("ResourcePolicyConflictException", ssm.put_resource_policy, ResourceArn=arn(name), Policy=policy, PolicyId=out["PolicyId"], PolicyHash=out["PolicyHash"])
    expect_error("ResourcePolicyNotFoundException", ssm.delete_resource_policy, ResourceArn=arn(name), PolicyId="nope", PolicyHash="x")
    ssm.delete_resource_policy(ResourceArn=arn(name), PolicyId=out2["PolicyId"], PolicyHash=out2["PolicyHash"])
    assert ssm.get_resource_policies(ResourceArn=arn(name))["Policies"] == []
    expect_error("MalformedResourcePolicyDocumentException", ssm.put_resource_policy, ResourceArn=arn(name), Policy='{"Statement": 5}')
    expect_error("ResourcePolicyLimitExceededException", ssm.put_resource_policy, ResourceArn=arn(name), Policy=policy + " " * 1100)
    standard = unique_path("std")
    ssm.put_parameter(Name=standard, Value="v", Type="String")
    expect_error("ResourcePolicyInvalidParameterException", ssm.put_resource_policy, ResourceArn=arn(standard), Policy=policy)
    expect_error("ResourceNotFoundException", ssm.get_resource_policies, ResourceArn=arn(unique_path("none")))
    # A SecureString under the AWS managed key cannot be shared; under a customer key it can.
    secure = unique_path("secure-shared")
    ssm.put_parameter(Name=secure, Value="v", Type="SecureString", Tier="Advanced")
    expect_error("ResourcePolicyInvalidParameterException", ssm.put_resource_policy, ResourceArn=arn(secure), Policy=policy)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    ssm.put_parameter(Name=secure, Value="v2", Type="SecureString", KeyId=key, Overwrite=True)
    assert ssm.put_resource_policy(ResourceArn=arn(secure), Policy=policy)["PolicyId"]


def test_disabled_key_gives_invalid_key_id(ssm, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    folder = unique_path("disabled")
    name = f"{folder}/p"
    ssm.put_parameter(Name=name, Value="guarded-value-42", Type="SecureString", KeyId=key)
    kms.disable_key(KeyId=key)
    err = expect_error("InvalidKeyId", ssm.get_parameter, Name=name, WithDecryption=True)
    assert "DisabledException" in err.response["Error"]["Message"]
    assert "guarded-value-42" not in json.dumps(err.response, default=str)
    expect_error("InvalidKeyId", ssm.get_parameters_by_path, Path=folder, WithDecryption=True)
    # Without decryption the listing works and shows ciphertext.
    listed = ssm.get_parameters_by_path(Path=folder)["Parameters"]
    assert [p["Name"] for p in listed] == [name] and listed[0]["Value"] != "guarded-value-42"
    kms.enable_key(KeyId=key)
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "guarded-value-42"
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    err = expect_error("InvalidKeyId", ssm.get_parameter, Name=name, WithDecryption=True)
    assert "KMSInvalidStateException" in err.response["Error"]["Message"]


def test_secrets_manager_reference(server: CofferServer, ssm):
    """`/aws/reference/secretsmanager/...`: needs Secrets Manager's CreateSecret/PutSecretValue."""
    sm = make_client(make_session(), "secretsmanager", server.endpoint)
    secret = f"ref-{uuid.uuid4().hex[:8]}"
    err = expect_error("ValidationException", ssm.get_parameter, Name=f"/aws/reference/secretsmanager/{secret}")
    assert err.response["Error"]["Message"] == "WithDecryption flag must be True for retrieving a Secret Manager secret."
    err = expect_error("ParameterNotFound", ssm.get_parameter, Name=f"/aws/reference/secretsmanager/{secret}", WithDecryption=True)
    assert secret in err.response["Error"]["Message"]
    created = sm.create_secret(Name=secret, SecretString='{"user":"app","password":"pw-1"}')
    sm.put_secret_value(SecretId=secret, SecretString='{"user":"app","password":"pw-2"}')
    p = ssm.get_parameter(Name=f"/aws/reference/secretsmanager/{secret}", WithDecryption=True)["Parameter"]
    assert p["Type"] == "SecureString"
    assert json.loads(p["Value"])["password"] == "pw-2"
    assert p["Version"] == 0
    assert p["ARN"] == created["ARN"]
    source = json.loads(p["SourceResult"])
    assert source["ARN"] == created["ARN"] and source["name"] == secret
    prev = ssm.get_parameter(Name=f"/aws/reference/secretsmanager/{secret}:AWSPREVIOUS", WithDecryption=True)["Parameter"]
    assert json.loads(prev["Value"])["password"] == "pw-1"
    assert prev["Selector"] == ":AWSPREVIOUS"
    by_id = ssm.get_parameter(Name=f"/aws/reference/secretsmanager/{secret}:{created['VersionId']}", WithDecryption=True)["Parameter"]
    assert json.loads(by_id["Value"])["password"] == "pw-1"
    both = ssm.get_parameters(
        Names=[f"/aws/reference/secretsmanager/{secret}", f"/aws/reference/secretsmanager/{secret}:a:b"], WithDecryption=True
    )
    assert len(both["Parameters"]) == 1
    assert both["InvalidParameters"] == [f"/aws/reference/secretsmanager/{secret}:a:b"]


PLAINTEXT = b"coffer-ssm-hygiene-\xe2\x9c\x93-Qm7Zr2-securestring"


def test_securestring_plaintext_never_stored_or_logged(start_server):
    server: CofferServer = start_server(log_level="debug")
    ssm = server.client("ssm")
    value = PLAINTEXT.decode()
    ssm.put_parameter(Name="/hygiene/one", Value=value, Type="SecureString")
    ssm.put_parameter(Name="/hygiene/one", Value=value + "-v2", Type="SecureString", Overwrite=True, Tier="Advanced")
    ssm.label_parameter_version(Name="/hygiene/one", ParameterVersion=1, Labels=["old"])
    assert ssm.get_parameter(Name="/hygiene/one:old", WithDecryption=True)["Parameter"]["Value"] == value
    ssm.get_parameters_by_path(Path="/hygiene", WithDecryption=True)
    ssm.get_parameter_history(Name="/hygiene/one", WithDecryption=True)
    # Failures must not echo the value either.
    for bad in [
        dict(Name="/hygiene/one", Value=value, Type="SecureString"),
        dict(Name="/hygiene/two", Value=value, Type="SecureString", AllowedPattern="^x$"),
        dict(Name="/hygiene/three", Value=value * 200, Type="SecureString"),
    ]:
        with pytest.raises(ClientError) as info:
            ssm.put_parameter(**bad)
        assert value not in json.dumps(info.value.response, default=str)
    assert "DEBUG" in server.log_text(), "the server did not log at debug level"
    assert_nowhere(PLAINTEXT, server, "the SecureString value")
    server.stop()
    assert_nowhere(PLAINTEXT, server, "the SecureString value")


def test_parameters_survive_a_restart(fresh_server):
    ssm = fresh_server.client("ssm")
    ssm.put_parameter(Name="/keep/secure", Value="kept-secret", Type="SecureString")
    ssm.put_parameter(Name="/keep/secure", Value="kept-secret-2", Type="SecureString", Overwrite=True)
    ssm.label_parameter_version(Name="/keep/secure", ParameterVersion=1, Labels=["first"])
    ssm.put_parameter(Name="/keep/list", Value="a,b", Type="StringList", Tags=[{"Key": "k", "Value": "v"}])
    fresh_server.restart()
    ssm = fresh_server.client("ssm")
    assert ssm.get_parameter(Name="/keep/secure:first", WithDecryption=True)["Parameter"]["Value"] == "kept-secret"
    assert ssm.get_parameter(Name="/keep/secure", WithDecryption=True)["Parameter"]["Value"] == "kept-secret-2"
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/keep/list")["TagList"] == [{"Key": "k", "Value": "v"}]
    assert [p["Name"] for p in ssm.get_parameters_by_path(Path="/keep")["Parameters"]] == ["/keep/list", "/keep/secure"]
