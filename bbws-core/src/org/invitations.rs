//! Invitation use cases: admin (I1–I6) and public by token (P1–P3), states per digest §4.3 and
//! C10–C14, C38.

use serde_json::{Value, json};

use crate::auth::Actor;
use crate::error::{Error, ErrorCode, Result};
use crate::idempotency::IdempotencyKey;
use crate::ids::{InvitationId, TeamId, TenantId};
use crate::pagination::{Page, PageRequest};
use crate::ports::Expect;
use crate::tenant::{Created, Email, Stamp, Tenant};
use crate::time::Timestamp;

use super::model::{Assignment, Invitation, MailMessage, PublicInvitation, TeamMember};
use super::ports::{
    CounterExpect, CounterKey, CounterOp, GuardKey, GuardOp, OrgCheck, OrgItem, OrgOp, OrgOutcome,
    TokenOp,
};
use super::service::{OrgAction, OrgService, foreign_outcome, opt_str};
use super::values::{InvitationStatus, InvitationToken, UserId, invitation_not_found};
use crate::auth::Role;

fn inv_json(i: &Invitation) -> Value {
    json!({
        "invitationId": i.id.to_string(),
        "email": i.email.as_str(),
        "role": i.role.as_str(),
        "teamId": opt_str(i.team.and_then(super::values::UnitPath::team)),
        "status": i.status.as_str(),
        "expiresAt": i.expires_at.to_string(),
        "resendCount": i.resend_count,
    })
}

fn pending_guard(i: &Invitation) -> GuardKey {
    GuardKey::PendingInvitation {
        email: i.email.clone(),
    }
}

fn invalid_state(message: String) -> Error {
    Error::business(ErrorCode::InvalidState, message)
}

