//! The audit trail's on-disk shape, as pure functions: a group commit's records become one row
//! of `audit_log` (one sequential append, no per-record index entries), and LookupEvents' index
//! is built behind it as posting lists (`audit_postings`), many batches at a time.
//!
//! - `records`: one JSON line per record (its place in the chain, the fields lookups filter on,
//!   its hash, and the CloudTrail record as a JSON string, byte for byte what was hashed),
//!   stored zstd-packed in `packed` ([`pack`]; rows written before packing keep the text in
//!   `records`, and [`decode_row`] reads both).
//! - `keys`: the batch's lookup keys, `{"KEY": [seq, ...]}`: what the indexer merges, read
//!   without decoding the records. A key is one LookupEvents attribute value in one account
//!   ([`key_for`]); `a|ACCOUNT` lists every record of the account.
//! - A posting row holds, for one key, the sequence numbers of an indexing run's batches that
//!   carry it, delta-encoded ([`encode_seqs`]).
//!
//! Every field here is a copy of the record's own JSON or derived from it: the chain covers the
//! JSON, and `coffer audit verify` checks the copies agree with it.

use crate::audit::{AuditAttribute, AuditRecord, AuditResource, NewAuditEvent};
use crate::{Result, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("audit log {what} does not decode: {e}"))
}

/// One record as a line of its batch. Short names: they repeat on every record.
///
/// `event` is the CloudTrail record: the JSON itself in lines written now ([`write_line`]
/// appends it after the other fields), a JSON string in lines written before. Both read back
/// as the exact bytes the hash covers ([`event_text`]).
#[derive(Serialize, Deserialize)]
struct Line<S> {
    seq: i64,
    id: S,
    time: i64,
    account: S,
    source: S,
    name: S,
    ro: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<S>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    res: Vec<(S, S)>,
    /// The chain hash, hex.
    hash: S,
    /// The CloudTrail record: `None` when writing (appended by [`write_line`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<Box<serde_json::value::RawValue>>,
}

/// Append `head` (its `event` left out) and `event` as one line to `out`. The record is
/// serde_json's compact output (`coffer_service::audit::event`), so it goes in as it is —
/// escaping it into a JSON string was a third of the cost of encoding a batch. Anything that does not look like a JSON
/// object (only a damaged old row could hold one) is written as a string, as before.
fn write_line(out: &mut Vec<u8>, head: &Line<&str>, event: &str) -> Result<()> {
    serde_json::to_writer(&mut *out, head).map_err(|e| corrupt("record", e))?;
    // `head` serialised as an object: replace its closing brace by the record's member.
    out.pop();
    out.extend_from_slice(b",\"event\":");
    let bytes = event.as_bytes();
    if bytes.first() == Some(&b'{') && bytes.last() == Some(&b'}') {
        out.extend_from_slice(bytes);
    } else {
        serde_json::to_writer(&mut *out, event).map_err(|e| corrupt("record", e))?;
    }
    out.push(b'}');
    Ok(())
}

/// A line's record as the bytes hashed: the JSON as it is, or the string it was stored as.
fn event_text(raw: Option<&serde_json::value::RawValue>) -> Result<String> {
    let text = raw.ok_or_else(|| corrupt("record", "no event"))?.get();
    if text.starts_with('"') {
        serde_json::from_str(text).map_err(|e| corrupt("record", e))
    } else {
        Ok(text.to_owned())
    }
}

/// A batch as it is written: one `audit_log` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodedBatch {
    pub first_seq: i64,
    pub last_seq: i64,
    pub min_time: i64,
    pub max_time: i64,
    pub keys: String,
    /// The records' JSON lines, [`pack`]ed.
    pub packed: Vec<u8>,
}

/// zstd's fastest level: the lines of a batch repeat the same names and values, so even it
/// stores about a tenth of the bytes, at a cost per record well under what the bytes saved
/// cost to write and fsync.
const PACK_LEVEL: i32 = 1;

