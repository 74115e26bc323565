//! AWS managed policies (`arn:aws:iam::aws:policy/NAME`) that exist in every account, for the
//! services coffer serves. Their documents cover those services' actions only.
//! <https://docs.aws.amazon.com/aws-managed-policy/latest/reference/policy-list.html>

/// (name, document)
const POLICIES: &[(&str, &str)] = &[
    (
        "AdministratorAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "ReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:DescribeSecret","secretsmanager:List*","secretsmanager:GetResourcePolicy","ssm:Describe*","ssm:Get*","ssm:List*","kms:Describe*","kms:Get*","kms:List*","iam:Get*","iam:List*","cloudtrail:LookupEvents"],"Resource":"*"}]}"#,
    ),
    (
        "SecretsManagerReadWrite",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:*","kms:DescribeKey","kms:ListAliases","kms:ListKeys"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonSSMReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:Describe*","ssm:Get*","ssm:List*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonSSMFullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:*","Resource":"*"}]}"#,
    ),
    (
        "IAMFullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
    ),
    (
        "IAMReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}"#,
    ),
    (
        "AWSKeyManagementServicePowerUser",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateAlias","kms:CreateKey","kms:DeleteAlias","kms:Describe*","kms:GenerateRandom","kms:Get*","kms:List*","kms:TagResource","kms:UntagResource"],"Resource":"*"}]}"#,
    ),
];

pub const PREFIX: &str = "arn:aws:iam::aws:policy/";

/// The document of the AWS managed policy `arn`.
pub fn document(arn: &str) -> Option<&'static str> {
    let name = arn.strip_prefix(PREFIX)?;
    POLICIES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// Every AWS managed policy: (name, ARN).
pub fn all() -> impl Iterator<Item = (&'static str, String)> {
    POLICIES.iter().map(|(n, _)| (*n, format!("{PREFIX}{n}")))
}
