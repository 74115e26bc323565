//! KMS page: keys (ListKeys, DescribeKey, GetKeyRotationStatus for customer symmetric keys)
//! and their aliases (ListAliases).

use super::call::{self, KMS};
use super::html::{Html, Section, date, show};
use super::signed_in;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// At most this many keys are described on one page.
const MAX_KEYS: usize = 200;

pub async fn list(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (parts, _) = req.into_parts();
    let signed = match signed_in(&state, &parts).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut b = Html::new();
    let mut status = None;
    // Aliases by target key id.
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let mut input = json!({"Limit": 100});
        if let Some(m) = &marker {
            input["Marker"] = json!(m);
        }
        match call::call(&state, &signed.caller, KMS, "ListAliases", input).await {
            Err(r) => {
                b.error(&r.code, &r.message);
                break;
            }
            Ok(out) => {
                for a in out["Aliases"].as_array().cloned().unwrap_or_default() {
                    aliases
                        .entry(show(a.get("TargetKeyId")))
                        .or_default()
                        .push(show(a.get("AliasName")));
                }
                marker = out["NextMarker"].as_str().map(str::to_owned);
                if marker.is_none() || out["Truncated"].as_bool() != Some(true) {
                    break;
                }
            }
        }
    }
    let mut keys: Vec<Value> = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut input = json!({"Limit": 100});
        if let Some(m) = &marker {
            input["Marker"] = json!(m);
        }
        match call::call(&state, &signed.caller, KMS, "ListKeys", input).await {
            Err(r) => {
                status = Some(r.status);
                b.error(&r.code, &r.message);
                break;
            }
            Ok(out) => {
                keys.extend(out["Keys"].as_array().cloned().unwrap_or_default());
                marker = out["NextMarker"].as_str().map(str::to_owned);
                if marker.is_none() || keys.len() >= MAX_KEYS {
                    break;
                }
            }
        }
    }
    b.raw("<table class=\"data\" id=\"keys\">")
        .head(&[
            "Key",
            "Aliases",
            "Description",
            "State",
            "Spec",
            "Usage",
            "Manager",
            "Origin",
            "Rotation",
            "Created",
        ])
        .raw("<tbody>");
    for k in keys.iter().take(MAX_KEYS) {
        let id = show(k.get("KeyId"));
        let described = call::call(
            &state,
            &signed.caller,
            KMS,
            "DescribeKey",
            json!({"KeyId": id}),
        )
        .await;
        let m = match described {
            Ok(d) => d["KeyMetadata"].clone(),
            Err(r) => {
                b.refused_row(&id, "<td colspan=\"9\">", &r);
                continue;
            }
        };
        let customer_symmetric = show(m.get("KeyManager")) == "CUSTOMER"
            && show(m.get("KeySpec")) == "SYMMETRIC_DEFAULT"
            && show(m.get("Origin")) == "AWS_KMS";
        let rotation = if customer_symmetric {
            match call::call(
                &state,
                &signed.caller,
                KMS,
                "GetKeyRotationStatus",
                json!({"KeyId": id}),
            )
            .await
            {
                Ok(r) if r["KeyRotationEnabled"].as_bool() == Some(true) => {
                    let period = show(r.get("RotationPeriodInDays"));
                    format!(
                        "every {period} days, next {}",
                        date(r.get("NextRotationDate"))
                    )
                }
                Ok(_) => "off".to_owned(),
                Err(r) => r.code,
            }
        } else {
            String::new()
        };
        let names = aliases.get(&id).map(|a| a.join(", ")).unwrap_or_default();
        let mut spec = show(m.get("KeySpec"));
        if m["MultiRegion"].as_bool() == Some(true) {
            spec.push_str(" (multi-Region)");
        }
        b.raw("<tr>")
            .el("<td class=\"mono\">", &id, "</td>")
            .el("<td>", &names, "</td>")
            .el("<td>", &show(m.get("Description")), "</td>")
            .el("<td>", &show(m.get("KeyState")), "</td>")
            .el("<td>", &spec, "</td>")
            .el("<td>", &show(m.get("KeyUsage")), "</td>")
            .el("<td>", &show(m.get("KeyManager")), "</td>")
            .el("<td>", &show(m.get("Origin")), "</td>")
            .el("<td>", &rotation, "</td>")
            .el("<td>", &date(m.get("CreationDate")), "</td>")
            .raw("</tr>");
    }
    b.raw("</tbody></table>");
    if keys.len() > MAX_KEYS {
        b.raw("<p class=\"hint\">Only the first 200 keys are shown.</p>");
    }
    // Aliases whose key was not listed (AWS managed keys not yet created list their alias only).
    let listed: std::collections::BTreeSet<String> =
        keys.iter().map(|k| show(k.get("KeyId"))).collect();
    let orphans: Vec<&String> = aliases
        .iter()
        .filter(|(k, _)| k.is_empty() || !listed.contains(*k))
        .flat_map(|(_, a)| a)
        .collect();
    if !orphans.is_empty() {
        b.raw("<h2>Aliases of keys not listed</h2><ul id=\"other-aliases\">");
        for a in orphans {
            b.el("<li>", a, "</li>");
        }
        b.raw("</ul>");
    }
    signed.answer(status, "KMS keys and aliases", Section::Keys, b)
}
