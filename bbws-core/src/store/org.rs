//! The organisation ports on the embedded store, with the same keys and conditions as the
//! DynamoDB layout ([`crate::org::ports::keys`]): one write transaction per [`OrgWrite`].
//!
//! Tables:
//! - `org_items`: (tenantId, SK) → record; SK as on DynamoDB (`HIERARCHY#…`, `USER#…`,
//!   `INVITATION#…`), so a prefix range is a `begins_with` Query
//! - `org_by_user`: (userId, `TENANT#{t}` | `TEAM#{t}#{team}`) → `{tenantId}|{SK}` (GSI1)
//! - `org_guards`: (tenantId, guard key) → owner
//! - `org_counters`: (tenantId, counter key) → value
//! - `org_tokens`: token hash → `{tenantId}|{invitationId}`
//! - `org_idempotency`: scoped key → record
//! - `directory_users`, `directory_emails`, `directory_groups`, `directory_members`: the local
//!   user directory
//! - `mailbox`: sequence → mail

use std::sync::Arc;

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{EmbeddedStore, TENANTS, from_json, put_audit, put_events, storage, to_json};
use crate::auth::Role;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{InvitationId, TeamId, TenantId};
use crate::org::ports::{
    CounterKey, GuardOp, IdentityDirectory, Mailer, OrgCheck, OrgDao, OrgIdempotencyRecord,
    OrgItem, OrgKey, OrgOp, OrgWrite, TokenOp, keys,
};
use crate::org::records::{
    AssignmentRecord, DirectoryUserRecord, InvitationRecord, MailRecord, MemberRecord,
    OrgIdempotencyRecordRecord, UnitRecord,
};
use crate::org::{
    Assignment, DirectoryUser, HierarchySnapshot, Invitation, InvitationStatus, MailMessage,
    OrgUnit, Parent, StoredMail, TeamMember, TenantGroup, TokenHash, UnitPath, UserId,
};
use crate::pagination::{Cursor, Page, PageRequest, fingerprint};
use crate::records::TenantRecord;
use crate::tenant::{Email, TenantStatus};
use crate::time::{Clock, Timestamp};

const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("org_items");
const BY_USER: TableDefinition<(&str, &str), &str> = TableDefinition::new("org_by_user");
const GUARDS: TableDefinition<(&str, &str), &str> = TableDefinition::new("org_guards");
const COUNTERS: TableDefinition<(&str, &str), u64> = TableDefinition::new("org_counters");
const TOKENS: TableDefinition<&str, &str> = TableDefinition::new("org_tokens");
const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("org_idempotency");
const DIR_USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("directory_users");
const DIR_EMAILS: TableDefinition<&str, &str> = TableDefinition::new("directory_emails");
const DIR_GROUPS: TableDefinition<&str, &str> = TableDefinition::new("directory_groups");
const DIR_MEMBERS: TableDefinition<(&str, &str), &str> = TableDefinition::new("directory_members");
const MAILBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("mailbox");

pub(super) fn create_tables(tx: &WriteTransaction) -> Result<()> {
    tx.open_table(ITEMS).map_err(storage)?;
    tx.open_table(BY_USER).map_err(storage)?;
    tx.open_table(GUARDS).map_err(storage)?;
    tx.open_table(COUNTERS).map_err(storage)?;
    tx.open_table(TOKENS).map_err(storage)?;
    tx.open_table(IDEMPOTENCY).map_err(storage)?;
    tx.open_table(DIR_USERS).map_err(storage)?;
    tx.open_table(DIR_EMAILS).map_err(storage)?;
    tx.open_table(DIR_GROUPS).map_err(storage)?;
    tx.open_table(DIR_MEMBERS).map_err(storage)?;
    tx.open_table(MAILBOX).map_err(storage)?;
    Ok(())
}

fn parse<R: DeserializeOwned, T: TryFrom<R, Error = Error>>(b: &[u8], what: &str) -> Result<T> {
    from_json::<R>(b, what)?.try_into()
}

