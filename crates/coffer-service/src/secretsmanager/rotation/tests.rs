//! Rotation against a real SQLite store and real KMS, without HTTP, on a clock the tests control:
//! the protocol with the generic rotator and with scripted functions (failures, retries with
//! backoff, cancellation), and the scheduler across days, restarts and duplicate runners.
#![allow(clippy::unwrap_used)]

use super::api::*;
use super::engine::*;
use super::*;
use crate::secretsmanager::{SecretsManager, SecretsManagerError as E};
use crate::{Principal, RequestContext, ServiceError, Services};
use async_trait::async_trait;
use coffer_crypto::MasterKey;
use coffer_types::SecretBytes;
use coffer_types::{AccountId, Region};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::Mutex;

const DAY: i64 = 86_400_000;
/// 2030-01-10T13:00:00Z.
const NOW: i64 = 1_894_280_400_000;
const GENERIC: &str = "arn:aws:lambda:us-east-1:012345678901:function:CofferRandomPasswordRotation";
const SCRIPTED: &str = "arn:aws:lambda:us-east-1:000000000000:function:scripted";

/// A function that records the steps it sees and can be told to fail at one.
#[derive(Default)]
struct Scripted {
    seen: Mutex<Vec<String>>,
    fail_at: Mutex<Option<&'static str>>,
}

#[async_trait]
impl RotationFunction for Scripted {
    async fn invoke(&self, event: &Invocation, api: &RotationApi) -> Result<(), RotationError> {
        self.seen.lock().unwrap().push(event.step.to_owned());
        if *self.fail_at.lock().unwrap() == Some(event.step) {
            return Err(RotationError::new(format!("{} refused", event.step)));
        }
        match event.step {
            "createSecret" => {
                let p = api.new_password()?;
                api.create_pending(event, |_| Ok(p)).await
            }
            "finishSecret" => api.finish(event).await,
            _ => api.pending(event).await.map(|_| ()),
        }
    }
}

#[derive(Debug)]
struct Host(Arc<ScriptedHandle>);
struct ScriptedHandle(Arc<Scripted>);
impl std::fmt::Debug for ScriptedHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scripted")
    }
}

impl FunctionHost for Host {
    fn builtin(&self, name: &str) -> Option<Arc<dyn RotationFunction>> {
        if name == "scripted" {
            return Some(self.0.0.clone());
        }
        generic_builtin(name)
    }
    fn http(&self, _: HttpFunction) -> Arc<dyn RotationFunction> {
        Arc::new(Unavailable)
    }
}

struct Env {
    sm: SecretsManager,
    scripted: Arc<Scripted>,
    url: String,
    master: Arc<MasterKey>,
    _dir: tempfile::TempDir,
}

/// Services on the database at `url`: a second call is a restarted server (or another node).
async fn services(url: &str, scripted: &Arc<Scripted>, master: &Arc<MasterKey>) -> SecretsManager {
    let store = coffer_store::open(url).await.unwrap();
    store.ensure_account("000000000000", 0).await.unwrap();
    let services = Services::new(store, master.clone())
        .with_rotation_functions(Arc::new(Host(Arc::new(ScriptedHandle(scripted.clone())))));
    services.secretsmanager
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let scripted = Arc::new(Scripted::default());
    let master = Arc::new(MasterKey::generate().unwrap());
    Env {
        sm: services(&url, &scripted, &master).await,
        scripted,
        url,
        master,
        _dir: dir,
    }
}

fn ctx(now: i64) -> RequestContext {
    RequestContext {
        principal: Principal {
            account_id: AccountId::parse("000000000000").unwrap(),
            arn: "arn:aws:iam::000000000000:root".into(),
            user_id: "000000000000".into(),
            access_key_id: "AKIATEST".into(),
            session: None,
            tags: Vec::new(),
        },
        region: Region::parse("us-east-1").unwrap(),
        request_id: "req-1".into(),
        now,
        dev: false,
        source_ip: None,
        secure_transport: false,
        via_service: None,
    }
}

/// As the SDKs do, fill in a missing ClientRequestToken (an idempotency token in the model).
async fn call(sm: &SecretsManager, now: i64, op: &str, mut input: Value) -> Result<Value, E> {
    let idempotent = [
        "CreateSecret",
        "PutSecretValue",
        "UpdateSecret",
        "RotateSecret",
    ];
    if idempotent.contains(&op)
        && let Some(members) = input.as_object_mut()
    {
        members
            .entry("ClientRequestToken")
            .or_insert_with(|| uuid::Uuid::new_v4().to_string().into());
    }
    sm.dispatch(&ctx(now), op, input).await
}

