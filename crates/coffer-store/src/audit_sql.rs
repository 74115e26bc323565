//! SQL shared by both backends' audit stores (they differ only in placeholder syntax).

use crate::audit::{AuditAttribute, AuditQuery};

/// A bind value of a lookup.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// The lookup statement for `q` and its binds; `ph(n)` renders placeholder `n` (1-based).
pub(crate) fn lookup(q: &AuditQuery<'_>, ph: impl Fn(usize) -> String) -> (String, Vec<Bind>) {
    let mut binds = vec![Bind::Text(q.account_id.to_owned())];
    let mut sql = format!(
        "SELECT * FROM audit_events e WHERE e.account_id = {}",
        ph(1)
    );
    let mut add = |clause: &str, b: Bind, sql: &mut String| {
        binds.push(b);
        sql.push_str(&clause.replace('#', &ph(binds.len())));
    };
    if let Some(t) = q.start {
        add(" AND e.event_time >= #", Bind::Int(t), &mut sql);
    }
    if let Some(t) = q.end {
        add(" AND e.event_time <= #", Bind::Int(t), &mut sql);
    }
    if let Some(s) = q.before_seq {
        add(" AND e.seq < #", Bind::Int(s), &mut sql);
    }
    match q.attribute {
        None => {}
        Some(AuditAttribute::EventId(v)) => {
            add(" AND e.event_id = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::EventName(v)) => {
            add(" AND e.event_name = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::ReadOnly(v)) => add(" AND e.read_only = #", Bind::Bool(*v), &mut sql),
        Some(AuditAttribute::Username(v)) => {
            add(" AND e.username = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::EventSource(v)) => {
            add(" AND e.event_source = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::AccessKeyId(v)) => {
            add(" AND e.access_key_id = #", Bind::Text(v.clone()), &mut sql)
        }
        Some(AuditAttribute::ResourceName(v)) => add(
            " AND EXISTS (SELECT 1 FROM audit_resources r WHERE r.seq = e.seq AND r.resource_name = #)",
            Bind::Text(v.clone()),
            &mut sql,
        ),
        Some(AuditAttribute::ResourceType(v)) => add(
            " AND EXISTS (SELECT 1 FROM audit_resources r WHERE r.seq = e.seq AND r.resource_type = #)",
            Bind::Text(v.clone()),
            &mut sql,
        ),
    }
    binds.push(Bind::Int(i64::try_from(q.limit).unwrap_or(i64::MAX)));
    sql.push_str(&format!(" ORDER BY e.seq DESC LIMIT {}", ph(binds.len())));
    (sql, binds)
}