fn parse_item(sk: &str, b: &[u8]) -> Result<OrgItem> {
    if sk.starts_with("HIERARCHY#TEAMUSER#") {
        Ok(OrgItem::Member(parse::<MemberRecord, _>(b, "team member")?))
    } else if sk.starts_with(keys::HIERARCHY_PREFIX) {
        Ok(OrgItem::Unit(parse::<UnitRecord, _>(b, "hierarchy")?))
    } else if sk.starts_with(keys::USER_PREFIX) {
        Ok(OrgItem::Assignment(parse::<AssignmentRecord, _>(
            b,
            "assignment",
        )?))
    } else if sk.starts_with(keys::INVITATION_PREFIX) {
        Ok(OrgItem::Invitation(parse::<InvitationRecord, _>(
            b,
            "invitation",
        )?))
    } else {
        Err(Error::Storage(format!("unknown organisation item {sk}")))
    }
}

fn item_json(item: &OrgItem) -> Result<Vec<u8>> {
    match item {
        OrgItem::Unit(u) => to_json(&UnitRecord::from(u)),
        OrgItem::Assignment(a) => to_json(&AssignmentRecord::from(a)),
        OrgItem::Member(m) => to_json(&MemberRecord::from(m)),
        OrgItem::Invitation(i) => to_json(&InvitationRecord::from(i)),
    }
}

/// The GSI1 entry of an item, if it has one: (userId, GSI1SK).
fn gsi1(tenant: &TenantId, item: &OrgItem) -> Option<(String, String)> {
    match item {
        OrgItem::Assignment(a) => Some((a.user_id.to_string(), keys::gsi1_assignment_sk(tenant))),
        OrgItem::Member(m) => m
            .team_id()
            .map(|t| (m.user_id.to_string(), keys::gsi1_member_sk(tenant, t))),
        _ => None,
    }
}

fn not_active(tenant: &TenantId, status: &str) -> Error {
    Error::business(
        ErrorCode::TenantNotActive,
        format!("Tenant {tenant} is {status}; this needs an ACTIVE tenant"),
    )
}