thread_local! {
    /// A compression context per thread, made on first use: making one per batch (allocating
    /// and clearing its tables) cost a third of what packing cost in the writer's profile.
    static PACKER: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// The packed form of a batch's lines (a zstd frame that records its content size).
fn pack(records: &[u8]) -> Result<Vec<u8>> {
    PACKER
        .with_borrow_mut(|packer| {
            let packer = match packer {
                Some(p) => p,
                None => packer.insert(zstd::bulk::Compressor::new(PACK_LEVEL)?),
            };
            packer.compress(records)
        })
        .map_err(|e| corrupt("packing", e))
}

/// A batch's lines from its row: `packed` if the row has it, else the text of a row written
/// before packing.
fn unpack<'a>(records: &'a str, packed: Option<&[u8]>) -> Result<std::borrow::Cow<'a, str>> {
    match packed {
        None => Ok(std::borrow::Cow::Borrowed(records)),
        Some(bytes) => {
            let text = zstd::stream::decode_all(bytes).map_err(|e| corrupt("packing", e))?;
            String::from_utf8(text)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| corrupt("packing", e))
        }
    }
}

/// Longest attribute value a lookup key holds, in bytes: longer than any name or id AWS accepts
/// (2,048 characters), so no real value is cut, while the rubbish of a hostile request (a
/// megabyte "SecretId") does not make a megabyte key in every batch and posting.
const KEY_VALUE_MAX: usize = 4_096;

/// The lookup key of `attribute` in `account` (`None` for an event id, which is found by its
/// time instead: event ids are UUIDv7).
pub(crate) fn key_for(account: &str, attribute: Option<&AuditAttribute>) -> Option<String> {
    Some(match attribute {
        None => key('a', account, None),
        Some(AuditAttribute::EventId(_)) => return None,
        Some(AuditAttribute::EventName(v)) => key('n', account, Some(v)),
        Some(AuditAttribute::ReadOnly(v)) => key('o', account, Some(read_only(*v))),
        Some(AuditAttribute::Username(v)) => key('u', account, Some(v)),
        Some(AuditAttribute::ResourceType(v)) => key('t', account, Some(v)),
        Some(AuditAttribute::ResourceName(v)) => key('r', account, Some(v)),
        Some(AuditAttribute::EventSource(v)) => key('s', account, Some(v)),
        Some(AuditAttribute::AccessKeyId(v)) => key('k', account, Some(v)),
    })
}

fn read_only(v: bool) -> &'static str {
    if v { "true" } else { "false" }
}

