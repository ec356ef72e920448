//! Rendering for humans (`--output table`) and for scripts (`--output json`, the API's shapes).

use bbws_core::Error;
use bbws_core::audit::AuditEvent;
use bbws_core::ids::TenantId;
use bbws_core::org::{
    Assignment, DirectoryUser, Invitation, OrgTree, OrgUnit, PublicInvitation, StoredMail,
    TeamMember, UserId, UserProfile, UserTenant,
};
use bbws_core::tenant::Tenant;
use bbws_lambda::api::dto::{AuditEventResponse, TenantResponse};
use bbws_lambda::api::org_dto::{
    HierarchyTreeResponse, InvitationResponse, OrgUnitResponse, TeamMemberResponse,
    UserAssignmentResponse, UserProfileResponse, UserTenantResponse,
};
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

// ---------------------------------------------------------------------------- organisation

fn page_json<T: serde::Serialize>(items: &[T], next: Option<&str>) {
    json_out(
        &json!({"items": items, "count": items.len(), "nextToken": next, "moreAvailable": next.is_some()}),
    );
}

fn more(next: Option<&str>) {
    if let Some(n) = next {
        println!("more: --next-token {n}");
    }
}

/// A one-line confirmation of a command that returns nothing.
pub fn done(out: Output, message: &str) {
    match out {
        Output::Json => json_out(&json!({"message": message})),
        Output::Table => println!("{message}"),
    }
}

fn fields(rows: &[(&str, Option<String>)]) {
    let mut tb = table(&["field", "value"]);
    for (k, v) in rows {
        if let Some(v) = v {
            tb.add_row(vec![(*k).to_owned(), v.clone()]);
        }
    }
    println!("{tb}");
}

pub fn unit(out: Output, u: &OrgUnit) {
    let r = OrgUnitResponse::from(u);
    match out {
        Output::Json => json_out(&r),
        Output::Table => fields(&[
            ("kind", Some(r.kind)),
            ("tenantId", Some(r.tenant_id)),
            ("divisionId", Some(r.division_id)),
            ("groupId", r.group_id),
            ("teamId", r.team_id),
            ("name", Some(r.name)),
            ("version", Some(r.version.to_string())),
            ("createdAt", Some(r.created_at)),
            ("createdBy", Some(r.created_by)),
            ("updatedAt", Some(r.updated_at)),
            ("updatedBy", Some(r.updated_by)),
            ("deleted", (!u.active).then(|| "yes".to_owned())),
        ]),
    }
}

pub fn units(out: Output, items: &[OrgUnit], next: Option<&str>) {
    match out {
        Output::Json => {
            let items: Vec<OrgUnitResponse> = items.iter().map(OrgUnitResponse::from).collect();
            page_json(&items, next);
        }
        Output::Table => {
            let mut tb = table(&["id", "kind", "name", "version", "updatedAt"]);
            for u in items {
                tb.add_row(vec![
                    u.path.id_string(),
                    u.kind().as_str().to_owned(),
                    u.name.as_str().to_owned(),
                    u.version.to_string(),
                    u.updated.at.to_string(),
                ]);
            }
            println!("{tb}");
            more(next);
        }
    }
}

pub fn member(out: Output, m: &TeamMember) {
    match out {
        Output::Json => json_out(&TeamMemberResponse::from(m)),
        Output::Table => members(out, std::slice::from_ref(m), None),
    }
}

pub fn members(out: Output, items: &[TeamMember], next: Option<&str>) {
    match out {
        Output::Json => {
            let items: Vec<TeamMemberResponse> =
                items.iter().map(TeamMemberResponse::from).collect();
            page_json(&items, next);
        }
        Output::Table => {
            let mut tb = table(&["userId", "email", "teamId", "addedAt"]);
            for m in items {
                tb.add_row(vec![
                    m.user_id.to_string(),
                    m.email.to_string(),
                    m.team.id_string(),
                    m.added.at.to_string(),
                ]);
            }
            println!("{tb}");
            more(next);
        }
    }
}