fn apply_org_write(tx: &WriteTransaction, w: &OrgWrite) -> Result<()> {
    let tid = w.tenant_id.to_string();

    if let Some(rec) = &w.idempotency {
        let mut idem = tx.open_table(IDEMPOTENCY).map_err(storage)?;
        if let Some(g) = idem.get(rec.key.as_str()).map_err(storage)? {
            let old: OrgIdempotencyRecordRecord = from_json(g.value(), "idempotency")?;
            let live = old
                .expires_at
                .parse::<Timestamp>()
                .map_or(true, |exp| exp > rec.created_at);
            if live {
                return Err(Error::IdempotencyKeyReused);
            }
        }
        idem.insert(
            rec.key.as_str(),
            to_json(&OrgIdempotencyRecordRecord::from(rec))?.as_slice(),
        )
        .map_err(storage)?;
    }

    let mut items = tx.open_table(ITEMS).map_err(storage)?;
    for check in &w.checks {
        match check {
            OrgCheck::TenantActive => {
                let tenants = tx.open_table(TENANTS).map_err(storage)?;
                let g = tenants
                    .get(tid.as_str())
                    .map_err(storage)?
                    .ok_or_else(|| Error::tenant_not_found(&tid))?;
                let t: TenantRecord = from_json(g.value(), "tenant")?;
                if t.status != TenantStatus::Active.as_str() {
                    return Err(not_active(&w.tenant_id, &t.status));
                }
            }
            OrgCheck::UnitActive(path) => {
                let sk = keys::unit_sk(*path);
                let active = match items.get((tid.as_str(), sk.as_str())).map_err(storage)? {
                    Some(g) => parse::<UnitRecord, OrgUnit>(g.value(), "hierarchy")?.active,
                    None => false,
                };
                if !active {
                    return Err(path.not_found());
                }
            }
            OrgCheck::Assigned(user) => {
                let key = OrgKey::Assignment(user.clone());
                let sk = key.sort_key();
                let active = match items.get((tid.as_str(), sk.as_str())).map_err(storage)? {
                    Some(g) => {
                        parse::<AssignmentRecord, Assignment>(g.value(), "assignment")?.active
                    }
                    None => false,
                };
                if !active {
                    return Err(key.not_found());
                }
            }
        }
    }

    let mut by_user = tx.open_table(BY_USER).map_err(storage)?;
    for op in &w.ops {
        let key = match op {
            OrgOp::Put { item, .. } => item.key(),
            OrgOp::Delete { key, .. } => key.clone(),
        };
        let sk = key.sort_key();
        let current = match items.get((tid.as_str(), sk.as_str())).map_err(storage)? {
            Some(g) => Some(parse_item(&sk, g.value())?),
            None => None,
        };
        match op {
            OrgOp::Put { item, expect } => {
                match (expect, &current) {
                    (crate::ports::Expect::Absent, Some(_)) => return Err(key.exists()),
                    (crate::ports::Expect::Version(_), None) => return Err(key.not_found()),
                    (crate::ports::Expect::Version(v), Some(cur)) if cur.version() != *v => {
                        return Err(Error::VersionConflict {
                            expected: *v,
                            current: cur.version(),
                        });
                    }
                    _ => {}
                }
                items
                    .insert((tid.as_str(), sk.as_str()), item_json(item)?.as_slice())
                    .map_err(storage)?;
                if let Some((user, gsk)) = gsi1(&w.tenant_id, item) {
                    let target = format!("{tid}|{sk}");
                    by_user
                        .insert((user.as_str(), gsk.as_str()), target.as_str())
                        .map_err(storage)?;
                }
            }
            OrgOp::Delete { version, .. } => {
                let Some(cur) = current else {
                    return Err(key.not_found());
                };
                if cur.version() != *version {
                    return Err(Error::VersionConflict {
                        expected: *version,
                        current: cur.version(),
                    });
                }
                items.remove((tid.as_str(), sk.as_str())).map_err(storage)?;
                if let Some((user, gsk)) = gsi1(&w.tenant_id, &cur) {
                    by_user
                        .remove((user.as_str(), gsk.as_str()))
                        .map_err(storage)?;
                }
            }
        }
    }

    let mut guards = tx.open_table(GUARDS).map_err(storage)?;
    for g in &w.guards {
        match g {
            GuardOp::Claim { key, owner } => {
                let k = key.key();
                let held = guards
                    .get((tid.as_str(), k.as_str()))
                    .map_err(storage)?
                    .map(|v| v.value().to_owned());
                if held.as_ref().is_some_and(|h| h != owner) {
                    return Err(key.taken());
                }
                guards
                    .insert((tid.as_str(), k.as_str()), owner.as_str())
                    .map_err(storage)?;
            }
            GuardOp::Release { key, owner } => {
                let k = key.key();
                let mine = guards
                    .get((tid.as_str(), k.as_str()))
                    .map_err(storage)?
                    .is_some_and(|v| v.value() == owner);
                if mine {
                    guards.remove((tid.as_str(), k.as_str())).map_err(storage)?;
                }
            }
        }
    }

    let mut counters = tx.open_table(COUNTERS).map_err(storage)?;
    for c in &w.counters {
        let k = c.key.key();
        let cur = counters
            .get((tid.as_str(), k.as_str()))
            .map_err(storage)?
            .map_or(0, |v| v.value());
        if !c.holds(cur) {
            return Err(c.refusal(cur));
        }
        if c.delta != 0 {
            let next = cur.saturating_add_signed(c.delta);
            counters
                .insert((tid.as_str(), k.as_str()), next)
                .map_err(storage)?;
        }
    }

    let mut tokens = tx.open_table(TOKENS).map_err(storage)?;
    for t in &w.tokens {
        match t {
            TokenOp::Put { hash, invitation } => {
                if tokens.get(hash.as_str()).map_err(storage)?.is_some() {
                    return Err(Error::conflict("Invitation token already in use"));
                }
                let target = format!("{tid}|{invitation}");
                tokens
                    .insert(hash.as_str(), target.as_str())
                    .map_err(storage)?;
            }
            TokenOp::Delete { hash } => {
                tokens.remove(hash.as_str()).map_err(storage)?;
            }
        }
    }

    put_audit(tx, &w.audit)?;
    put_events(tx, &w.events)
}

