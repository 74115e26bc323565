//! Table: policy elements (Action, Resource, Principal and their Not- forms) and the evaluation
//! logic across policy types and accounts. Every row cites the AWS documentation rule it checks.
#![allow(clippy::unwrap_used)]

mod common;
use coffer_policy::Verdict::{Allow, ExplicitDeny, ImplicitDeny};
use common::*;

const PARAM: &str = "arn:aws:ssm:us-east-1:111122223333:parameter/prod/payments-api/db-password";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY_B: &str = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ROLE_A: &str = "arn:aws:iam::111122223333:role/Reader";
const ROLE_B: &str = "arn:aws:iam::444455556666:role/CrossAccountReader";

fn actions() -> Vec<Case> {
    let a = ACTION;
    vec![
        case(a, "an exact action", Allow).id(allow("secretsmanager:GetSecretValue", "*")),
        case(a, "action names are case-insensitive", Allow).id(allow("SecretsManager:getsecretvalue", "*")),
        case(a, "`*` in an action: prefix", Allow).id(allow("secretsmanager:Get*", "*")),
        case(a, "`*` in an action does not match another prefix", ImplicitDeny).id(allow("secretsmanager:Get*", "*")).action("secretsmanager:PutSecretValue"),
        case(a, "`service:*` covers the service", Allow).id(allow("secretsmanager:*", "*")),
        case(a, "`service:*` does not cover another service", ImplicitDeny).id(allow("ssm:*", "*")),
        case(a, "`*` covers every action", Allow).id(allow("*", "*")).action("kms:Decrypt"),
        case(a, "`?` matches one character", Allow).id(allow("secretsmanager:?etSecretValue", "*")),
        case(a, "`*` inside the action name", Allow).id(allow("secretsmanager:*Secret*", "*")),
        case(a, "a list of actions is ORed", Allow).id(doc(&[r#"{"Effect":"Allow","Action":["ssm:GetParameter","secretsmanager:GetSecretValue"],"Resource":"*"}"#])),
        case(a, "an action not listed is implicitly denied", ImplicitDeny).id(doc(&[r#"{"Effect":"Allow","Action":["ssm:GetParameter","secretsmanager:DescribeSecret"],"Resource":"*"}"#])),
        case(NOTACTION, "NotAction with Allow: every other action is allowed", Allow).id(doc(&[r#"{"Effect":"Allow","NotAction":"secretsmanager:DeleteSecret","Resource":"*"}"#])),
        case(NOTACTION, "NotAction with Allow: the listed action is not", ImplicitDeny).id(doc(&[r#"{"Effect":"Allow","NotAction":"secretsmanager:DeleteSecret","Resource":"*"}"#])).action("secretsmanager:DeleteSecret"),
        case(NOTACTION, "NotAction with Deny: deny everything but IAM", ExplicitDeny).id(allow("*", "*")).id(doc(&[r#"{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}"#])),
        case(NOTACTION, "NotAction with Deny: the excepted actions stay allowed", Allow).id(allow("*", "*")).id(doc(&[r#"{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}"#])).action("iam:GetUser").on("*", A),
        case(NOTACTION, "NotAction patterns ignore case too", ImplicitDeny).id(doc(&[r#"{"Effect":"Allow","NotAction":"SECRETSMANAGER:GET*","Resource":"*"}"#])),
    ]
}

fn resources() -> Vec<Case> {
    let r = RESOURCE;
    vec![
        case(r, "an exact resource ARN", Allow).id(allow("secretsmanager:GetSecretValue", SECRET)),
        case(r, "another resource is not covered", ImplicitDeny).id(allow("secretsmanager:GetSecretValue", SECRET)).on("arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/other-AbCdEf", A),
        case(r, "`*` covers every resource", Allow).id(allow("secretsmanager:GetSecretValue", "*")),
        case(r, "`?` per character (the 6-character secret suffix)", Allow).id(allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-??????")),
        case(r, "resource ARNs are case-sensitive", ImplicitDeny).id(allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:PROD/*")),
        case(r, "wildcards in the region and account segments", Allow).id(allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret:prod/*")),
        case(r, "a wildcard stays inside its segment", ImplicitDeny).id(allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:444455556666:secret:*")),
        case(r, "a path-scoped parameter policy covers the subtree", Allow).id(allow("ssm:GetParameter", "arn:aws:ssm:*:*:parameter/prod/payments-api/*")).action("ssm:GetParameter").on(PARAM, A),
        case(r, "a path-scoped parameter policy excludes siblings", ImplicitDeny).id(allow("ssm:GetParameter", "arn:aws:ssm:*:*:parameter/prod/payments-api/*")).action("ssm:GetParameter").on("arn:aws:ssm:us-east-1:111122223333:parameter/prod/billing/db", A),
        case(r, "a path-scoped parameter policy excludes the path itself", ImplicitDeny).id(allow("ssm:GetParametersByPath", "arn:aws:ssm:*:*:parameter/prod/payments-api/*")).action("ssm:GetParametersByPath").on("arn:aws:ssm:us-east-1:111122223333:parameter/prod/payments-api", A),
        case(r, "a list of resources is ORed", Allow).id(doc(&[&format!(r#"{{"Effect":"Allow","Action":"*","Resource":["arn:aws:s3:::x","{SECRET}"]}}"#)])),
        case(r, "an action on no resource needs Resource `*`", Allow).id(allow("secretsmanager:ListSecrets", "*")).action("secretsmanager:ListSecrets").on("*", A),
        case(r, "an action on no resource is not covered by an ARN", ImplicitDeny).id(allow("secretsmanager:ListSecrets", "arn:aws:secretsmanager:*:*:secret:*")).action("secretsmanager:ListSecrets").on("*", A),
        case(NOTRESOURCE, "NotResource with Allow: other resources allowed", Allow).id(doc(&[r#"{"Effect":"Allow","Action":"*","NotResource":"arn:aws:secretsmanager:*:*:secret:admin/*"}"#])),
        case(NOTRESOURCE, "NotResource with Allow: the listed resource is not", ImplicitDeny).id(doc(&[r#"{"Effect":"Allow","Action":"*","NotResource":"arn:aws:secretsmanager:*:*:secret:prod/*"}"#])),
        case(NOTRESOURCE, "NotResource with Deny: everything but the listed resource is denied", ExplicitDeny).id(allow("*", "*")).id(doc(&[r#"{"Effect":"Deny","Action":"*","NotResource":"arn:aws:secretsmanager:*:*:secret:dev/*"}"#])),
        case(NOTRESOURCE, "NotResource with Deny: the listed resource is spared", Allow).id(allow("*", "*")).id(doc(&[r#"{"Effect":"Deny","Action":"*","NotResource":"arn:aws:secretsmanager:*:*:secret:prod/*"}"#])),
        case(&format!("{VARS}#policy-vars-resourceelement"), "${aws:username} in Resource: own home", Allow).id(allow("*", "arn:aws:secretsmanager:*:*:secret:home/${aws:username}/*")).on("arn:aws:secretsmanager:us-east-1:111122223333:secret:home/alice/token-AbCdEf", A),
        case(&format!("{VARS}#policy-vars-resourceelement"), "${aws:username} in Resource: another user's home", ImplicitDeny).id(allow("*", "arn:aws:secretsmanager:*:*:secret:home/${aws:username}/*")).on("arn:aws:secretsmanager:us-east-1:111122223333:secret:home/bob/token-AbCdEf", A),
        case(&format!("{VARS}#policy-vars-tags"), "${aws:PrincipalTag/...} in Resource", Allow).id(allow("*", "arn:aws:secretsmanager:*:*:secret:${aws:PrincipalTag/team}/*")).tag("team", "prod"),
        case(VARS, "an unresolved variable in Resource matches nothing (role sessions have no aws:username)", ImplicitDeny).id(allow("*", "arn:aws:secretsmanager:*:*:secret:${aws:username}*")).who("role/prod/s"),
        case(VARS, "an unresolved variable in a Deny's Resource does not deny (statement invalid)", Allow).id(allow("*", "*")).id(deny("*", "arn:aws:secretsmanager:*:*:secret:${aws:username}*")).who("role/prod/s"),
        case(VARS, "the default value of a variable in Resource", Allow).id(allow("*", "arn:aws:secretsmanager:*:*:secret:${aws:username, 'prod'}/*")).who("role/R/s"),
        case(&format!("{VARS}#policy-vars-specialchars"), "${*} in Resource is a literal asterisk", ImplicitDeny).id(allow("*", "arn:aws:secretsmanager:us-east-1:111122223333:secret:${*}")),
    ]
}

fn principals() -> Vec<Case> {
    let p = PRINCIPAL;
    let np = NOTPRINCIPAL;
    let alice = r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#;
    let np_deny = |principals: &str| {
        doc(&[&format!(
            r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":{principals}}},"Action":"*","Resource":"*"}}"#
        )])
    };
    vec![
        case(p, "an IAM user ARN names that user", Allow).res(grant(alice, "secretsmanager:GetSecretValue")),
        case(p, "an IAM user ARN does not name another user", ImplicitDeny).res(grant(r#"{"AWS":"arn:aws:iam::111122223333:user/bob"}"#, "*")),
        case(p, "the user name in a principal ARN is case-sensitive", ImplicitDeny).res(grant(r#"{"AWS":"arn:aws:iam::111122223333:user/Alice"}"#, "*")),
        case(p, "a list of principals is ORed", Allow).res(grant(r#"{"AWS":["arn:aws:iam::111122223333:user/bob","arn:aws:iam::111122223333:user/alice"]}"#, "*")),
        case(&format!("{p}#principal-anonymous"), "`\"*\"` names everyone", Allow).res(grant(r#""*""#, "*")),
        case(&format!("{p}#principal-anonymous"), "`{\"AWS\": \"*\"}` is the same as `\"*\"`", Allow).res(grant(r#"{"AWS":"*"}"#, "*")),
        case(&format!("{p}#principal-role-session"), "a role-session ARN names that session", Allow).who("role/Reader/s1").res(grant(r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s1"}"#, "*")),
        case(&format!("{p}#principal-role-session"), "a role-session ARN does not name another session", ImplicitDeny).who("role/Reader/s2").res(grant(r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s1"}"#, "*")),
        case(&format!("{p}#principal-roles"), "a role ARN names the role's sessions", Allow).who("role/Reader/any").res(grant(&format!(r#"{{"AWS":"{ROLE_A}"}}"#), "*")),
        case(&format!("{p}#principal-roles"), "a role ARN does not name another role's sessions", ImplicitDeny).who("role/Writer/s").res(grant(&format!(r#"{{"AWS":"{ROLE_A}"}}"#), "*")),
        case(&format!("{p}#principal-services"), "a service principal", Allow).who("service:secretsmanager.amazonaws.com").res(grant(r#"{"Service":"secretsmanager.amazonaws.com"}"#, "*")),
        case(&format!("{p}#principal-services"), "another service is not named", ImplicitDeny).who("service:lambda.amazonaws.com").res(grant(r#"{"Service":["secretsmanager.amazonaws.com","ssm.amazonaws.com"]}"#, "*")),
        case(&format!("{p}#principal-services"), "`*` names services too", Allow).who("service:lambda.amazonaws.com").res(grant(r#""*""#, "*")),
        case(&format!("{p}#principal-services"), "an AWS account does not name a service", ImplicitDeny).who("service:lambda.amazonaws.com").res(grant(&format!(r#"{{"AWS":"{A}"}}"#), "*")),
        case(&format!("{p}#sts-session-principals"), "a federated-user ARN names that session", Allow).who("fed/carol").res(grant(r#"{"AWS":"arn:aws:sts::111122223333:federated-user/carol"}"#, "*")),
        case(np, "NotPrincipal+Deny listing the user and its account spares the user", Allow).id(allow("*", "*")).res(np_deny(r#"["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:root"]"#)),
        case(np, "NotPrincipal+Deny listing the user but not its account denies (account checked first)", ExplicitDeny).id(allow("*", "*")).res(np_deny(r#"["arn:aws:iam::111122223333:user/alice"]"#)),
        case(np, "NotPrincipal+Deny denies everyone not listed", ExplicitDeny).id(allow("*", "*")).res(np_deny(r#"["arn:aws:iam::111122223333:user/bob","arn:aws:iam::111122223333:root"]"#)),
        case(np, "NotPrincipal+Deny listing session, role and account spares the session", Allow).who("role/Reader/app").id(allow("*", "*")).res(np_deny(r#"["arn:aws:sts::111122223333:assumed-role/Reader/app","arn:aws:iam::111122223333:role/Reader","arn:aws:iam::111122223333:root"]"#)),
        case(np, "NotPrincipal+Deny missing the role's ARN denies the session", ExplicitDeny).who("role/Reader/app").id(allow("*", "*")).res(np_deny(r#"["arn:aws:sts::111122223333:assumed-role/Reader/app","arn:aws:iam::111122223333:root"]"#)),
        case(BOUNDARIES, "NotPrincipal+Deny always denies a principal with a permissions boundary", ExplicitDeny).id(allow("*", "*")).boundary(allow("*", "*")).res(np_deny(r#"["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:root"]"#)),
        case(&format!("{np}#specifying-notprincipal-allow"), "NotPrincipal+Allow grants everyone not listed", Allow).res(doc(&[r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"*","Resource":"*"}"#])),
        case(&format!("{np}#specifying-notprincipal-allow"), "NotPrincipal+Allow does not grant the listed principal", ImplicitDeny).res(doc(&[r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"*","Resource":"*"}"#])),
        case(p, "a resource-policy Allow without Principal grants nobody (documented choice)", ImplicitDeny).res(allow("*", "*")),
        case(p, "a resource-policy Deny without Principal denies everybody (documented choice)", ExplicitDeny).id(allow("*", "*")).res(deny("*", "*")),
        case(p, "a role ARN with a path names sessions of that role", Allow).who("role/team/Reader/s").res(grant(r#"{"AWS":"arn:aws:iam::111122223333:role/team/Reader"}"#, "*")),
        case(p, "a Principal in an identity policy is ignored (IAM refuses to store one)", Allow).id(grant(r#"{"AWS":"arn:aws:iam::111122223333:user/bob"}"#, "*")),
    ]
}

fn same_account() -> Vec<Case> {
    let e = &format!("{EVAL}#policy-eval-denyallow");
    let basics = &format!("{EVAL}#policy-eval-basics-id-rdp");
    let acct = &format!(r#"{{"AWS":"arn:aws:iam::{A}:root"}}"#);
    let acct_id = &format!(r#"{{"AWS":"{A}"}}"#);
    let session_arn = r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s1"}"#;
    let role = &format!(r#"{{"AWS":"{ROLE_A}"}}"#);
    let only_ssm = || allow("ssm:*", "*");
    vec![
        case(e, "every request is implicitly denied by default", ImplicitDeny),
        case(e, "an identity-based Allow allows", Allow).id(allow("*", "*")),
        case(e, "an explicit Deny denies", ExplicitDeny).id(deny("*", "*")),
        case(e, "an explicit Deny overrides an Allow in the same policy", ExplicitDeny).id(doc(&[r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#, r#"{"Effect":"Deny","Action":"secretsmanager:*","Resource":"*"}"#])),
        case(e, "an explicit Deny in one policy overrides an Allow in another", ExplicitDeny).id(allow("*", "*")).id(deny("secretsmanager:GetSecretValue", SECRET)),
        case(e, "a Deny that does not apply (condition false) does not deny", Allow).id(allow("*", "*")).id(doc(&[r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#])).ctx("aws:SecureTransport", &["true"]),
        case(e, "a Deny on another action does not deny", Allow).id(allow("*", "*")).id(deny("secretsmanager:DeleteSecret", "*")),
        case(&format!("{EVAL}#AccessPolicyLanguage_Interplay"), "the documented DenyReports example: iam:*Report denied", ExplicitDeny).id(doc(&[r#"{"Sid":"AllowGetList","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}"#, r#"{"Sid":"DenyReports","Effect":"Deny","Action":"iam:*Report","Resource":"*"}"#])).action("iam:GetOrganizationsAccessReport").on("*", A),
        case(&format!("{EVAL}#AccessPolicyLanguage_Interplay"), "the documented example: iam:CreatePolicy implicitly denied", ImplicitDeny).id(doc(&[r#"{"Sid":"AllowGetList","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}"#, r#"{"Sid":"DenyReports","Effect":"Deny","Action":"iam:*Report","Resource":"*"}"#])).action("iam:CreatePolicy").on("*", A),
        case(basics, "same account: the resource policy alone allows a user it names", Allow).res(grant(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, "secretsmanager:GetSecretValue")),
        case(basics, "same account: identity OR resource policy — identity alone", Allow).id(allow("*", "*")).res(grant(r#"{"AWS":"arn:aws:iam::111122223333:user/bob"}"#, "*")),
        case(basics, "same account: a Deny in the resource policy overrides an identity Allow", ExplicitDeny).id(allow("*", "*")).res(refuse(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, "*")),
        case(basics, "same account: a Deny in an identity policy overrides a resource Allow", ExplicitDeny).id(deny("*", "*")).res(grant(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, "*")),
        case(basics, "a resource-policy Deny naming someone else does not apply", Allow).id(allow("*", "*")).res(refuse(r#"{"AWS":"arn:aws:iam::111122223333:user/bob"}"#, "*")),
        case(&format!("{PRINCIPAL}#principal-accounts"), "naming the account delegates: without an identity Allow, denied", ImplicitDeny).res(grant(acct, "*")),
        case(&format!("{PRINCIPAL}#principal-accounts"), "naming the account (bare id) delegates: with an identity Allow, allowed", Allow).id(allow("*", "*")).res(grant(acct_id, "*")),
        case(&format!("{PRINCIPAL}#principal-anonymous"), "same account: `*` needs no other permission", Allow).who("role/Reader/s1").res(grant(r#""*""#, "*")),
        case(e, "same account: a resource policy naming the role allows the role's session", Allow).who("role/Reader/s1").res(grant(role, "*")),
        case(e, "same account: naming the session allows it", Allow).who("role/Reader/s1").res(grant(session_arn, "*")),
        case(e, "a grant to the role ARN is limited by the session policy", ImplicitDeny).who("role/Reader/s1").res(grant(role, "*")).session(&[only_ssm()]),
        case(e, "a grant to the role ARN is limited by the permissions boundary", ImplicitDeny).who("role/Reader/s1").res(grant(role, "*")).boundary(only_ssm()),
        case(e, "a grant to the session ARN is not limited by the session policy", Allow).who("role/Reader/s1").res(grant(session_arn, "*")).session(&[only_ssm()]),
        case(e, "a grant to the session ARN is not limited by the permissions boundary", Allow).who("role/Reader/s1").res(grant(session_arn, "*")).boundary(only_ssm()),
        case(e, "a grant to the user ARN is not limited by the permissions boundary", Allow).res(grant(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, "*")).boundary(only_ssm()),
        case(e, "a grant to the account is limited by the permissions boundary", ImplicitDeny).id(allow("*", "*")).res(grant(acct, "*")).boundary(only_ssm()),
        case(e, "a grant to the federated user's session ARN is direct", Allow).who("fed/carol").res(grant(r#"{"AWS":"arn:aws:sts::111122223333:federated-user/carol"}"#, "*")).session(&[only_ssm()]),
        case(e, "an explicit Deny beats even a direct resource grant", ExplicitDeny).who("role/Reader/s1").res(grant(session_arn, "*")).session(&[deny("*", "*")]),
        case(e, "the account root has every permission nothing denies", Allow).who("root"),
        case(e, "the account root is still bound by an explicit Deny in a resource policy", ExplicitDeny).who("root").res(refuse(&format!(r#"{{"AWS":"{A}"}}"#), "*")),
        case(e, "a resource policy naming the account names its root directly", Allow).who("root").res(grant(acct, "*")),
    ]
}

fn boundaries_sessions() -> Vec<Case> {
    let b = &format!("{BOUNDARIES}#access_policies_boundaries-eval-logic");
    let s = SESSION;
    let only_ssm = || allow("ssm:*", "*");
    let sm = || allow("secretsmanager:*", "*");
    vec![
        case(b, "identity allows and boundary allows → allowed", Allow).id(allow("*", "*")).boundary(sm()),
        case(b, "identity allows, boundary does not → denied (intersection)", ImplicitDeny).id(allow("*", "*")).boundary(only_ssm()),
        case(b, "boundary allows, identity does not → denied (a boundary grants nothing)", ImplicitDeny).boundary(allow("*", "*")),
        case(b, "an explicit Deny in the boundary denies", ExplicitDeny).id(allow("*", "*")).boundary(doc(&[r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#, r#"{"Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"*"}"#])),
        case(b, "the boundary's conditions count", ImplicitDeny).id(allow("*", "*")).boundary(doc(&[r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-central-1"}}}"#])).ctx("aws:RequestedRegion", &["us-east-1"]),
        case(s, "identity allows and session policy allows → allowed", Allow).who("role/R/s").id(allow("*", "*")).session(&[sm()]),
        case(s, "session policy allows, identity does not → denied (session policies grant nothing)", ImplicitDeny).who("role/R/s").session(&[allow("*", "*")]),
        case(s, "identity allows, session policy does not → denied", ImplicitDeny).who("role/R/s").id(allow("*", "*")).session(&[only_ssm()]),
        case(s, "several session policies: one allowing is enough", Allow).who("role/R/s").id(allow("*", "*")).session(&[only_ssm(), sm()]),
        case(s, "an explicit Deny in a session policy denies", ExplicitDeny).who("role/R/s").id(allow("*", "*")).session(&[allow("*", "*"), deny("secretsmanager:*", "*")]),
        case(s, "an empty session-policy list allows nothing", ImplicitDeny).who("role/R/s").id(allow("*", "*")).session(&[]),
        case(s, "the session policy narrows the resource too", ImplicitDeny).who("role/R/s").id(allow("*", "*")).session(&[allow("secretsmanager:*", "arn:aws:secretsmanager:*:*:secret:dev/*")]),
        case(s, "boundary and session policy both narrow: both must allow", ImplicitDeny).who("role/R/s").id(allow("*", "*")).boundary(sm()).session(&[only_ssm()]),
    ]
}

fn cross_account() -> Vec<Case> {
    let x = &format!("{CROSS}#policy-eval-cross-account");
    let reader = "B:role/CrossAccountReader/app";
    let seed = &format!(r#"{{"AWS":"{ROLE_B}"}}"#);
    let acct_b = &format!(r#"{{"AWS":"arn:aws:iam::{B}:root"}}"#);
    let read = || allow("secretsmanager:GetSecretValue", "*");
    vec![
        case(x, "the seed: resource policy names the role, the role's policy allows → allowed", Allow).who(reader).id(read()).res(grant(seed, "secretsmanager:GetSecretValue")),
        case(x, "the seed without a resource policy → denied", ImplicitDeny).who(reader).id(read()),
        case(x, "the seed without the caller's identity policy → denied", ImplicitDeny).who(reader).res(grant(seed, "*")),
        case(x, "the resource policy names another role → denied", ImplicitDeny).who("B:role/Other/app").id(read()).res(grant(seed, "*")),
        case(x, "the resource policy names the caller's account (root ARN)", Allow).who("B:user/bob").id(read()).res(grant(acct_b, "*")),
        case(x, "the resource policy names the caller's account (bare id)", Allow).who("B:user/bob").id(read()).res(grant(&format!(r#"{{"AWS":"{B}"}}"#), "*")),
        case(x, "the resource policy names another account → denied", ImplicitDeny).who("B:user/bob").id(read()).res(grant(r#"{"AWS":"999988887777"}"#, "*")),
        case(x, "`*` in the resource policy plus the caller's identity Allow", Allow).who("B:user/bob").id(read()).res(grant(r#""*""#, "*")),
        case(x, "`*` in the resource policy alone is not enough across accounts", ImplicitDeny).who("B:user/bob").res(grant(r#""*""#, "*")),
        case(x, "even a session named directly needs its identity Allow across accounts", ImplicitDeny).who(reader).res(grant(r#"{"AWS":"arn:aws:sts::444455556666:assumed-role/CrossAccountReader/app"}"#, "*")),
        case(x, "a Deny in the resource policy denies across accounts", ExplicitDeny).who(reader).id(read()).res(doc(&[&format!(r#"{{"Effect":"Allow","Principal":{seed},"Action":"*","Resource":"*"}}"#), &format!(r#"{{"Effect":"Deny","Principal":{acct_b},"Action":"*","Resource":"*"}}"#)])),
        case(x, "a Deny in the caller's identity policy denies across accounts", ExplicitDeny).who(reader).id(read()).id(deny("*", "*")).res(grant(seed, "*")),
        case(x, "the caller's permissions boundary limits cross-account access", ImplicitDeny).who(reader).id(read()).res(grant(seed, "*")).boundary(allow("ssm:*", "*")),
        case(x, "the caller's session policy limits cross-account access", ImplicitDeny).who(reader).id(read()).res(grant(seed, "*")).session(&[allow("ssm:*", "*")]),
        case(x, "the caller's identity policy must cover the foreign resource ARN", ImplicitDeny).who(reader).id(allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:444455556666:secret:*")).res(grant(seed, "*")),
        case(x, "a caller in B reading a secret in its own account B is same-account", Allow).who("B:user/bob").id(read()).on(SECRET_B, B),
        case(x, "a caller in A reading a secret in B named by its user ARN", Allow).id(read()).on(SECRET_B, B).res(grant(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, "*")),
        case(x, "the root of another account still needs the resource policy", ImplicitDeny).who("B:root"),
        case(x, "the root of another account named by the resource policy", Allow).who("B:root").res(grant(acct_b, "*")),
        case(x, "aws:PrincipalAccount in a resource policy condition", Allow).who(reader).id(read()).res(doc(&[&format!(r#"{{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{{"StringEquals":{{"aws:PrincipalAccount":"{B}"}}}}}}"#)])),
        case(KEYS, "aws:ResourceAccount: an identity policy limited to the caller's own account", ImplicitDeny).who(reader).id(doc(&[&format!(r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"StringEquals":{{"aws:ResourceAccount":"{B}"}}}}}}"#)])).res(grant(seed, "*")),
        case(KEYS, "aws:ResourceAccount is the resource owner's account", Allow).who(reader).id(doc(&[&format!(r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"StringEquals":{{"aws:ResourceAccount":"{A}"}}}}}}"#)])).res(grant(seed, "*")),
        case(&format!("{PRINCIPAL}#principal-anonymous"), "Deny everyone but one principal with ArnNotEquals on aws:PrincipalArn", ExplicitDeny).who("B:role/Other/app").id(allow("*", "*")).res(doc(&[&format!(r#"{{"Effect":"Allow","Principal":{acct_b},"Action":"*","Resource":"*"}}"#), &format!(r#"{{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{{"ArnNotEquals":{{"aws:PrincipalArn":"{ROLE_B}"}}}}}}"#)])),
        case(&format!("{PRINCIPAL}#principal-anonymous"), "…and that principal is allowed", Allow).who(reader).id(allow("*", "*")).res(doc(&[&format!(r#"{{"Effect":"Allow","Principal":{acct_b},"Action":"*","Resource":"*"}}"#), &format!(r#"{{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{{"ArnNotEquals":{{"aws:PrincipalArn":"{ROLE_B}"}}}}}}"#)])),
    ]
}

fn key_and_trust_policies() -> Vec<Case> {
    let k = KMS;
    let root_a = &format!(r#"{{"AWS":"arn:aws:iam::{A}:root"}}"#);
    let decrypt = || allow("kms:Decrypt", "*");
    let managed = |account: &str| {
        doc(&[&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*","Condition":{{"StringEquals":{{"kms:CallerAccount":"{account}","kms:ViaService":"secretsmanager.us-east-1.amazonaws.com"}}}}}}"#
        )])
    };
    let trust = |principal: &str| {
        doc(&[&format!(
            r#"{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}"#
        )])
    };
    let web = r#"{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.com:sub":"system:serviceaccount:payments:api","oidc.example.com:aud":"sts.amazonaws.com"}}}"#;
    let provider = "web:arn:aws:iam::111122223333:oidc-provider/oidc.example.com";
    vec![
        case(k, "a key policy must allow: an identity Allow alone is not enough", ImplicitDeny).required().action("kms:Decrypt").on(KEY, A).id(decrypt()),
        case(k, "the default key policy (account root) lets IAM policies grant", Allow).required().action("kms:Decrypt").on(KEY, A).id(decrypt()).res(grant(root_a, "kms:*")),
        case(k, "the default key policy without an IAM Allow → denied", ImplicitDeny).required().action("kms:Decrypt").on(KEY, A).res(grant(root_a, "kms:*")),
        case(k, "a key policy naming the user grants without an IAM policy", Allow).required().action("kms:Decrypt").on(KEY, A).res(grant(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, "kms:Decrypt")),
        case(k, "a key policy naming only another account: same-account IAM Allow is not enough", ImplicitDeny).required().action("kms:Decrypt").on(KEY, A).id(decrypt()).res(grant(&format!(r#"{{"AWS":"{B}"}}"#), "kms:*")),
        case(k, "the account root needs the key policy too", ImplicitDeny).required().who("root").action("kms:Decrypt").on(KEY, A).res(grant(r#"{"AWS":"arn:aws:iam::444455556666:root"}"#, "kms:*")),
        case(k, "the account root through the default key policy", Allow).required().who("root").action("kms:Decrypt").on(KEY, A).res(grant(root_a, "kms:*")),
        case(k, "AWS managed key: any principal of the account through the service", Allow).required().action("kms:Decrypt").on(KEY, A).res(managed(A)).ctx("kms:CallerAccount", &[A]).ctx("kms:ViaService", &["secretsmanager.us-east-1.amazonaws.com"]),
        case(k, "AWS managed key: not directly, only through the service", ImplicitDeny).required().action("kms:Decrypt").on(KEY, A).res(managed(A)).ctx("kms:CallerAccount", &[A]),
        case(k, "AWS managed key: another account cannot use it (the cross-account pitfall)", ImplicitDeny).required().who("B:role/CrossAccountReader/app").id(allow("*", "*")).action("kms:Decrypt").on(KEY, A).res(managed(A)).ctx("kms:CallerAccount", &[B]).ctx("kms:ViaService", &["secretsmanager.us-east-1.amazonaws.com"]),
        case(k, "customer managed key shared with the role: key policy + the role's IAM Allow", Allow).required().who("B:role/CrossAccountReader/app").id(decrypt()).action("kms:Decrypt").on(KEY, A).res(grant(&format!(r#"{{"AWS":"{ROLE_B}"}}"#), "kms:Decrypt")),
        case(k, "customer managed key before its key policy names the role → denied", ImplicitDeny).required().who("B:role/CrossAccountReader/app").id(decrypt()).action("kms:Decrypt").on(KEY, A).res(grant(root_a, "kms:*")),
        case(k, "a key in another account, used by a caller whose key policy names it", Allow).required().id(decrypt()).action("kms:Decrypt").on(KEY_B, B).res(grant(&format!(r#"{{"AWS":"{A}"}}"#), "kms:Decrypt")),
        case(k, "kms:EncryptionContext condition in the key policy", Allow).required().action("kms:Decrypt").on(KEY, A).res(doc(&[r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:SecretARN":"arn:x"}}}"#])).ctx("kms:EncryptionContext:SecretARN", &["arn:x"]),
        case(&format!("{EVAL}#policy-eval-denyallow"), "a trust policy must allow even in the same account", ImplicitDeny).required().action("sts:AssumeRole").on(ROLE_A, A).id(allow("sts:AssumeRole", "*")).res(trust(r#"{"Service":"lambda.amazonaws.com"}"#)),
        case(&format!("{EVAL}#policy-eval-denyallow"), "a trust policy naming the account + the caller's IAM Allow", Allow).required().action("sts:AssumeRole").on(ROLE_A, A).id(allow("sts:AssumeRole", "*")).res(trust(root_a)),
        case(&format!("{EVAL}#policy-eval-denyallow"), "a trust policy naming the user directly (same account)", Allow).required().action("sts:AssumeRole").on(ROLE_A, A).res(trust(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#)),
        case(&format!("{PRINCIPAL}#principal-services"), "a trust policy naming a service", Allow).required().who("service:lambda.amazonaws.com").action("sts:AssumeRole").on(ROLE_A, A).res(trust(r#"{"Service":"lambda.amazonaws.com"}"#)),
        case(&format!("{PRINCIPAL}#principal-federated-web-identity"), "web identity: the provider and the sub/aud conditions", Allow).required().who(provider).action("sts:AssumeRoleWithWebIdentity").on(ROLE_A, A).res(doc(&[web])).ctx("oidc.example.com:sub", &["system:serviceaccount:payments:api"]).ctx("oidc.example.com:aud", &["sts.amazonaws.com"]),
        case(&format!("{PRINCIPAL}#principal-federated-web-identity"), "web identity: a token with the wrong sub", ImplicitDeny).required().who(provider).action("sts:AssumeRoleWithWebIdentity").on(ROLE_A, A).res(doc(&[web])).ctx("oidc.example.com:sub", &["system:serviceaccount:other:api"]).ctx("oidc.example.com:aud", &["sts.amazonaws.com"]),
        case(&format!("{PRINCIPAL}#principal-federated-web-identity"), "web identity: another provider", ImplicitDeny).required().who("web:arn:aws:iam::111122223333:oidc-provider/other.example.com").action("sts:AssumeRoleWithWebIdentity").on(ROLE_A, A).res(doc(&[web])).ctx("oidc.example.com:sub", &["system:serviceaccount:payments:api"]).ctx("oidc.example.com:aud", &["sts.amazonaws.com"]),
    ]
}

#[test]
fn evaluation_table() {
    let cases: Vec<Case> = [
        actions(),
        resources(),
        principals(),
        same_account(),
        boundaries_sessions(),
        cross_account(),
        key_and_trust_policies(),
    ]
    .concat();
    assert!(cases.len() >= 130, "{} evaluation rows", cases.len());
    run_table("evaluation", &cases);
}
