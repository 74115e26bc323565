//! The table against the botocore models, and routing.

use super::*;
use crate::model::model;

fn metadata(service: Service) -> Value {
    let doc: Value = serde_json::from_str(service.source()).expect("embedded model is JSON");
    doc["metadata"].clone()
}

#[test]
fn every_line_agrees_with_its_model() {
    for d in SERVICES {
        let Some(m) = d.model else {
            assert_eq!(d.signing_name, admin::SIGNING_NAME, "{:?}", d.id);
            assert_eq!(
                d.wire,
                Wire::Json {
                    target_prefix: admin::TARGET_PREFIX
                }
            );
            continue;
        };
        let meta = metadata(m);
        let signing = meta["signingName"]
            .as_str()
            .or(meta["endpointPrefix"].as_str())
            .unwrap_or_default();
        assert_eq!(d.signing_name, signing, "{:?}", d.id);
        assert_eq!(d.audit_as, m, "{:?}: audited as its own service", d.id);
        match d.wire {
            Wire::Json { target_prefix } => {
                assert_eq!(model(m).protocol(), "json", "{:?}", d.id);
                assert_eq!(Some(target_prefix), model(m).target_prefix(), "{:?}", d.id);
            }
            Wire::Query { xmlns, version } => {
                assert_eq!(model(m).protocol(), "query", "{:?}", d.id);
                assert_eq!(Some(xmlns), model(m).xml_namespace(), "{:?}", d.id);
                assert_eq!(version, model(m).api_version(), "{:?}", d.id);
            }
        }
        for op in d.operations {
            assert!(
                model(m).has_operation(op),
                "{:?}: {op} is not modelled",
                d.id
            );
        }
        for op in d.unsigned {
            assert!(
                d.has_operation(op),
                "{:?}: unsigned {op} is not listed",
                d.id
            );
        }
    }
}

#[test]
fn every_target_routes_to_the_service_that_has_it() {
    for d in SERVICES {
        if let Wire::Json { target_prefix } = d.wire {
            for op in d.operations {
                let found = by_target(target_prefix, op).map(|f| f.id);
                assert_eq!(found, Some(d.id), "{target_prefix}.{op}");
            }
        }
    }
    // The two services on `coffer.admin`: an unknown operation is the first one's to refuse.
    let admin = |op| by_target(admin::TARGET_PREFIX, op).map(|d| d.id);
    assert_eq!(admin("CreateAccount"), Some(ServiceId::Accounts));
    assert_eq!(admin("CreateRotationFunction"), Some(ServiceId::Admin));
    assert_eq!(admin("NoSuchThing"), Some(ServiceId::Admin));
    assert!(by_target("DynamoDB_20120810", "ListTables").is_none());
}

#[test]
fn query_services_by_signing_name() {
    assert_eq!(
        by_query_signing_name("iam").map(|d| d.id),
        Some(ServiceId::Iam)
    );
    assert_eq!(default_query().id, ServiceId::Sts);
    assert!(by_query_signing_name("kms").is_none(), "KMS is awsJson");
    assert!(serves_signing_name("kms"));
    assert!(!serves_signing_name("lambda"));
    assert_eq!(
        signing_names(),
        [
            "kms",
            "secretsmanager",
            "ssm",
            "cloudtrail",
            "coffer",
            "sts",
            "iam"
        ]
    );
}

#[test]
fn documents_of_coffer_operations_stay_out_of_the_trail() {
    for d in SERVICES {
        // Break-glass documents are kept whole on purpose (they name the incident and hold no
        // secret; GetBreakGlassCredentials is a read, whose answer is never recorded).
        let kept = d.model.is_some() || d.id == ServiceId::BreakGlass;
        assert_eq!(d.audit_documents, kept, "{:?}", d.id);
    }
    let accounts = SERVICES.iter().find(|d| d.id == ServiceId::Accounts);
    assert_eq!(accounts.map(|d| d.audit_as), Some(Service::Iam));
}
