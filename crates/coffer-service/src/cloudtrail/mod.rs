//! CloudTrail's LookupEvents over the audit trail: the caller's own account's events, newest
//! first, by one lookup attribute and a time range.
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>

use crate::RequestContext;
use crate::model::Service;
use crate::wire::Epoch;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coffer_store::{AuditAttribute, AuditQuery, Store};
use serde::{Deserialize, Deserializer, Serialize};
use serde_with::skip_serializing_none;

/// The CloudTrail service (LookupEvents only).
#[derive(Clone)]
pub struct CloudTrail {
    store: Store,
    /// One authoriser for the service, so its parsed-policy cache outlives a request.
    authz: crate::authz::Authz,
}

impl std::fmt::Debug for CloudTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudTrail").finish_non_exhaustive()
    }
}

impl CloudTrail {
    pub fn new(store: Store) -> Self {
        Self {
            authz: crate::authz::Authz::new(store.clone()),
            store,
        }
    }
}

service_errors! {
    /// CloudTrail's error codes coffer produces.
    pub enum CloudTrailError;
    model: Some(Service::CloudTrail);
    internal: Internal, "An internal error occurred.";
    validation: Validation;
    serialization: Serialization;
    table {
        InvalidLookupAttributes => ("InvalidLookupAttributesException", 400),
        InvalidTimeRange => ("InvalidTimeRangeException", 400),
        InvalidMaxResults => ("InvalidMaxResultsException", 400),
        InvalidNextToken => ("InvalidNextTokenException", 400),
        AccessDenied => ("AccessDeniedException", 400),
        Validation => ("ValidationException", 400),
        Serialization => ("SerializationException", 400),
        /// Detail for the log only; the client sees a generic message.
        Internal => ("InternalFailure", 500),
    }
}

impl From<coffer_store::StoreError> for CloudTrailError {
    fn from(e: coffer_store::StoreError) -> Self {
        crate::error::store(e)
    }
}

operations!(CloudTrail, CloudTrailError, Service::CloudTrail;
    LookupEvents => lookup_events,
);

/// A timestamp input: epoch seconds, possibly fractional, as the SDKs send on awsJson.
fn epoch_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v: Option<f64> = Option::deserialize(d)?;
    #[allow(clippy::cast_possible_truncation)] // seconds since 1970 times 1000 fit in i64
    Ok(v.map(|s| (s * 1000.0).round() as i64))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupAttribute {
    attribute_key: String,
    attribute_value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsInput {
    #[serde(default)]
    lookup_attributes: Vec<LookupAttribute>,
    #[serde(default, deserialize_with = "epoch_millis")]
    start_time: Option<i64>,
    #[serde(default, deserialize_with = "epoch_millis")]
    end_time: Option<i64>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsOutput {
    events: Vec<Event>,
    next_token: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    event_id: String,
    event_name: String,
    read_only: String,
    access_key_id: Option<String>,
    event_time: Epoch,
    event_source: String,
    username: Option<String>,
    resources: Vec<Resource>,
    cloud_trail_event: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    resource_type: String,
    resource_name: String,
}

fn attribute(a: &LookupAttribute) -> Result<AuditAttribute, CloudTrailError> {
    let v = a.attribute_value.clone();
    Ok(match a.attribute_key.as_str() {
        "EventId" => AuditAttribute::EventId(v),
        "EventName" => AuditAttribute::EventName(v),
        "ReadOnly" => match v.as_str() {
            "true" => AuditAttribute::ReadOnly(true),
            "false" => AuditAttribute::ReadOnly(false),
            _ => {
                return Err(CloudTrailError::InvalidLookupAttributes(
                    "ReadOnly must be true or false.".to_owned(),
                ));
            }
        },
        "Username" => AuditAttribute::Username(v),
        "ResourceType" => AuditAttribute::ResourceType(v),
        "ResourceName" => AuditAttribute::ResourceName(v),
        "EventSource" => AuditAttribute::EventSource(v),
        "AccessKeyId" => AuditAttribute::AccessKeyId(v),
        other => {
            return Err(CloudTrailError::InvalidLookupAttributes(format!(
                "{other} is not a supported lookup attribute."
            )));
        }
    })
}

/// <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>
pub async fn lookup_events(
    ct: &CloudTrail,
    ctx: &RequestContext,
    input: LookupEventsInput,
) -> Result<LookupEventsOutput, CloudTrailError> {
    ct.authz
        .check_identity(ctx, "cloudtrail:LookupEvents", "*")
        .await
        .map_err(|e| match e {
            crate::authz::AuthzError::Denied(m) => CloudTrailError::AccessDenied(m),
            crate::authz::AuthzError::Store(e) => e.into(),
        })?;
    let attribute = match input.lookup_attributes.as_slice() {
        [] => None,
        [one] => Some(attribute(one)?),
        _ => {
            return Err(CloudTrailError::InvalidLookupAttributes(
                "You can specify only one lookup attribute.".to_owned(),
            ));
        }
    };
    if let (Some(s), Some(e)) = (input.start_time, input.end_time)
        && s > e
    {
        return Err(CloudTrailError::InvalidTimeRange(
            "Start time must be before end time.".to_owned(),
        ));
    }
    let limit = match input.max_results {
        None => 50,
        Some(n @ 1..=50) => usize::try_from(n).unwrap_or(50),
        Some(_) => {
            return Err(CloudTrailError::InvalidMaxResults(
                "MaxResults must be between 1 and 50.".to_owned(),
            ));
        }
    };
    let bad_token = || CloudTrailError::InvalidNextToken("Invalid NextToken.".to_owned());
    let before_seq = match &input.next_token {
        None => None,
        Some(t) => Some(
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(bad_token)?,
        ),
    };
    let mut records = ct
        .store
        .lookup_audit(&AuditQuery {
            account_id: ctx.account(),
            start: input.start_time,
            end: input.end_time,
            attribute: attribute.as_ref(),
            before_seq,
            limit: limit + 1,
        })
        .await?;
    let next_token = if records.len() > limit {
        records.truncate(limit);
        records
            .last()
            .map(|r| URL_SAFE_NO_PAD.encode(r.seq.to_string()))
    } else {
        None
    };
    Ok(LookupEventsOutput {
        events: records
            .into_iter()
            .map(|r| Event {
                event_id: r.event.event_id,
                event_name: r.event.event_name,
                read_only: r.event.read_only.to_string(),
                access_key_id: r.event.access_key_id,
                event_time: Epoch(r.event.event_time),
                event_source: r.event.event_source,
                username: r.event.username,
                resources: r
                    .event
                    .resources
                    .into_iter()
                    .map(|x| Resource {
                        resource_type: x.resource_type,
                        resource_name: x.name,
                    })
                    .collect(),
                cloud_trail_event: r.event.event_json,
            })
            .collect(),
        next_token,
    })
}