/// `KIND|ACCOUNT` or `KIND|ACCOUNT|VALUE`, cut at [`KEY_VALUE_MAX`] bytes.
fn key(kind: char, account: &str, value: Option<&str>) -> String {
    let mut key = String::with_capacity(3 + account.len() + value.map_or(0, str::len));
    key.push(kind);
    key.push('|');
    key.push_str(account);
    if let Some(v) = value {
        key.push('|');
        key.push_str(v);
    }
    if key.len() > KEY_VALUE_MAX {
        let mut end = KEY_VALUE_MAX;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    key
}

/// Every key a record is found under (as [`key_for`] makes them, from borrowed fields).
fn keys_of(e: &NewAuditEvent) -> Vec<String> {
    let a = e.account_id.as_str();
    let mut keys = Vec::with_capacity(6 + 2 * e.resources.len());
    keys.push(key('a', a, None));
    keys.push(key('n', a, Some(&e.event_name)));
    keys.push(key('o', a, Some(read_only(e.read_only))));
    keys.push(key('s', a, Some(&e.event_source)));
    if let Some(u) = &e.username {
        keys.push(key('u', a, Some(u)));
    }
    if let Some(k) = &e.access_key_id {
        keys.push(key('k', a, Some(k)));
    }
    for r in &e.resources {
        keys.push(key('t', a, Some(&r.resource_type)));
        keys.push(key('r', a, Some(&r.name)));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Encode `events`, numbered from `first_seq`, with their chain hashes.
pub(crate) fn encode_batch(
    events: &[NewAuditEvent],
    first_seq: i64,
    hashes: &[Vec<u8>],
) -> Result<EncodedBatch> {
    let mut records: Vec<u8> =
        Vec::with_capacity(events.iter().map(|e| e.event_json.len() + 400).sum());
    let mut keys: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let (mut min_time, mut max_time) = (i64::MAX, i64::MIN);
    let mut seq = first_seq;
    for (e, hash) in events.iter().zip(hashes) {
        let hash = hex::encode(hash);
        let line = Line {
            seq,
            id: e.event_id.as_str(),
            time: e.event_time,
            account: e.account_id.as_str(),
            source: e.event_source.as_str(),
            name: e.event_name.as_str(),
            ro: e.read_only,
            user: e.username.as_deref(),
            key: e.access_key_id.as_deref(),
            res: e
                .resources
                .iter()
                .map(|r| (r.resource_type.as_str(), r.name.as_str()))
                .collect(),
            hash: hash.as_str(),
            event: None,
        };
        if seq > first_seq {
            records.push(b'\n');
        }
        write_line(&mut records, &line, &e.event_json)?;
        for k in keys_of(e) {
            keys.entry(k).or_default().push(seq);
        }
        min_time = min_time.min(e.event_time);
        max_time = max_time.max(e.event_time);
        seq += 1;
    }
    Ok(EncodedBatch {
        first_seq,
        last_seq: seq - 1,
        min_time,
        max_time,
        keys: serde_json::to_string(&keys).map_err(|e| corrupt("keys", e))?,
        packed: pack(&records)?,
    })
}

/// Decode the records of an `audit_log` row (its `prev_hash`, `records` and `packed`).
pub(crate) fn decode_row(
    prev_hash: Vec<u8>,
    records: &str,
    packed: Option<&[u8]>,
) -> Result<Vec<AuditRecord>> {
    decode_batch(prev_hash, &unpack(records, packed)?)
}

/// Decode a batch's records; the first follows `prev_hash`, each next one the record before.
fn decode_batch(prev_hash: Vec<u8>, records: &str) -> Result<Vec<AuditRecord>> {
    let mut out: Vec<AuditRecord> = Vec::new();
    let mut prev = prev_hash;
    for line in serde_json::Deserializer::from_str(records).into_iter::<Line<String>>() {
        let l = line.map_err(|e| corrupt("record", e))?;
        let event_json = event_text(l.event.as_deref())?;
        let hash = hex::decode(&l.hash).map_err(|e| corrupt("hash", e))?;
        let prev_hash = std::mem::replace(&mut prev, hash.clone());
        out.push(AuditRecord {
            seq: l.seq,
            event: NewAuditEvent {
                event_id: l.id,
                event_time: l.time,
                account_id: l.account,
                event_source: l.source,
                event_name: l.name,
                read_only: l.ro,
                username: l.user,
                access_key_id: l.key,
                resources: l
                    .res
                    .into_iter()
                    .map(|(resource_type, name)| AuditResource {
                        resource_type,
                        name,
                    })
                    .collect(),
                event_json,
            },
            prev_hash,
            hash,
        });
    }
    Ok(out)
}

/// Re-encode decoded records (what retention keeps of a batch it cuts).
pub(crate) fn reencode(records: &[AuditRecord]) -> Result<EncodedBatch> {
    let first = records.first().map_or(0, |r| r.seq);
    let events: Vec<NewAuditEvent> = records.iter().map(|r| r.event.clone()).collect();
    let hashes: Vec<Vec<u8>> = records.iter().map(|r| r.hash.clone()).collect();
    encode_batch(&events, first, &hashes)
}

/// A batch's `keys`, decoded.
pub(crate) fn decode_keys(keys: &str) -> Result<BTreeMap<String, Vec<i64>>> {
    serde_json::from_str(keys).map_err(|e| corrupt("keys", e))
}

/// The sequence numbers of `key` in a batch's `keys`, newest first.
pub(crate) fn seqs_in_keys(keys: &str, key: &str) -> Result<Vec<i64>> {
    let mut seqs = decode_keys(keys)?.remove(key).unwrap_or_default();
    seqs.reverse();
    Ok(seqs)
}

/// Ascending sequence numbers as text: the first, then the differences (`"1204,1,1,3"`).
pub(crate) fn encode_seqs(seqs: &[i64]) -> String {
    let mut out = String::with_capacity(seqs.len() * 3);
    let mut prev = 0;
    for (i, s) in seqs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&(s - prev).to_string());
        prev = *s;
    }
    out
}

/// [`encode_seqs`] undone, newest first.
pub(crate) fn decode_seqs(text: &str) -> Result<Vec<i64>> {
    let mut prev = 0i64;
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        prev += part.parse::<i64>().map_err(|e| corrupt("posting", e))?;
        out.push(prev);
    }
    out.reverse();
    Ok(out)
}

