//! Master-key rotation (`coffer.admin.RotateMasterKey`): re-wrap everything the master key
//! seals under the key in force, while the previous key still opens what is not yet re-wrapped.
//!
//! Every node runs with `COFFER_MASTER_KEY` = the new key and `COFFER_PREVIOUS_MASTER_KEY` = the
//! old one: it seals with the new key and opens with either ([`MasterKey::unwrap`]). This call
//! then, on any one node:
//!
//! 1. re-wraps every access key, every version of every KMS key's material (imported material
//!    included) and every rotation function's signing key — each row unwrapped with whichever key
//!    opens it and wrapped with the new one, written by compare-and-set so a concurrent change is
//!    never lost (a row that changed is simply seen again on the next pass); passes repeat until
//!    one finds nothing left under the old key;
//! 2. keeps the old key's *derived* keys that stored data still depends on, sealed by the new
//!    key in `meta` (`retired_derived_keys`): the audit digests' signing key, valid for the digests
//!    signed up to the current head, and the imported-material fingerprint key;
//! 3. moves the `meta` check value to the new key: from then on a node started with only the old
//!    key refuses to start, and the previous key can be dropped from every node's configuration.
//!
//! Secret values and SecureString parameters are untouched: their data keys are wrapped by KMS
//! keys, whose material is what step 1 re-wraps.

use coffer_crypto::MasterKey;
use coffer_crypto::master::CheckMatch;
use coffer_store::{SealedKind, SealedRow, Store, StoreError};
use coffer_types::SecretBytes;
use serde::{Deserialize, Serialize};

/// The `meta` row of the derived keys a rotation retired.
const RETIRED: &str = "retired_derived_keys";
/// Passes before giving up on rows that keep changing under the re-wrap.
const MAX_PASSES: u32 = 10;

/// What a rotation did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RekeyReport {
    /// The key in force now (`MasterKey::key_id`).
    pub key_id: String,
    pub access_keys: u64,
    pub key_materials: u64,
    pub rotation_functions: u64,
    pub passes: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A derived key of a retired master key, sealed by the master key in force.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Retired {
    purpose: String,
    /// Base64 of the derived key wrapped with `retired|PURPOSE|SEQ`.
    key: String,
    /// The audit head when it was retired: it signed nothing after.
    until_seq: i64,
}

fn retired_purpose(purpose: &str, seq: i64) -> String {
    format!("retired|{purpose}|{seq}")
}

/// Purposes whose derived keys outlive a rotation (stored data is keyed with them).
const KEPT_PURPOSES: &[&str] = &["audit-digest", "kms-import-fingerprint"];

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

async fn load_retired(store: &Store) -> Result<Vec<Retired>, StoreError> {
    Ok(match store.get_meta(RETIRED).await? {
        Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        None => Vec::new(),
    })
}

/// Every key derived for `purpose` that stored data may be keyed with, with the last audit
/// sequence number each may have signed (`i64::MAX` for the keys in force): the current key's,
/// the previous key's during a rotation, and those retired by earlier rotations.
pub async fn derived_keys(
    store: &Store,
    master: &MasterKey,
    purpose: &str,
) -> Result<Vec<(SecretBytes, i64)>, StoreError> {
    use base64::Engine as _;
    let mut keys = vec![(master.derive(purpose), i64::MAX)];
    if let Some(previous) = master.previous() {
        keys.push((previous.derive(purpose), i64::MAX));
    }
    for r in load_retired(store).await? {
        if r.purpose != purpose {
            continue;
        }
        let Ok(wrapped) = b64().decode(&r.key) else {
            continue;
        };
        if let Ok(key) = master.unwrap(&wrapped, &retired_purpose(purpose, r.until_seq)) {
            keys.push((key, r.until_seq));
        }
    }
    Ok(keys)
}

fn purpose(row: &SealedRow) -> String {
    let [a, b, c] = &row.id;
    match row.kind {
        SealedKind::AccessKey => format!("access-key|{a}"),
        SealedKind::KeyMaterial => format!(
            "kms-material|{}|{}",
            crate::kms::key_arn(b, a, c),
            row.version
        ),
        SealedKind::RotationFunction => format!("rotation-function|{a}|{b}|{c}"),
    }
}