impl EmbeddedStore {
    fn get_item(&self, tenant: &TenantId, key: &OrgKey) -> Result<Option<OrgItem>> {
        let tid = tenant.to_string();
        let sk = key.sort_key();
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(ITEMS).map_err(storage)?;
        match table.get((tid.as_str(), sk.as_str())).map_err(storage)? {
            Some(g) => Ok(Some(parse_item(&sk, g.value())?)),
            None => Ok(None),
        }
    }

    /// One page of the items of a tenant under an SK prefix; `keep` selects and converts.
    fn scan<T>(
        &self,
        kind: &str,
        query: &[&str],
        tenant: &TenantId,
        prefix: &str,
        page: &PageRequest,
        keep: impl Fn(OrgItem) -> Option<T>,
    ) -> Result<Page<T>> {
        let tid = tenant.to_string();
        let mut parts = vec![tid.as_str(), prefix];
        parts.extend_from_slice(query);
        let fp = fingerprint(&parts);
        let after = match &page.cursor {
            Some(c) => Some(
                c.open(kind, &fp)?
                    .get("after")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| Error::field("nextToken", "Invalid pagination token"))?,
            ),
            None => None,
        };
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(ITEMS).map_err(storage)?;
        let start = after.clone().unwrap_or_else(|| prefix.to_owned());
        let limit = page.limit.get();
        let mut items = Vec::with_capacity(limit);
        let mut last = None;
        let mut more = false;
        for entry in table
            .range((tid.as_str(), start.as_str())..)
            .map_err(storage)?
        {
            let (k, v) = entry.map_err(storage)?;
            let (t, sk) = k.value();
            if t != tid || !sk.starts_with(prefix) {
                break;
            }
            if after.as_deref() == Some(sk) {
                continue;
            }
            let Some(item) = keep(parse_item(sk, v.value())?) else {
                continue;
            };
            if items.len() == limit {
                more = true;
                break;
            }
            last = Some(sk.to_owned());
            items.push(item);
        }
        let next = match (more, last) {
            (true, Some(sk)) => Some(Cursor::seal(kind, &fp, &json!({ "after": sk }))),
            _ => None,
        };
        Ok(Page { items, next })
    }

    /// The items a user's GSI1 entries under `prefix` point at.
    fn by_user(&self, user: &UserId, prefix: &str) -> Result<Vec<OrgItem>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let index = tx.open_table(BY_USER).map_err(storage)?;
        let table = tx.open_table(ITEMS).map_err(storage)?;
        let mut out = Vec::new();
        for entry in index.range((user.as_str(), prefix)..).map_err(storage)? {
            let (k, v) = entry.map_err(storage)?;
            let (u, gsk) = k.value();
            if u != user.as_str() || !gsk.starts_with(prefix) {
                break;
            }
            let Some((tid, sk)) = v.value().split_once('|') else {
                return Err(Error::Storage(format!("corrupt index entry {gsk}")));
            };
            if let Some(g) = table.get((tid, sk)).map_err(storage)? {
                out.push(parse_item(sk, g.value())?);
            }
        }
        Ok(out)
    }

    /// Adds a user to the local directory (or updates its e-mail), as an identity provider's
    /// sign-up would. An e-mail held by another user is a `CONFLICT`.
    pub async fn register_user(&self, user: &DirectoryUser) -> Result<()> {
        let user = user.clone();
        self.write(move |tx| {
            let mut users = tx.open_table(DIR_USERS).map_err(storage)?;
            let mut emails = tx.open_table(DIR_EMAILS).map_err(storage)?;
            let email_key = user.email.normalized();
            if let Some(holder) = emails.get(email_key.as_str()).map_err(storage)?
                && holder.value() != user.user_id.as_str()
            {
                return Err(Error::conflict(format!(
                    "{} belongs to another user",
                    user.email
                )));
            }
            let previous: Option<DirectoryUser> =
                match users.get(user.user_id.as_str()).map_err(storage)? {
                    Some(g) => Some(parse::<DirectoryUserRecord, _>(
                        g.value(),
                        "directory user",
                    )?),
                    None => None,
                };
            if let Some(p) = previous {
                emails
                    .remove(p.email.normalized().as_str())
                    .map_err(storage)?;
            }
            users
                .insert(
                    user.user_id.as_str(),
                    to_json(&DirectoryUserRecord::from(&user))?.as_slice(),
                )
                .map_err(storage)?;
            emails
                .insert(email_key.as_str(), user.user_id.as_str())
                .map_err(storage)?;
            Ok(())
        })
        .await
    }

    /// The local directory's users, in user-id order.
    pub fn directory_users(&self) -> Result<Vec<DirectoryUser>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let users = tx.open_table(DIR_USERS).map_err(storage)?;
        let mut out = Vec::new();
        for entry in users.range::<&str>(..).map_err(storage)? {
            let (_, v) = entry.map_err(storage)?;
            out.push(parse::<DirectoryUserRecord, _>(
                v.value(),
                "directory user",
            )?);
        }
        Ok(out)
    }

    /// The members of a local directory group, or `None` if the group does not exist.
    pub fn group_members(&self, group: &str) -> Result<Option<Vec<UserId>>> {
        let tx = self.db.begin_read().map_err(storage)?;
        if tx
            .open_table(DIR_GROUPS)
            .map_err(storage)?
            .get(group)
            .map_err(storage)?
            .is_none()
        {
            return Ok(None);
        }
        let members = tx.open_table(DIR_MEMBERS).map_err(storage)?;
        let mut out = Vec::new();
        for entry in members.range((group, "")..).map_err(storage)? {
            let (k, _) = entry.map_err(storage)?;
            let (g, user) = k.value();
            if g != group {
                break;
            }
            out.push(UserId::parse(user).map_err(|e| Error::Storage(e.to_string()))?);
        }
        Ok(Some(out))
    }

    /// The mails of the embedded mailbox, oldest first, from sequence `from` on.
    pub fn mails(&self, from: u64, limit: usize) -> Result<Vec<StoredMail>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(MAILBOX).map_err(storage)?;
        let mut out = Vec::new();
        for entry in table.range(from..).map_err(storage)?.take(limit) {
            let (k, v) = entry.map_err(storage)?;
            let (message, sent_at) = from_json::<MailRecord>(v.value(), "mail")?.parse()?;
            out.push(StoredMail {
                seq: k.value(),
                message,
                sent_at,
            });
        }
        Ok(out)
    }
}

