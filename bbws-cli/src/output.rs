//! Rendering for humans (`--output table`) and for scripts (`--output json`, the API's shapes).

use bbws_core::Error;
use bbws_core::audit::AuditEvent;
use bbws_core::tenant::Tenant;
use bbws_lambda::api::dto::{AuditEventResponse, TenantResponse};
use clap::ValueEnum;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

fn json_out(v: &impl serde::Serialize) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot render JSON: {e}"),
    }
}

pub fn tenant(out: Output, t: &Tenant) {
    match out {
        Output::Json => json_out(&TenantResponse::from(t)),
        Output::Table => {
            let r = TenantResponse::from(t);
            let mut tb = table(&["field", "value"]);
            let mut row = |k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    tb.add_row(vec![k, v]);
                }
            };
            row("tenantId", Some(&r.tenant_id));
            row("organizationName", Some(&r.organization_name));
            row("contactEmail", Some(&r.contact_email));
            row("environment", Some(&r.environment));
            row("status", Some(&r.status));
            row("version", Some(&r.version.to_string()));
            row("division", r.division.as_deref());
            row("group", r.group.as_deref());
            row("team", r.team.as_deref());
            let metadata = serde_json::Value::Object(r.metadata.clone()).to_string();
            row(
                "metadata",
                (!r.metadata.is_empty()).then_some(metadata.as_str()),
            );
            row("createdAt", Some(&r.created_at));
            row("createdBy", Some(&r.created_by));
            row("updatedAt", Some(&r.updated_at));
            row("updatedBy", Some(&r.updated_by));
            row("parkedAt", r.parked_at.as_deref());
            row("parkReason", r.park_reason.as_deref());
            row("suspendedAt", r.suspended_at.as_deref());
            row("suspendReason", r.suspend_reason.as_deref());
            row("deprovisionedAt", r.deprovisioned_at.as_deref());
            println!("{tb}");
        }
    }
}

pub fn tenants(out: Output, items: &[Tenant], next: Option<&str>) {
    match out {
        Output::Json => {
            let items: Vec<TenantResponse> = items.iter().map(TenantResponse::from).collect();
            json_out(
                &json!({"items": items, "count": items.len(), "nextToken": next, "moreAvailable": next.is_some()}),
            );
        }
        Output::Table => {
            let mut tb = table(&[
                "tenantId",
                "organizationName",
                "environment",
                "status",
                "version",
                "createdAt",
            ]);
            for t in items {
                tb.add_row(vec![
                    t.id.to_string(),
                    t.organization_name.to_string(),
                    t.environment.to_string(),
                    t.status.to_string(),
                    t.version.to_string(),
                    t.created.at.to_string(),
                ]);
            }
            println!("{tb}");
            if let Some(n) = next {
                println!("more: --next-token {n}");
            }
        }
    }
}

pub fn audit(out: Output, items: &[AuditEvent], next: Option<&str>) {
    match out {
        Output::Json => {
            let items: Vec<AuditEventResponse> =
                items.iter().map(AuditEventResponse::from).collect();
            json_out(
                &json!({"items": items, "count": items.len(), "nextToken": next, "moreAvailable": next.is_some()}),
            );
        }
        Output::Table => {
            let mut tb = table(&["timestamp", "eventType", "actor", "details"]);
            for e in items {
                tb.add_row(vec![
                    e.timestamp.to_string(),
                    e.event_type.clone(),
                    e.actor.clone(),
                    e.details.to_string(),
                ]);
            }
            println!("{tb}");
            if let Some(n) = next {
                println!("more: --next-token {n}");
            }
        }
    }
}

/// `error[CODE]: message`, then the details when there are any.
pub fn print_error(e: &Error) {
    eprintln!("error[{}]: {}", e.code(), e.public_message());
    if !e.code().is_client_error() {
        eprintln!("  cause: {e}");
    }
    let details = e.details();
    if details.as_object().is_some_and(|m| !m.is_empty()) {
        eprintln!("  details: {details}");
    }
}