/// A key's sequence numbers in an indexing run, and the time bounds of the batches holding them.
pub(crate) type Posting = (Vec<i64>, i64, i64);

/// One indexing run's postings: for each key, its sequence numbers over `batches` (each a
/// batch's `(min_time, max_time, keys)`, oldest first).
pub(crate) fn merge_postings(batches: &[(i64, i64, String)]) -> Result<BTreeMap<String, Posting>> {
    let mut merged: BTreeMap<String, Posting> = BTreeMap::new();
    for (min_time, max_time, keys) in batches {
        for (key, seqs) in decode_keys(keys)? {
            let entry = merged
                .entry(key)
                .or_insert_with(|| (Vec::new(), i64::MAX, i64::MIN));
            entry.0.extend(seqs);
            entry.1 = entry.1.min(*min_time);
            entry.2 = entry.2.max(*max_time);
        }
    }
    Ok(merged)
}

/// The Unix millisecond time of a UUIDv7 event id.
pub(crate) fn uuid_v7_millis(id: &str) -> Option<i64> {
    let bytes = id.as_bytes();
    if bytes.len() != 36 || bytes.get(14) != Some(&b'7') {
        return None;
    }
    let hex: String = id.get(..8)?.chars().chain(id.get(9..13)?.chars()).collect();
    i64::from_str_radix(&hex, 16).ok()
}

/// Whether a record's time is within the query's bounds.
pub(crate) fn in_time(time: i64, start: Option<i64>, end: Option<i64>) -> bool {
    start.is_none_or(|s| time >= s) && end.is_none_or(|e| time <= e)
}