#[async_trait]
impl OrgDao for EmbeddedStore {
    async fn get_unit(&self, tenant: &TenantId, path: UnitPath) -> Result<Option<OrgUnit>> {
        Ok(match self.get_item(tenant, &OrgKey::Unit(path))? {
            Some(OrgItem::Unit(u)) => Some(u),
            _ => None,
        })
    }

    async fn list_units(
        &self,
        tenant: &TenantId,
        parent: Parent,
        page: &PageRequest,
    ) -> Result<Page<OrgUnit>> {
        let prefix = keys::children_prefix(parent);
        self.scan("units", &[], tenant, &prefix, page, |i| match i {
            OrgItem::Unit(u) if u.active => Some(u),
            _ => None,
        })
    }

    async fn hierarchy(&self, tenant: &TenantId) -> Result<HierarchySnapshot> {
        let tid = tenant.to_string();
        let prefix = keys::HIERARCHY_PREFIX;
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(ITEMS).map_err(storage)?;
        let mut snap = HierarchySnapshot::default();
        for entry in table.range((tid.as_str(), prefix)..).map_err(storage)? {
            let (k, v) = entry.map_err(storage)?;
            let (t, sk) = k.value();
            if t != tid || !sk.starts_with(prefix) {
                break;
            }
            match parse_item(sk, v.value())? {
                OrgItem::Unit(u) => snap.units.push(u),
                OrgItem::Member(m) => snap.members.push(m),
                _ => {}
            }
        }
        Ok(snap)
    }