async fn ok(sm: &SecretsManager, now: i64, op: &str, input: Value) -> Value {
    match call(sm, now, op, input).await {
        Ok(v) => v,
        Err(e) => panic!("{op}: {} {}", e.code(), e.message()),
    }
}

async fn current(sm: &SecretsManager, now: i64, id: &str) -> (String, String) {
    let v = ok(sm, now, "GetSecretValue", json!({"SecretId": id})).await;
    (
        v["VersionId"].as_str().unwrap().to_owned(),
        v["SecretString"].as_str().unwrap().to_owned(),
    )
}

async fn describe(sm: &SecretsManager, now: i64, id: &str) -> Value {
    ok(sm, now, "DescribeSecret", json!({"SecretId": id})).await
}

fn seconds(ms: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let s = ms as f64 / 1000.0;
    s
}

#[tokio::test]
async fn generic_rotation_and_its_schedule() {
    let e = env().await;
    let sm = &e.sm;
    ok(
        sm,
        NOW,
        "CreateSecret",
        json!({"Name": "app/db", "SecretString": r#"{"username":"app","password":"old"}"#}),
    )
    .await;
    let (v1, _) = current(sm, NOW, "app/db").await;

    let out = ok(
        sm,
        NOW,
        "RotateSecret",
        json!({"SecretId": "app/db", "RotationLambdaARN": GENERIC,
               "RotationRules": {"AutomaticallyAfterDays": 30}}),
    )
    .await;
    let v2 = out["VersionId"].as_str().unwrap().to_owned();
    let (now_current, value) = current(sm, NOW, "app/db").await;
    assert_eq!(now_current, v2);
    let doc: Value = serde_json::from_str(&value).unwrap();
    assert_eq!(doc["username"], "app");
    assert_ne!(doc["password"], "old");
    assert_eq!(doc["password"].as_str().unwrap().len(), 32);
    let prev = ok(
        sm,
        NOW,
        "GetSecretValue",
        json!({"SecretId": "app/db", "VersionStage": "AWSPREVIOUS"}),
    )
    .await;
    assert_eq!(prev["VersionId"], v1.as_str());

    let d = describe(sm, NOW, "app/db").await;
    assert_eq!(d["RotationEnabled"], true);
    assert_eq!(d["RotationLambdaARN"], GENERIC);
    assert_eq!(d["RotationRules"], json!({"AutomaticallyAfterDays": 30}));
    assert_eq!(d["LastRotatedDate"], json!(seconds(NOW)));
    // 2030-01-10 + 30 days = 2030-02-09, rotated by the end of that day.
    let window = NOW - NOW % DAY + 30 * DAY;
    assert_eq!(d["NextRotationDate"], json!(seconds(window + DAY - 1000)));

    // Nothing is due before the window: the scheduler leaves it alone for 29 days.
    for day in 1..30 {
        assert_eq!(
            sm.rotation_housekeeping(NOW + day * DAY - 3_600_000)
                .await
                .unwrap(),
            0
        );
    }
    assert_eq!(current(sm, NOW, "app/db").await.0, v2);
    // In the window it rotates, once, however often the scheduler runs.
    assert_eq!(sm.rotation_housekeeping(window).await.unwrap(), 1);
    let (v3, _) = current(sm, window, "app/db").await;
    assert_ne!(v3, v2);
    assert_eq!(sm.rotation_housekeeping(window).await.unwrap(), 0);
    assert_eq!(
        sm.rotation_housekeeping(window + 3_600_000).await.unwrap(),
        0
    );
    // A restarted server on the same database does not rotate it again either.
    let again = services(&e.url, &e.scripted, &e.master).await;
    assert_eq!(
        again
            .rotation_housekeeping(window + 7_200_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(current(&again, window, "app/db").await.0, v3);
    let d = describe(sm, window, "app/db").await;
    assert_eq!(d["LastRotatedDate"], json!(seconds(window)));
    assert_eq!(
        d["NextRotationDate"],
        json!(seconds(window + 31 * DAY - 1000))
    );

    // RotateImmediately=false with a new schedule: nothing rotates now.
    let out = ok(
        sm,
        window,
        "RotateSecret",
        json!({"SecretId": "app/db", "RotateImmediately": false,
               "RotationRules": {"ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "2h"}}),
    )
    .await;
    assert!(out.get("VersionId").is_none());
    assert_eq!(current(sm, window, "app/db").await.0, v3);
    let d = describe(sm, window, "app/db").await;
    assert_eq!(
        d["RotationRules"],
        json!({"ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "2h"})
    );
    // 2030-02-15T16:00Z, a two-hour window.
    let feb15 = window + 6 * DAY + 16 * 3_600_000;
    assert_eq!(
        d["NextRotationDate"],
        json!(seconds(feb15 + 2 * 3_600_000 - 1000))
    );
    assert_eq!(sm.rotation_housekeeping(feb15 - 1).await.unwrap(), 0);
    assert_eq!(sm.rotation_housekeeping(feb15).await.unwrap(), 1);
    let d = describe(sm, feb15, "app/db").await;
    // Next: 2030-03-01T16:00Z.
    let mar1 = feb15 + 14 * DAY;
    assert_eq!(
        d["NextRotationDate"],
        json!(seconds(mar1 + 2 * 3_600_000 - 1000))
    );

    // CancelRotateSecret turns it off; the scheduler then never rotates it.
    let c = ok(
        sm,
        feb15,
        "CancelRotateSecret",
        json!({"SecretId": "app/db"}),
    )
    .await;
    assert!(c.get("VersionId").is_none());
    let d = describe(sm, feb15, "app/db").await;
    assert_eq!(d["RotationEnabled"], false);
    assert!(d.get("NextRotationDate").is_none());
    assert_eq!(d["RotationLambdaARN"], GENERIC);
    assert_eq!(sm.rotation_housekeeping(mar1 + DAY).await.unwrap(), 0);
    // ListSecrets shows the same fields.
    let l = ok(sm, feb15, "ListSecrets", json!({})).await;
    assert_eq!(l["SecretList"][0]["RotationEnabled"], false);
    assert_eq!(l["SecretList"][0]["LastRotatedDate"], json!(seconds(feb15)));
    // RotateSecret with no arguments but the id turns it on again with the stored schedule.
    ok(sm, mar1, "RotateSecret", json!({"SecretId": "app/db"})).await;
    assert_eq!(describe(sm, mar1, "app/db").await["RotationEnabled"], true);
}

#[tokio::test]
async fn failures_keep_current_and_retry_with_backoff() {
    let e = env().await;
    let sm = &e.sm;
    ok(
        sm,
        NOW,
        "CreateSecret",
        json!({"Name": "svc", "SecretString": "one"}),
    )
    .await;
    let (v1, _) = current(sm, NOW, "svc").await;
    *e.scripted.fail_at.lock().unwrap() = Some("testSecret");
    let out = ok(
        sm,
        NOW,
        "RotateSecret",
        json!({"SecretId": "svc", "RotationLambdaARN": SCRIPTED,
               "RotationRules": {"ScheduleExpression": "rate(10 days)"}}),
    )
    .await;
    let token = out["VersionId"].as_str().unwrap().to_owned();
    assert_eq!(
        *e.scripted.seen.lock().unwrap(),
        ["createSecret", "setSecret", "testSecret"]
    );
    // AWSCURRENT unchanged; AWSPENDING kept on the new version for the retry.
    assert_eq!(current(sm, NOW, "svc").await.0, v1);
    let pending = ok(
        sm,
        NOW,
        "GetSecretValue",
        json!({"SecretId": "svc", "VersionStage": "AWSPENDING"}),
    )
    .await;
    assert_eq!(pending["VersionId"], token.as_str());
    // Recorded, visible, and another rotation is refused as AWS words it.
    let status = sm.rotation_status(&ctx(NOW), "svc").await.unwrap();
    let status = serde_json::to_value(status).unwrap();
    assert_eq!(status["InProgress"]["Attempts"], 1);
    assert_eq!(status["InProgress"]["Step"], "testSecret");
    assert_eq!(
        status["InProgress"]["LastError"],
        "testSecret: testSecret refused"
    );
    assert_eq!(
        status["InProgress"]["NextAttemptDate"],
        json!(seconds(NOW + 60_000))
    );
    assert_eq!(status["Events"][0]["Outcome"], "failed");
    let refused = call(sm, NOW, "RotateSecret", json!({"SecretId": "svc"}))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "InvalidRequestException");
    assert_eq!(
        refused.message(),
        "A previous rotation isn't complete. That rotation will be reattempted."
    );
    // The same request retried (same token) is answered again.
    let same = ok(
        sm,
        NOW,
        "RotateSecret",
        json!({"SecretId": "svc", "ClientRequestToken": token}),
    )
    .await;
    assert_eq!(same["VersionId"], token.as_str());

    // Not retried before the backoff; then retried from createSecret, and the backoff doubles.
    e.scripted.seen.lock().unwrap().clear();
    assert_eq!(sm.rotation_housekeeping(NOW + 59_999).await.unwrap(), 0);
    assert!(e.scripted.seen.lock().unwrap().is_empty());
    assert_eq!(sm.rotation_housekeeping(NOW + 60_000).await.unwrap(), 0);
    assert_eq!(
        *e.scripted.seen.lock().unwrap(),
        ["createSecret", "setSecret", "testSecret"]
    );
    let r = sm
        .store
        .get_rotation(pending["ARN"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.attempts, 2);
    assert_eq!(r.next_attempt_at, NOW + 60_000 + 120_000);
    assert_eq!(r.token, token);

    // Fixed: the next retry completes with the same version.
    *e.scripted.fail_at.lock().unwrap() = None;
    e.scripted.seen.lock().unwrap().clear();
    let later = NOW + 180_000;
    assert_eq!(sm.rotation_housekeeping(later).await.unwrap(), 1);
    assert_eq!(
        *e.scripted.seen.lock().unwrap(),
        ["createSecret", "setSecret", "testSecret", "finishSecret"]
    );
    assert_eq!(current(sm, later, "svc").await.0, token);
    let prev = ok(
        sm,
        later,
        "GetSecretValue",
        json!({"SecretId": "svc", "VersionStage": "AWSPREVIOUS"}),
    )
    .await;
    assert_eq!(prev["VersionId"], v1.as_str());
    let d = describe(sm, later, "svc").await;
    assert_eq!(
        d["RotationRules"],
        json!({"AutomaticallyAfterDays": 10, "ScheduleExpression": "rate(10 days)"})
    );
    assert!(
        sm.store
            .get_rotation(d["ARN"].as_str().unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn cancel_and_errors() {
    let e = env().await;
    let sm = &e.sm;
    ok(
        sm,
        NOW,
        "CreateSecret",
        json!({"Name": "c", "SecretString": "x"}),
    )
    .await;
    let err = |r: Result<Value, E>| {
        let e = r.unwrap_err();
        (e.code(), e.message())
    };
    assert_eq!(
        err(call(sm, NOW, "RotateSecret", json!({"SecretId": "c"})).await),
        (
            "InvalidRequestException",
            "No Lambda rotation function ARN is associated with this secret.".to_owned()
        )
    );
    let (code, _) = err(call(
        sm,
        NOW,
        "RotateSecret",
        json!({"SecretId": "c",
        "RotationLambdaARN": "arn:aws:lambda:us-east-1:000000000000:function:nobody"}),
    )
    .await);
    assert_eq!(code, "AccessDeniedException");
    let (code, _) = err(call(
        sm,
        NOW,
        "RotateSecret",
        json!({"SecretId": "c",
        "RotationLambdaARN": GENERIC, "RotationRules": {"ScheduleExpression": "rate(2 hours)"}}),
    )
    .await);
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = err(call(
        sm,
        NOW,
        "RotateSecret",
        json!({"SecretId": "c",
        "RotationLambdaARN": GENERIC, "RotationRules": {"AutomaticallyAfterDays": 0}}),
    )
    .await);
    assert_eq!(code, "ValidationException");
    let (code, _) = err(call(
        sm,
        NOW,
        "RotateSecret",
        json!({"SecretId": "missing",
        "RotationLambdaARN": GENERIC}),
    )
    .await);
    assert_eq!(code, "ResourceNotFoundException");

    // Cancel a rotation that keeps failing: the scheduler stops, the pending version stays.
    *e.scripted.fail_at.lock().unwrap() = Some("setSecret");
    let out = ok(
        sm,
        NOW,
        "RotateSecret",
        json!({"SecretId": "c", "RotationLambdaARN": SCRIPTED,
        "RotationRules": {"AutomaticallyAfterDays": 1}}),
    )
    .await;
    let token = out["VersionId"].as_str().unwrap().to_owned();
    let c = ok(sm, NOW, "CancelRotateSecret", json!({"SecretId": "c"})).await;
    assert_eq!(c["VersionId"], token.as_str());
    e.scripted.seen.lock().unwrap().clear();
    assert_eq!(sm.rotation_housekeeping(NOW + 10 * DAY).await.unwrap(), 0);
    assert!(e.scripted.seen.lock().unwrap().is_empty());
    // A leftover AWSPENDING on another version than AWSCURRENT still blocks RotateSecret.
    *e.scripted.fail_at.lock().unwrap() = None;
    let (code, msg) = err(call(sm, NOW, "RotateSecret", json!({"SecretId": "c"})).await);
    assert_eq!(code, "InvalidRequestException");
    assert!(msg.starts_with("A previous rotation isn't complete"));
}

/// A rotation whose runner died (its lease ran out) resumes with the same token: one new
/// version, never two, and the scheduler does not start a second rotation meanwhile.
#[tokio::test]
async fn an_interrupted_rotation_resumes_once() {
    let e = env().await;
    let sm = &e.sm;
    ok(
        sm,
        NOW,
        "CreateSecret",
        json!({"Name": "r", "SecretString": "x"}),
    )
    .await;
    ok(
        sm,
        NOW,
        "RotateSecret",
        json!({"SecretId": "r", "RotationLambdaARN": SCRIPTED,
        "RotationRules": {"AutomaticallyAfterDays": 1}, "RotateImmediately": false}),
    )
    .await;
    let secret = sm.find(&ctx(NOW), "r", "x").await.unwrap();
    // Simulate a runner that took the rotation at the window and died after createSecret.
    let window = secret.next_rotation_at.unwrap();
    let mut record = new_rotation(
        &secret.arn,
        "00000000-0000-4000-8000-000000000001",
        SCRIPTED,
        window,
    );
    record.step = "setSecret".into();
    record.next_attempt_at = window + LEASE_MS;
    sm.store.start_rotation(&secret, &record).await.unwrap();
    // While the lease holds, nobody runs it and nothing new starts.
    assert_eq!(sm.rotation_housekeeping(window + 1000).await.unwrap(), 0);
    assert!(e.scripted.seen.lock().unwrap().is_empty());
    // After it, another node (or the restarted server) resumes it.
    let other = services(&e.url, &e.scripted, &e.master).await;
    assert_eq!(
        other
            .rotation_housekeeping(window + LEASE_MS)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        current(sm, window, "r").await.0,
        "00000000-0000-4000-8000-000000000001"
    );
    let versions = ok(sm, window, "ListSecretVersionIds", json!({"SecretId": "r"})).await;
    assert_eq!(versions["Versions"].as_array().unwrap().len(), 2);
    // Two runners at once: the lease lets one through.
    let a = sm.drive(&secret.arn, window + 2 * LEASE_MS);
    let b = other.drive(&secret.arn, window + 2 * LEASE_MS);
    let (a, b) = tokio::join!(a, b);
    assert_eq!((a.unwrap(), b.unwrap()), (Driven::Skipped, Driven::Skipped));
}

#[test]
fn function_names() {
    assert_eq!(function_name(GENERIC), Some("CofferRandomPasswordRotation"));
    assert_eq!(
        function_name("arn:aws:lambda:us-east-1:1:function:f:PROD"),
        Some("f")
    );
    assert_eq!(function_name("arn:aws:lambda:us-east-1:1:layer:f"), None);
    assert_eq!(function_name("f"), None);
    assert_eq!(backoff(1), 60_000);
    assert_eq!(backoff(2), 120_000);
    assert_eq!(backoff(30), 3_600_000);
}

#[test]
fn generic_rotator_keeps_other_members() {
    let cur = SecretBytes::new(br#"{"username":"u","password":"p","port":5432}"#.to_vec());
    let new = generic::with_password(&cur, &SecretBytes::new(b"N3w".to_vec())).unwrap();
    let v: Value = serde_json::from_slice(new.expose()).unwrap();
    assert_eq!(v, json!({"username":"u","password":"N3w","port":5432}));
    assert!(generic::with_password(&SecretBytes::new(b"plain".to_vec()), &cur).is_none());
}