impl OrgService {
    /// I2: invites an e-mail to the tenant with a role (and optionally a team), and mails the
    /// accept link. The token lives only in the mail; the store keeps its SHA-256.
    pub async fn create_invitation(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        email: &Email,
        role: Role,
        team: Option<TeamId>,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Invitation>> {
        let (t, _) = self.access(actor, tenant, OrgAction::Manage).await?;
        let now = self.now();
        let idem = Self::idem(
            key,
            "CREATE_INVITATION",
            actor,
            tenant,
            &json!({"email": email.normalized(), "role": role.as_str(), "teamId": opt_str(team)}),
        );
        if let Some(done) = self.replay(&idem, now).await? {
            return replayed_invitation(done);
        }
        Self::require_active(&t)?;
        let team = match team {
            Some(id) => Some(self.find_team(tenant, id).await?),
            None => None,
        };
        if let Some(user) = self.ports.directory.find_by_email(email).await?
            && self
                .ports
                .org
                .get_assignment(tenant, &user.user_id)
                .await?
                .is_some_and(|a| a.active)
        {
            return Err(Error::business(
                ErrorCode::UserAlreadyMember,
                format!("{email} is already a member of the tenant"),
            ));
        }
        // An expired invitation still holding the e-mail's guard lets go of it first.
        if let Some(id) = self.ports.org.pending_invitation_for(tenant, email).await?
            && let Some(old) = self.ports.org.get_invitation(tenant, id).await?
        {
            self.expire_if_due(old, now).await?;
        }
        let token = InvitationToken::generate()?;
        let stamp = Stamp {
            at: now,
            by: actor.label().to_owned(),
        };
        let inv = Invitation {
            id: InvitationId::generate(self.ports.ids.as_ref()),
            tenant_id: *tenant,
            email: email.clone(),
            role,
            team,
            status: InvitationStatus::Pending,
            token_hash: token.hash(),
            expires_at: now.plus(self.config.invitation_ttl),
            resend_count: 0,
            created: stamp.clone(),
            updated: stamp,
            accepted: None,
            accepted_by: None,
            declined: None,
            cancelled: None,
            version: 1,
        };
        let mut w = self.write(
            tenant,
            "INVITATION_CREATED",
            actor.label(),
            now,
            inv_json(&inv),
        );
        w.checks.push(OrgCheck::TenantActive);
        if let Some(team) = team {
            w.checks.push(OrgCheck::UnitActive(team));
        }
        w.ops.push(OrgOp::Put {
            item: OrgItem::Invitation(inv.clone()),
            expect: Expect::Absent,
        });
        w.guards.push(GuardOp::Claim {
            key: pending_guard(&inv),
            owner: inv.id.to_string(),
        });
        w.tokens.push(TokenOp::Put {
            hash: inv.token_hash.clone(),
            invitation: inv.id,
        });
        w.idempotency = self.idem_record(&idem, OrgOutcome::Invitation(inv.clone()), now);
        if let Some(done) = self.commit_create(w, &idem, now).await? {
            return replayed_invitation(done);
        }
        self.mail_invitation(&t, &inv, &token).await;
        tracing::info!(action = "CREATE_INVITATION", tenant_id = %tenant, invitation_id = %inv.id, "invitation created");
        Ok(Created {
            value: inv,
            replayed: false,
        })
    }

    /// The accept link of a token.
    pub fn accept_link(&self, token: &InvitationToken) -> String {
        format!(
            "{}/invitations/{}",
            self.config.portal_url.trim_end_matches('/'),
            token.as_str()
        )
    }

    /// Sends the invitation mail; a failure is logged, the invitation stays (resend mails a new
    /// link).
    async fn mail_invitation(&self, tenant: &Tenant, inv: &Invitation, token: &InvitationToken) {
        let mail = MailMessage {
            to: inv.email.clone(),
            subject: format!(
                "You've been invited to join {} on BBWS",
                tenant.organization_name
            ),
            text: format!(
                "You have been invited to join {} as {}.\n\nAccept the invitation: {}\n\nThe link expires at {}.\n",
                tenant.organization_name,
                inv.role,
                self.accept_link(token),
                inv.expires_at
            ),
        };
        if let Err(e) = self.ports.mailer.send(&mail).await {
            tracing::warn!(error = %e, invitation_id = %inv.id, "invitation mail not sent");
        }
    }

    /// I1: the tenant's invitations, optionally of one status (an expired PENDING one reads as
    /// EXPIRED).
    pub async fn list_invitations(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        status: Option<InvitationStatus>,
        page: &PageRequest,
    ) -> Result<Page<Invitation>> {
        self.access(actor, tenant, OrgAction::Manage).await?;
        let now = self.now();
        Ok(self
            .ports
            .org
            .list_invitations(tenant, status, now, page)
            .await?
            .map(|mut i| {
                i.status = i.status_at(now);
                i
            }))
    }

    /// I3: one invitation (an expired PENDING one is recorded as EXPIRED, C13).
    pub async fn get_invitation(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: InvitationId,
    ) -> Result<Invitation> {
        self.access(actor, tenant, OrgAction::Manage).await?;
        let inv = self.stored_invitation(tenant, id).await?;
        self.expire_if_due(inv, self.now()).await
    }

    async fn stored_invitation(&self, tenant: &TenantId, id: InvitationId) -> Result<Invitation> {
        self.ports
            .org
            .get_invitation(tenant, id)
            .await?
            .ok_or_else(invitation_not_found)
    }

    /// I4: PENDING → CANCELLED; the token stops working (C11). Not PENDING → `INVALID_STATE`.
    pub async fn cancel_invitation(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: InvitationId,
    ) -> Result<Invitation> {
        self.access(actor, tenant, OrgAction::Manage).await?;
        self.retrying(false, || self.cancel_once(actor, tenant, id))
            .await
    }

    /// I6: an alias of [`OrgService::cancel_invitation`].
    pub async fn revoke_invitation(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: InvitationId,
    ) -> Result<Invitation> {
        self.cancel_invitation(actor, tenant, id).await
    }

    async fn cancel_once(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: InvitationId,
    ) -> Result<Invitation> {
        let cur = self.stored_invitation(tenant, id).await?;
        let at = self.now().max(cur.updated.at.next());
        let status = cur.status_at(at);
        if status != InvitationStatus::Pending {
            return Err(invalid_state(format!(
                "Only a PENDING invitation can be cancelled; this one is {status}"
            )));
        }
        let mut next = cur.touched(actor.label(), at);
        next.status = InvitationStatus::Cancelled;
        next.cancelled = Some(next.updated.clone());
        let mut w = self.write(
            tenant,
            "INVITATION_CANCELLED",
            actor.label(),
            at,
            inv_json(&next),
        );
        w.ops.push(OrgOp::Put {
            item: OrgItem::Invitation(next.clone()),
            expect: Expect::Version(cur.version),
        });
        w.guards.push(GuardOp::Release {
            key: pending_guard(&cur),
            owner: cur.id.to_string(),
        });
        w.tokens.push(TokenOp::Delete {
            hash: cur.token_hash.clone(),
        });
        self.ports.org.write_org(w).await?;
        Ok(next)
    }

    /// I5: mails a new link (C14): PENDING or EXPIRED → PENDING with a new token (the old one
    /// stops working) and a new expiry; at most `max_resends` times (`RESEND_LIMIT_EXCEEDED`).
    pub async fn resend_invitation(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: InvitationId,
    ) -> Result<Invitation> {
        let (t, _) = self.access(actor, tenant, OrgAction::Manage).await?;
        Self::require_active(&t)?;
        let (inv, token) = self
            .retrying(false, || self.resend_once(actor, tenant, id))
            .await?;
        self.mail_invitation(&t, &inv, &token).await;
        Ok(inv)
    }

    async fn resend_once(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: InvitationId,
    ) -> Result<(Invitation, InvitationToken)> {
        let cur = self.stored_invitation(tenant, id).await?;
        let at = self.now().max(cur.updated.at.next());
        let status = cur.status_at(at);
        if !matches!(
            status,
            InvitationStatus::Pending | InvitationStatus::Expired
        ) {
            return Err(invalid_state(format!(
                "Only a PENDING or EXPIRED invitation can be resent; this one is {status}"
            )));
        }
        if cur.resend_count >= self.config.max_resends {
            return Err(Error::business(
                ErrorCode::ResendLimitExceeded,
                format!("Maximum {} resends reached", self.config.max_resends),
            ));
        }
        let token = InvitationToken::generate()?;
        let mut next = cur.touched(actor.label(), at);
        next.status = InvitationStatus::Pending;
        next.token_hash = token.hash();
        next.expires_at = at.plus(self.config.invitation_ttl);
        next.resend_count += 1;
        let mut w = self.write(
            tenant,
            "INVITATION_RESENT",
            actor.label(),
            at,
            inv_json(&next),
        );
        w.checks.push(OrgCheck::TenantActive);
        w.ops.push(OrgOp::Put {
            item: OrgItem::Invitation(next.clone()),
            expect: Expect::Version(cur.version),
        });
        w.tokens.push(TokenOp::Delete {
            hash: cur.token_hash.clone(),
        });
        w.tokens.push(TokenOp::Put {
            hash: next.token_hash.clone(),
            invitation: next.id,
        });
        if cur.status == InvitationStatus::Expired {
            // Its guard was released when it expired.
            w.guards.push(GuardOp::Claim {
                key: pending_guard(&cur),
                owner: cur.id.to_string(),
            });
        }
        self.ports.org.write_org(w).await?;
        Ok((next, token))
    }

    /// Records a due expiry (C13): PENDING past `expiresAt` → EXPIRED, releasing the e-mail's
    /// guard. Returns the invitation as it now stands.
    pub(super) async fn expire_if_due(
        &self,
        inv: Invitation,
        now: Timestamp,
    ) -> Result<Invitation> {
        if inv.status_at(now) != InvitationStatus::Expired
            || inv.status == InvitationStatus::Expired
        {
            return Ok(inv);
        }
        let at = now.max(inv.updated.at.next());
        let mut next = inv.touched("system", at);
        next.status = InvitationStatus::Expired;
        let mut w = self.write(
            &inv.tenant_id,
            "INVITATION_EXPIRED",
            "system",
            at,
            inv_json(&next),
        );
        w.ops.push(OrgOp::Put {
            item: OrgItem::Invitation(next.clone()),
            expect: Expect::Version(inv.version),
        });
        w.guards.push(GuardOp::Release {
            key: pending_guard(&inv),
            owner: inv.id.to_string(),
        });
        match self.ports.org.write_org(w).await {
            Ok(()) => Ok(next),
            // Someone else changed it first: answer with what is stored now.
            Err(Error::VersionConflict { .. }) => {
                let fresh = self.stored_invitation(&inv.tenant_id, inv.id).await?;
                let mut shown = fresh.clone();
                shown.status = fresh.status_at(now);
                Ok(shown)
            }
            Err(e) => Err(e),
        }
    }

    /// The invitation a token currently belongs to: a token that matches none, or a rotated or
    /// cancelled one, is `INVITATION_NOT_FOUND`.
    async fn by_token(&self, token: &str) -> Result<Invitation> {
        let token = InvitationToken::parse(token)?;
        let hash = token.hash();
        self.ports
            .org
            .invitation_by_token(&hash)
            .await?
            .filter(|i| i.token_hash == hash && i.status != InvitationStatus::Cancelled)
            .ok_or_else(invitation_not_found)
    }

    /// P1: what the link shows (no authentication; the token is the credential). An expired
    /// invitation reads as EXPIRED and is no longer valid.
    pub async fn view_invitation(&self, token: &str) -> Result<PublicInvitation> {
        let inv = self.by_token(token).await?;
        let inv = self.expire_if_due(inv, self.now()).await?;
        let organisation_name = self
            .ports
            .tenants
            .get_tenant(&inv.tenant_id)
            .await?
            .map(|t| t.organization_name.as_str().to_owned())
            .unwrap_or_default();
        Ok(PublicInvitation {
            email: inv.email,
            organisation_name,
            role: inv.role,
            status: inv.status,
            expires_at: inv.expires_at,
            is_valid: inv.status == InvitationStatus::Pending,
        })
    }

    /// Refuses a token whose invitation can no longer be answered.
    async fn answerable(&self, inv: Invitation, now: Timestamp) -> Result<Invitation> {
        let inv = self.expire_if_due(inv, now).await?;
        match inv.status {
            InvitationStatus::Pending => Ok(inv),
            InvitationStatus::Expired => Err(Error::business(
                ErrorCode::InvitationExpired,
                "Invitation expired",
            )),
            InvitationStatus::Accepted | InvitationStatus::Declined => Err(Error::business(
                ErrorCode::InvitationAlreadyUsed,
                "Invitation already used",
            )),
            InvitationStatus::Cancelled => Err(invitation_not_found()),
        }
    }

    /// After a lost race on an invitation: the error its current state gives.
    async fn answer_after_race(&self, inv: &Invitation) -> Error {
        match self.stored_invitation(&inv.tenant_id, inv.id).await {
            Ok(fresh) if fresh.token_hash != inv.token_hash => invitation_not_found(),
            Ok(fresh) => match self.answerable(fresh, self.now()).await {
                Ok(_) => Error::VersionConflict {
                    expected: inv.version,
                    current: inv.version + 1,
                },
                Err(e) => e,
            },
            Err(e) => e,
        }
    }

    /// P2 (C38): the caller, whose e-mail must be the invitation's (any letter case), joins the
    /// tenant with the invited role (and the team, if one is named). The assignment, the
    /// membership and ACCEPTED are one write, conditional on the invitation being unchanged
    /// (PENDING with this token), so a token is used at most once.
    pub async fn accept_invitation(&self, actor: &Actor, token: &str) -> Result<Assignment> {
        let inv = self.by_token(token).await?;
        let now = self.now();
        let inv = self.answerable(inv, now).await?;
        let same = actor
            .email()
            .and_then(|e| Email::parse(e).ok())
            .is_some_and(|e| e.normalized() == inv.email.normalized());
        if !same {
            return Err(Error::Forbidden(
                "This invitation was sent to another e-mail address".into(),
            ));
        }
        let user = UserId::parse(actor.sub())?;
        let tenant = self.load_tenant(&inv.tenant_id).await?;
        Self::require_active(&tenant)?;
        let at = now.max(inv.updated.at.next());
        let by = actor.label().to_owned();
        let mut next = inv.touched(&by, at);
        next.status = InvitationStatus::Accepted;
        next.accepted = Some(next.updated.clone());
        next.accepted_by = Some(user.clone());
        let stamp = Stamp { at, by };
        let assignment = Assignment {
            tenant_id: inv.tenant_id,
            user_id: user.clone(),
            email: inv.email.clone(),
            role: inv.role,
            active: true,
            assigned: stamp.clone(),
            updated: stamp.clone(),
            version: 1,
        };
        let details = json!({
            "invitationId": inv.id.to_string(),
            "userId": user.as_str(),
            "email": inv.email.as_str(),
            "role": inv.role.as_str(),
            "teamId": opt_str(inv.team.and_then(super::values::UnitPath::team)),
        });
        let mut w = self.write(
            &inv.tenant_id,
            "INVITATION_ACCEPTED",
            actor.label(),
            at,
            details.clone(),
        );
        w.events
            .push(self.event(&inv.tenant_id, "USER_ASSIGNED", at, details));
        w.checks.push(OrgCheck::TenantActive);
        w.ops.push(OrgOp::Put {
            item: OrgItem::Invitation(next),
            expect: Expect::Version(inv.version),
        });
        w.ops.push(OrgOp::Put {
            item: OrgItem::Assignment(assignment.clone()),
            expect: Expect::Absent,
        });
        if inv.role == Role::Admin {
            w.counters.push(CounterOp {
                key: CounterKey::Admins,
                delta: 1,
                expect: CounterExpect::Any,
            });
        }
        if let Some(team) = inv.team
            && let Some(team_id) = team.team()
        {
            w.checks.push(OrgCheck::UnitActive(team));
            w.ops.push(OrgOp::Put {
                item: OrgItem::Member(TeamMember {
                    tenant_id: inv.tenant_id,
                    team,
                    user_id: user.clone(),
                    email: inv.email.clone(),
                    added: stamp,
                    version: 1,
                }),
                expect: Expect::Absent,
            });
            w.counters.push(CounterOp {
                key: CounterKey::Members(team_id),
                delta: 1,
                expect: CounterExpect::Any,
            });
        }
        w.guards.push(GuardOp::Release {
            key: pending_guard(&inv),
            owner: inv.id.to_string(),
        });
        match self.ports.org.write_org(w).await {
            Ok(()) => {}
            Err(Error::VersionConflict { .. }) => return Err(self.answer_after_race(&inv).await),
            Err(e) => return Err(e),
        }
        self.join_group(&user, inv.tenant_id, inv.role).await;
        tracing::info!(action = "ACCEPT_INVITATION", tenant_id = %inv.tenant_id, invitation_id = %inv.id, "invitation accepted");
        Ok(assignment)
    }

    /// P3: the invitee declines (no authentication, C38); the tenant's contact is told
    /// (BR-INV-004).
    pub async fn decline_invitation(&self, token: &str) -> Result<PublicInvitation> {
        let inv = self.by_token(token).await?;
        let now = self.now();
        let inv = self.answerable(inv, now).await?;
        let at = now.max(inv.updated.at.next());
        let by = inv.email.as_str().to_owned();
        let mut next = inv.touched(&by, at);
        next.status = InvitationStatus::Declined;
        next.declined = Some(next.updated.clone());
        let mut w = self.write(
            &inv.tenant_id,
            "INVITATION_DECLINED",
            &by,
            at,
            inv_json(&next),
        );
        w.ops.push(OrgOp::Put {
            item: OrgItem::Invitation(next.clone()),
            expect: Expect::Version(inv.version),
        });
        w.guards.push(GuardOp::Release {
            key: pending_guard(&inv),
            owner: inv.id.to_string(),
        });
        match self.ports.org.write_org(w).await {
            Ok(()) => {}
            Err(Error::VersionConflict { .. }) => return Err(self.answer_after_race(&inv).await),
            Err(e) => return Err(e),
        }
        let tenant = self.ports.tenants.get_tenant(&inv.tenant_id).await?;
        if let Some(t) = &tenant {
            let mail = MailMessage {
                to: t.contact_email.clone(),
                subject: format!(
                    "{} declined the invitation to {}",
                    inv.email, t.organization_name
                ),
                text: format!(
                    "{} declined the invitation to join {} as {}.\n",
                    inv.email, t.organization_name, inv.role
                ),
            };
            if let Err(e) = self.ports.mailer.send(&mail).await {
                tracing::warn!(error = %e, invitation_id = %inv.id, "decline notice not sent");
            }
        }
        Ok(PublicInvitation {
            email: next.email,
            organisation_name: tenant
                .map(|t| t.organization_name.as_str().to_owned())
                .unwrap_or_default(),
            role: next.role,
            status: next.status,
            expires_at: next.expires_at,
            is_valid: false,
        })
    }
}

fn replayed_invitation(done: OrgOutcome) -> Result<Created<Invitation>> {
    match done {
        OrgOutcome::Invitation(i) => Ok(Created {
            value: i,
            replayed: true,
        }),
        _ => Err(foreign_outcome()),
    }
}