pub fn tree(out: Output, tenant: &TenantId, tree: &OrgTree) {
    match out {
        Output::Json => json_out(&HierarchyTreeResponse::new(tenant, tree)),
        Output::Table => {
            println!("{tenant}");
            for d in &tree.divisions {
                println!(
                    "└─ division {} ({})",
                    d.unit.name.as_str(),
                    d.unit.path.id_string()
                );
                for g in &d.groups {
                    println!(
                        "   └─ group {} ({})",
                        g.unit.name.as_str(),
                        g.unit.path.id_string()
                    );
                    for t in &g.teams {
                        println!(
                            "      └─ team {} ({})",
                            t.unit.name.as_str(),
                            t.unit.path.id_string()
                        );
                        for m in &t.members {
                            println!("         · {} <{}>", m.user_id, m.email);
                        }
                    }
                }
            }
        }
    }
}

pub fn assignment(out: Output, a: &Assignment, warnings: &[String]) {
    let mut r = UserAssignmentResponse::from(a);
    r.warnings = warnings.to_vec();
    match out {
        Output::Json => json_out(&r),
        Output::Table => fields(&[
            ("tenantId", Some(r.tenant_id)),
            ("userId", Some(r.user_id)),
            ("email", Some(r.email)),
            ("role", Some(r.role)),
            ("active", Some(r.active.to_string())),
            ("version", Some(r.version.to_string())),
            ("assignedAt", Some(r.assigned_at)),
            ("assignedBy", Some(r.assigned_by)),
            ("updatedAt", Some(r.updated_at)),
            ("updatedBy", Some(r.updated_by)),
        ]),
    }
}

pub fn assignments(out: Output, items: &[Assignment], next: Option<&str>) {
    match out {
        Output::Json => {
            let items: Vec<UserAssignmentResponse> =
                items.iter().map(UserAssignmentResponse::from).collect();
            page_json(&items, next);
        }
        Output::Table => {
            let mut tb = table(&["userId", "email", "role", "version", "assignedAt"]);
            for a in items {
                tb.add_row(vec![
                    a.user_id.to_string(),
                    a.email.to_string(),
                    a.role.as_str().to_owned(),
                    a.version.to_string(),
                    a.assigned.at.to_string(),
                ]);
            }
            println!("{tb}");
            more(next);
        }
    }
}

pub fn profile(out: Output, p: &UserProfile) {
    match out {
        Output::Json => json_out(&UserProfileResponse::from(p)),
        Output::Table => {
            println!(
                "user {} <{}>",
                p.user_id,
                p.email.as_ref().map_or("", |e| e.as_str())
            );
            let mut tb = table(&["tenantId", "role", "assignedAt"]);
            for a in &p.tenants {
                tb.add_row(vec![
                    a.tenant_id.to_string(),
                    a.role.as_str().to_owned(),
                    a.assigned.at.to_string(),
                ]);
            }
            println!("{tb}");
            if !p.teams.is_empty() {
                let mut tb = table(&["tenantId", "teamId", "addedAt"]);
                for m in &p.teams {
                    tb.add_row(vec![
                        m.tenant_id.to_string(),
                        m.team.id_string(),
                        m.added.at.to_string(),
                    ]);
                }
                println!("{tb}");
            }
        }
    }
}

pub fn user_tenants(out: Output, user: &UserId, items: &[UserTenant]) {
    match out {
        Output::Json => {
            let items: Vec<UserTenantResponse> =
                items.iter().map(UserTenantResponse::from).collect();
            json_out(&json!({"userId": user.as_str(), "items": items, "count": items.len()}));
        }
        Output::Table => {
            let mut tb = table(&["tenantId", "organizationName", "role", "assignedAt"]);
            for t in items {
                tb.add_row(vec![
                    t.assignment.tenant_id.to_string(),
                    t.organization_name.clone().unwrap_or_default(),
                    t.assignment.role.as_str().to_owned(),
                    t.assignment.assigned.at.to_string(),
                ]);
            }
            println!("{tb}");
        }
    }
}