/// Whether anything in `[min, max]` can be within the query's bounds.
pub(crate) fn overlaps(min: i64, max: i64, start: Option<i64>, end: Option<i64>) -> bool {
    start.is_none_or(|s| max >= s) && end.is_none_or(|e| min <= e)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(n: i64, account: &str) -> NewAuditEvent {
        NewAuditEvent {
            event_id: format!("e{n}"),
            event_time: 1_000 + n,
            account_id: account.into(),
            event_source: "kms.amazonaws.com".into(),
            event_name: "Decrypt".into(),
            read_only: true,
            username: (n % 2 == 0).then(|| "root".to_owned()),
            access_key_id: None,
            resources: vec![AuditResource {
                resource_type: "AWS::KMS::Key".into(),
                name: format!("k|{n}\n\"x\""),
            }],
            event_json: format!("{{\"n\":{n},\"s\":\"line\\nbreak \\\"q\\\"\"}}"),
        }
    }

    #[test]
    fn a_batch_round_trips_with_its_chain() {
        let events = [event(1, "111111111111"), event(2, "222222222222")];
        let hashes = [vec![1u8; 32], vec![2u8; 32]];
        let b = encode_batch(&events, 7, &hashes).unwrap();
        assert_eq!(
            (b.first_seq, b.last_seq, b.min_time, b.max_time),
            (7, 8, 1_001, 1_002)
        );
        let records = decode_row(vec![0; 32], "", Some(&b.packed)).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].event, events[0]);
        assert_eq!(records[1].event, events[1]);
        assert_eq!(records[0].prev_hash, vec![0; 32]);
        assert_eq!(records[1].prev_hash, hashes[0]);
        assert_eq!((records[0].seq, records[1].seq), (7, 8));
        assert_eq!(reencode(&records[1..]).unwrap().first_seq, 8);
    }

    #[test]
    fn rows_written_before_packing_decode_as_their_text() {
        let events: Vec<_> = (1..=12).map(|n| event(n, "111111111111")).collect();
        let hashes: Vec<Vec<u8>> = (1..=12).map(|n| vec![n; 32]).collect();
        let b = encode_batch(&events, 1, &hashes).unwrap();
        let text = unpack("", Some(&b.packed)).unwrap().into_owned();
        assert_eq!(text.lines().count(), 12);
        assert!(
            b.packed.len() * 4 < text.len(),
            "{} of {}",
            b.packed.len(),
            text.len()
        );
        let from_text = decode_row(vec![0; 32], &text, None).unwrap();
        let from_packed = decode_row(vec![0; 32], "", Some(&b.packed)).unwrap();
        assert_eq!(from_text, from_packed);
        assert!(decode_row(vec![0; 32], "", Some(b"not zstd")).is_err());
    }

    #[test]
    fn records_stored_as_strings_still_decode_and_odd_ones_are_stored_so() {
        // A line as written before records were embedded as they are.
        let old = r#"{"seq":4,"id":"e4","time":1004,"account":"1","source":"s","name":"n","ro":true,"hash":"0a","event":"{\"a\":\"x\\ny\"}"}"#;
        let records = decode_row(vec![0; 32], old, None).unwrap();
        assert_eq!(records[0].event.event_json, "{\"a\":\"x\\ny\"}");
        assert_eq!(records[0].hash, [0x0a]);
        // A record that is not a JSON object goes in as a string and reads back the same.
        let mut odd = event(1, "1");
        odd.event_json = " not json }".into();
        let b = encode_batch(std::slice::from_ref(&odd), 1, &[vec![1]]).unwrap();
        let back = decode_row(vec![0; 32], "", Some(&b.packed)).unwrap();
        assert_eq!(back[0].event, odd);
        // A line without its record is damage, not an empty record.
        let cut = r#"{"seq":4,"id":"e4","time":1004,"account":"1","source":"s","name":"n","ro":true,"hash":"0a"}"#;
        assert!(decode_row(vec![0; 32], cut, None).is_err());
    }

    #[test]
    fn keys_name_every_attribute_in_its_account() {
        let b = encode_batch(&[event(1, "1"), event(2, "1")], 1, &[vec![1], vec![2]]).unwrap();
        let keys = decode_keys(&b.keys).unwrap();
        assert_eq!(keys["a|1"], [1, 2]);
        assert_eq!(keys["u|1|root"], [2]);
        assert_eq!(keys["o|1|true"], [1, 2]);
        assert_eq!(keys["r|1|k|1\n\"x\""], [1]);
        assert_eq!(seqs_in_keys(&b.keys, "n|1|Decrypt").unwrap(), [2, 1]);
        assert!(seqs_in_keys(&b.keys, "n|2|Decrypt").unwrap().is_empty());
        let user = AuditAttribute::Username("root".into());
        assert_eq!(key_for("1", Some(&user)).as_deref(), Some("u|1|root"));
    }

    #[test]
    fn postings_merge_and_round_trip() {
        let a = encode_batch(&[event(1, "1")], 1, &[vec![1]]).unwrap();
        let b = encode_batch(&[event(2, "1"), event(3, "1")], 2, &[vec![2], vec![3]]).unwrap();
        let merged = merge_postings(&[
            (a.min_time, a.max_time, a.keys),
            (b.min_time, b.max_time, b.keys),
        ])
        .unwrap();
        let (seqs, min, max) = &merged["a|1"];
        assert_eq!(
            (seqs.as_slice(), *min, *max),
            ([1, 2, 3].as_slice(), 1_001, 1_003)
        );
        let text = encode_seqs(&[5, 6, 9, 1_000_000]);
        assert_eq!(text, "5,1,3,999991");
        assert_eq!(decode_seqs(&text).unwrap(), [1_000_000, 9, 6, 5]);
        assert!(decode_seqs("1,x").is_err());
    }

    #[test]
    fn event_ids_tell_their_time() {
        let id = "019aef3c-1b2a-7cde-8f00-0123456789ab";
        assert_eq!(uuid_v7_millis(id), Some(0x019a_ef3c_1b2a));
        assert_eq!(uuid_v7_millis("019aef3c-1b2a-4cde-8f00-0123456789ab"), None);
        assert_eq!(uuid_v7_millis("e1"), None);
    }
}