/// One pass over every sealed value: how many were re-wrapped, and how many changed under us.
async fn rewrap_pass(
    store: &Store,
    master: &MasterKey,
    report: &mut RekeyReport,
) -> Result<u64, RekeyError> {
    let mut left = 0;
    for kind in SealedKind::ALL {
        for row in store.list_sealed(kind).await? {
            let purpose = purpose(&row);
            if master.opens_with_current(&row.value, &purpose) {
                continue;
            }
            let plain = master.unwrap(&row.value, &purpose).map_err(|_| {
                RekeyError::Refused(format!(
                    "{:?} {} opens under neither the new nor the previous master key: is COFFER_PREVIOUS_MASTER_KEY the key this deployment used? Nothing was switched over.",
                    row.kind,
                    row.id.join("/")
                ))
            })?;
            let wrapped = master
                .wrap(plain.expose(), &purpose)
                .map_err(|e| RekeyError::Refused(e.to_string()))?;
            if store.replace_sealed(&row, &wrapped).await? {
                *match kind {
                    SealedKind::AccessKey => &mut report.access_keys,
                    SealedKind::KeyMaterial => &mut report.key_materials,
                    SealedKind::RotationFunction => &mut report.rotation_functions,
                } += 1;
            }
            left += 1;
        }
    }
    Ok(left)
}

/// Seal the previous key's kept derived keys (and those retired before) under the key in force.
async fn retire_derived_keys(
    store: &Store,
    master: &MasterKey,
    previous: &MasterKey,
) -> Result<(), RekeyError> {
    use base64::Engine as _;
    let until_seq = store.audit_head().await?.map_or(0, |(seq, _)| seq);
    let mut kept = Vec::new();
    for r in load_retired(store).await? {
        let p = retired_purpose(&r.purpose, r.until_seq);
        let Ok(key) = b64()
            .decode(&r.key)
            .ok()
            .and_then(|w| master.unwrap(&w, &p).ok())
            .ok_or(())
        else {
            continue;
        };
        let wrapped = master
            .wrap(key.expose(), &p)
            .map_err(|e| RekeyError::Refused(e.to_string()))?;
        kept.push(Retired {
            key: b64().encode(wrapped),
            ..r
        });
    }
    for purpose in KEPT_PURPOSES {
        let p = retired_purpose(purpose, until_seq);
        let wrapped = master
            .wrap(previous.derive(purpose).expose(), &p)
            .map_err(|e| RekeyError::Refused(e.to_string()))?;
        kept.push(Retired {
            purpose: (*purpose).to_owned(),
            key: b64().encode(wrapped),
            until_seq,
        });
    }
    let json = serde_json::to_vec(&kept).map_err(|e| RekeyError::Refused(e.to_string()))?;
    store.set_meta(RETIRED, &json).await?;
    Ok(())
}

