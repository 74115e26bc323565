//! Offline verification of the whole trail (`coffer audit verify`): every link, every record's
//! indexed columns against its JSON, and every digest's signature and position in the chain.

use super::DIGEST_PURPOSE;
use coffer_crypto::MasterKey;
use coffer_crypto::chain::{GENESIS, link, verify_digest};
use coffer_store::{AuditRecord, Store};
use std::collections::BTreeMap;

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub records: i64,
    pub digests: usize,
    /// The first problem, naming the record; `None` when the trail is intact.
    pub problem: Option<String>,
}

fn columns_agree(r: &AuditRecord) -> Result<(), String> {
    let doc: serde_json::Value = serde_json::from_str(&r.event.event_json)
        .map_err(|_| "its JSON does not parse".to_owned())?;
    let same = |field: &str, column: &str| doc.get(field).and_then(|v| v.as_str()) == Some(column);
    if !same("eventID", &r.event.event_id)
        || !same("eventName", &r.event.event_name)
        || !same("eventSource", &r.event.event_source)
        || !same("recipientAccountId", &r.event.account_id)
        || doc.get("readOnly").and_then(|v| v.as_bool()) != Some(r.event.read_only)
    {
        return Err("its indexed columns differ from its JSON".to_owned());
    }
    Ok(())
}

/// Walk the chain from the first record.
pub async fn verify(store: &Store, master: &MasterKey) -> Result<Report, coffer_store::StoreError> {
    // Digests signed under a master key since rotated verify with its retired digest key.
    let keys = crate::admin::rekey::derived_keys(store, master, DIGEST_PURPOSE).await?;
    let digests: BTreeMap<i64, coffer_store::AuditDigest> = store
        .list_audit_digests()
        .await?
        .into_iter()
        .map(|d| (d.seq, d))
        .collect();
    let mut report = Report {
        records: 0,
        digests: digests.len(),
        problem: None,
    };
    for d in digests.values() {
        let signed = keys.iter().any(|(key, until)| {
            d.seq <= *until && verify_digest(key.expose(), d.seq, &d.hash, d.time, &d.signature)
        });
        if !signed {
            report.problem = Some(format!("digest at record {} has a bad signature", d.seq));
            return Ok(report);
        }
    }
    let mut prev = GENESIS.to_vec();
    let mut expected_seq = 1;
    // After retention pruned the oldest records, the chain starts from a signed digest: the
    // anchor, whose hash the first remaining record must follow.
    if let Some(first) = store.scan_audit(0, 1).await?.first()
        && first.seq > 1
    {
        match digests.get(&(first.seq - 1)) {
            Some(anchor) => {
                prev = anchor.hash.clone();
                expected_seq = first.seq;
            }
            None => {
                report.problem = Some(format!(
                    "record {} ({}): the trail starts here without a signed digest before it: records were removed",
                    first.seq, first.event.event_id
                ));
                return Ok(report);
            }
        }
    }
    let first_seq = expected_seq;
    loop {
        let page = store.scan_audit(expected_seq - 1, 1_000).await?;
        if page.is_empty() {
            break;
        }
        for r in page {
            let bad = |why: String| Some(format!("record {} ({}): {why}", r.seq, r.event.event_id));
            if r.seq != expected_seq {
                report.problem = bad(format!(
                    "expected record {expected_seq} here: records were removed"
                ));
                return Ok(report);
            }
            if r.prev_hash != prev {
                report.problem = bad("it does not follow the record before it".to_owned());
                return Ok(report);
            }
            if link(&prev, r.seq, r.event.event_json.as_bytes()).as_slice() != r.hash.as_slice() {
                report.problem = bad("its content was altered".to_owned());
                return Ok(report);
            }
            if let Err(why) = columns_agree(&r) {
                report.problem = bad(why);
                return Ok(report);
            }
            if let Some(d) = digests.get(&r.seq)
                && d.hash != r.hash
            {
                report.problem = bad("it differs from the signed digest of the chain".to_owned());
                return Ok(report);
            }
            prev = r.hash;
            expected_seq += 1;
            report.records += 1;
        }
    }
    let end = first_seq + report.records - 1;
    if let Some((&last, _)) = digests.iter().next_back()
        && last > end
    {
        report.problem = Some(format!(
            "a signed digest covers record {last} but the trail ends at record {end}: records were removed"
        ));
    }
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::{Auditor, Call};
    use crate::model::Service;

    fn call(n: i64) -> Call {
        Call {
            service: Service::SecretsManager,
            operation: "ListSecrets".to_owned(),
            region: "us-east-1".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
            user_agent: None,
            principal: None,
            access_key_id: Some("AKIAEXAMPLE".to_owned()),
            request_id: format!("r{n}"),
            time: n,
            input: None,
            output: None,
            error: None,
        }
    }

    #[tokio::test]
    async fn digests_catch_a_cut_off_tail_and_a_forged_signature() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let store = coffer_store::open(&url).await.unwrap();
        let master = MasterKey::generate().unwrap();
        let auditor = Auditor::new(store.clone(), &master);
        for n in 0..5 {
            auditor.record(&call(n)).await.unwrap();
        }
        assert_eq!(auditor.sign_digest().await.unwrap(), Some(5));
        assert_eq!(
            auditor.sign_digest().await.unwrap(),
            None,
            "head did not move"
        );
        let ok = verify(&store, &master).await.unwrap();
        assert_eq!((ok.records, ok.digests, ok.problem), (5, 1, None));
        // Another master key cannot vouch for the digests.
        let other = MasterKey::generate().unwrap();
        let forged = verify(&store, &other).await.unwrap();
        assert!(forged.problem.unwrap().contains("bad signature"));
        // Retention keeps the chain verifiable from its anchor digest.
        auditor.record(&call(5)).await.unwrap();
        assert_eq!(auditor.sign_digest().await.unwrap(), Some(6));
        assert_eq!(store.prune_audit(5).await.unwrap(), 5);
        let pruned = verify(&store, &master).await.unwrap();
        assert_eq!((pruned.records, pruned.problem), (1, None));
        // Cutting the tail off a signed chain is noticed.
        let raw = sqlx_free_delete(&dir.path().join("c.db"));
        assert!(raw, "could not tamper");
        let reopened = coffer_store::open(&url).await.unwrap();
        let cut = verify(&reopened, &master).await.unwrap();
        assert!(
            cut.problem.unwrap().contains("removed"),
            "{:?}",
            cut.records
        );
    }

    /// Delete the last record behind the store's back, as an attacker with file access would.
    fn sqlx_free_delete(path: &std::path::Path) -> bool {
        std::process::Command::new("sqlite3")
            .arg(path)
            .arg("DELETE FROM audit_log WHERE first_seq = 6; UPDATE audit_head SET seq = 5;")
            .status()
            .is_ok_and(|s| s.success())
    }
}