    async fn counter(&self, tenant: &TenantId, key: CounterKey) -> Result<u64> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(COUNTERS).map_err(storage)?;
        let tid = tenant.to_string();
        let k = key.key();
        Ok(table
            .get((tid.as_str(), k.as_str()))
            .map_err(storage)?
            .map_or(0, |v| v.value()))
    }

    async fn get_assignment(&self, tenant: &TenantId, user: &UserId) -> Result<Option<Assignment>> {
        Ok(
            match self.get_item(tenant, &OrgKey::Assignment(user.clone()))? {
                Some(OrgItem::Assignment(a)) => Some(a),
                _ => None,
            },
        )
    }

    async fn list_assignments(
        &self,
        tenant: &TenantId,
        role: Option<Role>,
        page: &PageRequest,
    ) -> Result<Page<Assignment>> {
        let r = role.map_or("", Role::as_str);
        self.scan(
            "users",
            &[r],
            tenant,
            keys::USER_PREFIX,
            page,
            |i| match i {
                OrgItem::Assignment(a) if a.active && role.is_none_or(|r| a.role == r) => Some(a),
                _ => None,
            },
        )
    }

    async fn user_assignments(&self, user: &UserId) -> Result<Vec<Assignment>> {
        Ok(self
            .by_user(user, "TENANT#")?
            .into_iter()
            .filter_map(|i| match i {
                OrgItem::Assignment(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    async fn user_memberships(&self, user: &UserId) -> Result<Vec<TeamMember>> {
        Ok(self
            .by_user(user, "TEAM#")?
            .into_iter()
            .filter_map(|i| match i {
                OrgItem::Member(m) => Some(m),
                _ => None,
            })
            .collect())
    }

    async fn get_member(
        &self,
        tenant: &TenantId,
        team: TeamId,
        user: &UserId,
    ) -> Result<Option<TeamMember>> {
        let tid = tenant.to_string();
        let sk = keys::member_sk(team, user);
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(ITEMS).map_err(storage)?;
        match table.get((tid.as_str(), sk.as_str())).map_err(storage)? {
            Some(g) => Ok(Some(parse::<MemberRecord, _>(g.value(), "team member")?)),
            None => Ok(None),
        }
    }

    async fn list_members(
        &self,
        tenant: &TenantId,
        team: TeamId,
        page: &PageRequest,
    ) -> Result<Page<TeamMember>> {
        let prefix = keys::members_prefix(team);
        self.scan("members", &[], tenant, &prefix, page, |i| match i {
            OrgItem::Member(m) => Some(m),
            _ => None,
        })
    }

    async fn get_invitation(
        &self,
        tenant: &TenantId,
        id: InvitationId,
    ) -> Result<Option<Invitation>> {
        Ok(match self.get_item(tenant, &OrgKey::Invitation(id))? {
            Some(OrgItem::Invitation(i)) => Some(i),
            _ => None,
        })
    }

    async fn list_invitations(
        &self,
        tenant: &TenantId,
        status: Option<InvitationStatus>,
        now: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<Invitation>> {
        let s = status.map_or("", InvitationStatus::as_str);
        self.scan(
            "invitations",
            &[s],
            tenant,
            keys::INVITATION_PREFIX,
            page,
            |i| match i {
                OrgItem::Invitation(i) if status.is_none_or(|s| i.status_at(now) == s) => Some(i),
                _ => None,
            },
        )
    }

    async fn invitation_by_token(&self, hash: &TokenHash) -> Result<Option<Invitation>> {
        let target = {
            let tx = self.db.begin_read().map_err(storage)?;
            let table = tx.open_table(TOKENS).map_err(storage)?;
            table
                .get(hash.as_str())
                .map_err(storage)?
                .map(|v| v.value().to_owned())
        };
        let Some((tid, id)) = target.as_deref().and_then(|t| t.split_once('|')) else {
            return Ok(None);
        };
        let corrupt = |e: Error| Error::Storage(format!("corrupt token entry: {e}"));
        let tenant: TenantId = tid.parse().map_err(corrupt)?;
        let id: InvitationId = id.parse().map_err(corrupt)?;
        self.get_invitation(&tenant, id).await
    }

    async fn pending_invitation_for(
        &self,
        tenant: &TenantId,
        email: &Email,
    ) -> Result<Option<InvitationId>> {
        let tid = tenant.to_string();
        let k = crate::org::ports::GuardKey::PendingInvitation {
            email: email.clone(),
        }
        .key();
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(GUARDS).map_err(storage)?;
        match table.get((tid.as_str(), k.as_str())).map_err(storage)? {
            Some(v) => {
                Ok(Some(v.value().parse().map_err(|e: Error| {
                    Error::Storage(format!("corrupt guard: {e}"))
                })?))
            }
            None => Ok(None),
        }
    }

    async fn get_org_idempotency(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<OrgIdempotencyRecord>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(IDEMPOTENCY).map_err(storage)?;
        let Some(g) = table.get(key).map_err(storage)? else {
            return Ok(None);
        };
        let rec: OrgIdempotencyRecord =
            parse::<OrgIdempotencyRecordRecord, _>(g.value(), "idempotency")?;
        Ok((rec.expires_at > now).then_some(rec))
    }

    async fn write_org(&self, write: OrgWrite) -> Result<()> {
        let has_events = !write.events.is_empty();
        self.write(move |tx| apply_org_write(tx, &write)).await?;
        if has_events {
            self.outbox_wake.notify_one();
        }
        Ok(())
    }
}

/// The local user directory: users registered with [`EmbeddedStore::register_user`], groups
/// created on first use.
#[async_trait]
impl IdentityDirectory for EmbeddedStore {
    async fn find_by_email(&self, email: &Email) -> Result<Option<DirectoryUser>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let emails = tx.open_table(DIR_EMAILS).map_err(storage)?;
        let Some(id) = emails
            .get(email.normalized().as_str())
            .map_err(storage)?
            .map(|v| v.value().to_owned())
        else {
            return Ok(None);
        };
        let users = tx.open_table(DIR_USERS).map_err(storage)?;
        match users.get(id.as_str()).map_err(storage)? {
            Some(g) => Ok(Some(parse::<DirectoryUserRecord, _>(
                g.value(),
                "directory user",
            )?)),
            None => Ok(None),
        }
    }

    async fn add_to_group(&self, user: &UserId, group: TenantGroup) -> Result<()> {
        let (user, name) = (user.to_string(), group.name());
        self.write(move |tx| {
            let mut groups = tx.open_table(DIR_GROUPS).map_err(storage)?;
            if groups.get(name.as_str()).map_err(storage)?.is_none() {
                groups.insert(name.as_str(), "").map_err(storage)?;
            }
            tx.open_table(DIR_MEMBERS)
                .map_err(storage)?
                .insert((name.as_str(), user.as_str()), "")
                .map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn remove_from_group(&self, user: &UserId, group: TenantGroup) -> Result<()> {
        let (user, name) = (user.to_string(), group.name());
        self.write(move |tx| {
            tx.open_table(DIR_MEMBERS)
                .map_err(storage)?
                .remove((name.as_str(), user.as_str()))
                .map_err(storage)?;
            Ok(())
        })
        .await
    }
}

/// The embedded mailbox: every mail sent is kept in the store, for `bbws mail list`.
#[derive(Debug, Clone)]
pub struct EmbeddedMailbox {
    store: EmbeddedStore,
    clock: Arc<dyn Clock>,
}

impl EmbeddedMailbox {
    pub fn new(store: EmbeddedStore, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The kept mails, oldest first, from sequence `from` on.
    pub fn list(&self, from: u64, limit: usize) -> Result<Vec<StoredMail>> {
        self.store.mails(from, limit)
    }
}

#[async_trait]
impl Mailer for EmbeddedMailbox {
    async fn send(&self, mail: &MailMessage) -> Result<()> {
        let record = MailRecord::new(mail, self.clock.now());
        self.store
            .write(move |tx| {
                let mut table = tx.open_table(MAILBOX).map_err(storage)?;
                let next = table
                    .last()
                    .map_err(storage)?
                    .map_or(0, |(k, _)| k.value() + 1);
                table
                    .insert(next, to_json(&record)?.as_slice())
                    .map_err(storage)?;
                Ok(())
            })
            .await
    }
}