/// Re-wrap everything under the key in force, then make it the deployment's key.
pub async fn rotate(
    store: &Store,
    master: &MasterKey,
    expected_key_id: Option<&str>,
) -> Result<RekeyReport, RekeyError> {
    let mut report = RekeyReport {
        key_id: master.key_id(),
        ..RekeyReport::default()
    };
    if let Some(expected) = expected_key_id
        && expected != report.key_id
    {
        return Err(RekeyError::Refused(format!(
            "this server's master key is {}, not {expected}: restart it with COFFER_MASTER_KEY set to the new key and COFFER_PREVIOUS_MASTER_KEY to the old one",
            report.key_id
        )));
    }
    let check = store
        .get_meta("master_key_check")
        .await?
        .unwrap_or_default();
    let previous = match (master.check_match(&check), master.previous()) {
        (CheckMatch::Previous, Some(previous)) => previous,
        (CheckMatch::Current, Some(_)) => {
            // Already done (by this call earlier, or another node): finish any stragglers.
            report.passes = 1;
            rewrap_pass(store, master, &mut report).await?;
            return Ok(report);
        }
        _ => {
            return Err(RekeyError::Refused(
                "this server holds no previous master key: restart every node with COFFER_MASTER_KEY set to the new key and COFFER_PREVIOUS_MASTER_KEY (or --previous-master-key-file) to the old one, then call again".to_owned(),
            ));
        }
    };
    loop {
        report.passes += 1;
        let left = rewrap_pass(store, master, &mut report).await?;
        if left == 0 {
            break;
        }
        if report.passes == MAX_PASSES {
            return Err(RekeyError::Refused(format!(
                "{left} values were still sealed by the previous key after {MAX_PASSES} passes: a node without the new key may still be writing; restart every node with both keys and call again"
            )));
        }
    }
    retire_derived_keys(store, master, previous).await?;
    let new_check = master
        .check_value()
        .map_err(|e| RekeyError::Refused(e.to_string()))?;
    store.set_meta("master_key_check", &new_check).await?;
    tracing::info!(
        key_id = %report.key_id,
        access_keys = report.access_keys,
        key_materials = report.key_materials,
        rotation_functions = report.rotation_functions,
        "master key rotated: everything is sealed by the new key; drop the previous key from every node"
    );
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use coffer_store::{AccessKeyRecord, AccessKeyStatus, RotationFunctionRecord};

    fn copy(k: &MasterKey) -> MasterKey {
        MasterKey::from_bytes(SecretBytes::new(k.expose().to_vec())).unwrap()
    }

    #[tokio::test]
    async fn rotation_rewraps_everything_then_switches_the_check_value() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let store = coffer_store::open(&url).await.unwrap();
        let old = MasterKey::generate().unwrap();
        store
            .init_master_key_check(&old.check_value().unwrap())
            .await
            .unwrap();
        store.ensure_account("000000000000", 1).await.unwrap();
        for i in 0..3 {
            let id = format!("AKIAREKEYTEST{i:04}");
            store
                .insert_access_key(&AccessKeyRecord {
                    access_key_id: id.clone(),
                    account_id: "000000000000".into(),
                    principal_arn: "arn:aws:iam::000000000000:root".into(),
                    principal_id: "000000000000".into(),
                    wrapped_secret: old.wrap(b"secret", &format!("access-key|{id}")).unwrap(),
                    status: AccessKeyStatus::Active,
                    created_at: 1,
                })
                .await
                .unwrap();
        }
        store
            .create_rotation_function(&RotationFunctionRecord {
                account_id: "000000000000".into(),
                region: "us-east-1".into(),
                name: "f".into(),
                url: "http://127.0.0.1:9/".into(),
                timeout_ms: 1000,
                signing_key: old
                    .wrap(b"hmac", "rotation-function|000000000000|us-east-1|f")
                    .unwrap(),
                created_at: 1,
            })
            .await
            .unwrap();

        // Without a previous key: refused, nothing changed.
        assert!(matches!(
            rotate(&store, &copy(&old), None).await,
            Err(RekeyError::Refused(m)) if m.contains("COFFER_PREVIOUS_MASTER_KEY")
        ));
        let new = MasterKey::generate().unwrap();
        let new_only = copy(&new);
        let both = new.with_previous(copy(&old));
        // The wrong expected key id: refused.
        assert!(
            rotate(&store, &both, Some("0000000000000000"))
                .await
                .is_err()
        );

        let report = rotate(&store, &both, Some(&both.key_id())).await.unwrap();
        assert_eq!((report.access_keys, report.rotation_functions), (3, 1));
        assert_eq!(
            report.passes, 2,
            "one pass re-wraps, the next finds nothing left"
        );
        for kind in SealedKind::ALL {
            for row in store.list_sealed(kind).await.unwrap() {
                assert!(new_only.unwrap(&row.value, &purpose(&row)).is_ok());
                assert!(old.unwrap(&row.value, &purpose(&row)).is_err());
            }
        }
        let check = store.get_meta("master_key_check").await.unwrap().unwrap();
        assert!(new_only.verify_check(&check) && !old.verify_check(&check));
        // The old audit digest key is kept, sealed by the new key, for digests up to the head.
        let keys = derived_keys(&store, &new_only, "audit-digest")
            .await
            .unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].0.expose(), old.derive("audit-digest").expose());
        assert!(keys[1].1 < i64::MAX);
        // Again: nothing to do.
        let again = rotate(&store, &both, None).await.unwrap();
        assert_eq!(again.access_keys + again.rotation_functions, 0);
    }
}