pub fn directory(out: Output, items: &[DirectoryUser]) {
    match out {
        Output::Json => {
            let items: Vec<_> = items
                .iter()
                .map(|u| json!({"userId": u.user_id.as_str(), "email": u.email.as_str(), "enabled": u.enabled}))
                .collect();
            json_out(&json!({"items": items, "count": items.len()}));
        }
        Output::Table => {
            let mut tb = table(&["userId", "email", "enabled"]);
            for u in items {
                tb.add_row(vec![
                    u.user_id.to_string(),
                    u.email.to_string(),
                    u.enabled.to_string(),
                ]);
            }
            println!("{tb}");
        }
    }
}

pub fn invitation(out: Output, i: &Invitation, max_resends: u32) {
    let r = InvitationResponse::new(i, max_resends);
    match out {
        Output::Json => json_out(&r),
        Output::Table => fields(&[
            ("invitationId", Some(r.invitation_id)),
            ("tenantId", Some(r.tenant_id)),
            ("email", Some(r.email)),
            ("role", Some(r.role)),
            ("teamId", r.team_id),
            ("status", Some(r.status)),
            ("expiresAt", Some(r.expires_at)),
            ("resendCount", Some(r.resend_count.to_string())),
            ("version", Some(r.version.to_string())),
            ("createdAt", Some(r.created_at)),
            ("createdBy", Some(r.created_by)),
            ("acceptedAt", r.accepted_at),
            ("acceptedBy", r.accepted_by),
            ("declinedAt", r.declined_at),
            ("cancelledAt", r.cancelled_at),
        ]),
    }
}

pub fn invitations(out: Output, items: &[Invitation], max_resends: u32, next: Option<&str>) {
    match out {
        Output::Json => {
            let items: Vec<InvitationResponse> = items
                .iter()
                .map(|i| InvitationResponse::new(i, max_resends))
                .collect();
            page_json(&items, next);
        }
        Output::Table => {
            let mut tb = table(&["invitationId", "email", "role", "status", "expiresAt"]);
            for i in items {
                let r = InvitationResponse::new(i, max_resends);
                tb.add_row(vec![
                    r.invitation_id,
                    r.email,
                    r.role,
                    r.status,
                    r.expires_at,
                ]);
            }
            println!("{tb}");
            more(next);
        }
    }
}

pub fn public_invitation(out: Output, p: &PublicInvitation) {
    match out {
        Output::Json => json_out(&json!({
            "email": p.email.as_str(),
            "organisationName": p.organisation_name,
            "role": p.role.as_str(),
            "status": p.status.as_str(),
            "expiresAt": p.expires_at.to_string(),
            "isValid": p.is_valid,
        })),
        Output::Table => fields(&[
            ("email", Some(p.email.to_string())),
            ("organisationName", Some(p.organisation_name.clone())),
            ("role", Some(p.role.as_str().to_owned())),
            ("status", Some(p.status.as_str().to_owned())),
            ("expiresAt", Some(p.expires_at.to_string())),
            ("isValid", Some(p.is_valid.to_string())),
        ]),
    }
}

/// The first link in a mail's text that leads to an invitation.
pub fn accept_link(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/invitations/"))
}

pub fn mails(out: Output, items: &[StoredMail]) {
    match out {
        Output::Json => {
            let items: Vec<_> = items
                .iter()
                .map(|m| {
                    json!({
                        "seq": m.seq,
                        "to": m.message.to.as_str(),
                        "subject": m.message.subject,
                        "text": m.message.text,
                        "sentAt": m.sent_at.to_string(),
                        "link": accept_link(&m.message.text),
                    })
                })
                .collect();
            json_out(&json!({"items": items, "count": items.len()}));
        }
        Output::Table => {
            let mut tb = table(&["seq", "to", "subject", "sentAt", "link"]);
            for m in items {
                tb.add_row(vec![
                    m.seq.to_string(),
                    m.message.to.to_string(),
                    m.message.subject.clone(),
                    m.sent_at.to_string(),
                    accept_link(&m.message.text).unwrap_or("").to_owned(),
                ]);
            }
            println!("{tb}");
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
