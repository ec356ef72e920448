//! Set-up for the organisation tests: a `TenantService` and an `OrgService` on one embedded
//! store, with its local directory and mailbox, and callers built from claims.

use std::sync::Arc;

use bbws_core::auth::Actor;
use bbws_core::ids::{RandomIds, TenantId};
use bbws_core::org::{
    DirectoryUser, OrgPorts, OrgService, OrgServiceConfig, OrgUnit, Parent, StoredMail, UnitName,
    UserId,
};
use bbws_core::store::{EmbeddedMailbox, EmbeddedStore};
use bbws_core::tenant::{Tenant, TenantPorts, TenantService, TenantStatus};
use bbws_core::time::ManualClock;
use serde_json::json;

use crate::support::{START, actor, email, new_tenant, platform_admin};

pub const PORTAL: &str = "https://portal.bbws.test";

#[derive(Debug, Clone)]
pub struct Setup {
    pub store: Arc<EmbeddedStore>,
    pub clock: Arc<ManualClock>,
    pub tenants: Arc<TenantService>,
    pub org: Arc<OrgService>,
    pub mailbox: EmbeddedMailbox,
}

impl Setup {
    pub fn in_memory() -> Self {
        Self::on(EmbeddedStore::in_memory().expect("in-memory store opens"))
    }

    pub fn on(store: EmbeddedStore) -> Self {
        let store = Arc::new(store);
        let clock = Arc::new(ManualClock::new(START.parse().expect("valid start time")));
        let ids = Arc::new(RandomIds);
        let tenants = TenantService::new(TenantPorts::from_backend(
            &store,
            clock.clone(),
            ids.clone(),
        ));
        let mailbox = EmbeddedMailbox::new((*store).clone(), clock.clone());
        let org = OrgService::new(OrgPorts {
            org: store.clone(),
            tenants: store.clone(),
            directory: store.clone(),
            mailer: Arc::new(mailbox.clone()),
            clock: clock.clone(),
            ids,
        })
        .with_config(OrgServiceConfig {
            portal_url: format!("{PORTAL}/"),
            ..OrgServiceConfig::default()
        });
        Self {
            store,
            clock,
            tenants: Arc::new(tenants),
            org: Arc::new(org),
            mailbox,
        }
    }

    /// An ACTIVE tenant created by the platform admin.
    pub async fn tenant(&self, name: &str) -> Tenant {
        let t = self
            .tenants
            .create(&platform_admin(), new_tenant(name), None)
            .await
            .expect("tenant is created")
            .value;
        self.tenants
            .set_status(&platform_admin(), &t.id, TenantStatus::Active, None, None)
            .await
            .expect("tenant is activated")
    }

    /// Registers a user in the local directory; returns the caller it signs in as.
    pub async fn user(&self, sub: &str, mail: &str) -> Actor {
        self.store
            .register_user(&DirectoryUser {
                user_id: user_id(sub),
                email: email(mail),
                enabled: true,
            })
            .await
            .expect("user is registered");
        member(sub, mail)
    }

    /// Registers a user and assigns it to the tenant with `role`, as the platform admin.
    pub async fn assigned(&self, tenant: &TenantId, sub: &str, mail: &str, role: Role) -> Actor {
        let a = self.user(sub, mail).await;
        self.org
            .assign_user(&platform_admin(), tenant, &email(mail), role, None, None)
            .await
            .expect("user is assigned");
        a
    }

    pub async fn division(&self, tenant: &TenantId, name: &str) -> OrgUnit {
        self.unit(tenant, Parent::Tenant, name).await
    }

    pub async fn unit(&self, tenant: &TenantId, parent: Parent, name: &str) -> OrgUnit {
        self.org
            .create_unit(&platform_admin(), tenant, parent, unit_name(name), None)
            .await
            .expect("node is created")
            .value
    }

    /// A tenant's whole audit trail, oldest first.
    pub async fn audit_of(&self, tenant: &TenantId) -> Vec<bbws_core::audit::AuditEvent> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let p = self
                .tenants
                .audit_trail(
                    &platform_admin(),
                    tenant,
                    &crate::support::page(100, cursor),
                )
                .await
                .expect("audit trail");
            out.extend(p.items);
            match p.next {
                Some(n) => cursor = Some(n),
                None => return out,
            }
        }
    }

    pub fn clock_now(&self) -> bbws_core::time::Timestamp {
        bbws_core::time::Clock::now(self.clock.as_ref())
    }

    /// Every mail in the mailbox, oldest first.
    pub fn mails(&self) -> Vec<StoredMail> {
        self.mailbox.list(0, 10_000).expect("mailbox is readable")
    }

    /// The token of the last invitation mail sent to `to`.
    pub fn last_token(&self, to: &str) -> String {
        let mail = self
            .mails()
            .into_iter()
            .rev()
            .find(|m| m.message.to.as_str() == to && m.message.subject.contains("invited"))
            .expect("an invitation mail was sent");
        token_in(&mail.message.text)
    }
}

pub use bbws_core::auth::Role;

/// The token in an accept link of a mail text.
pub fn token_in(text: &str) -> String {
    let marker = format!("{PORTAL}/invitations/");
    let start = text.find(&marker).expect("the mail has an accept link") + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

pub fn user_id(s: &str) -> UserId {
    UserId::parse(s).expect("valid user id")
}

pub fn unit_name(s: &str) -> UnitName {
    UnitName::parse(s).expect("valid name")
}

/// A signed-in user with no claim roles: its roles come from the stored assignments.
pub fn member(sub: &str, mail: &str) -> Actor {
    actor(&json!({"sub": sub, "email": mail}))
}
