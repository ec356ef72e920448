//! The HTTP API: one axum router for every tenant endpoint under `/v1.0`.
//!
//! Layers, outermost first: request id (set, then echoed on the response), tracing (a span with the
//! request id, action and tenant id), the error envelope renderer, the completion log line, panic
//! catching, the body-size limit. Authentication is an extractor
//! ([`extract::Caller`]) so public routes stay public and every other route refuses without it.

pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod hierarchy;
pub mod instance_backups;
pub mod instance_dto;
pub mod instance_identity;
pub mod instance_lifecycle;
pub mod instance_logs;
pub mod instance_terraform;
pub mod instance_update;
pub mod instances;
pub mod invitations;
pub mod logging;
pub mod openapi;
pub mod org_dto;
pub mod public;
pub mod tenants;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderName, Request};
use axum::routing::{get, post, put};
use bbws_core::instance::{InstanceService, ProvisioningEngine};
use bbws_core::org::OrgService;
use bbws_core::tenant::TenantService;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use self::auth::Authenticator;

/// The largest request body accepted (tenant bodies are a few hundred bytes; metadata is small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub tenants: TenantService,
    /// Hierarchy, users and invitations (authorized from the stored assignments). Without it the
    /// organisation routes are not served.
    pub org: Option<OrgService>,
    /// Instances and their operations (digest 2.7). Without it the instance routes are not served.
    pub instances: Option<InstanceService>,
    /// Runs accepted instance operations in this process (`bbws serve`); `None` leaves them to the
    /// instance worker.
    pub engine: Option<ProvisioningEngine>,
    pub auth: Arc<dyn Authenticator>,
}

/// What the organisation handlers share.
#[derive(Debug, Clone)]
pub struct OrgState {
    pub org: OrgService,
    pub auth: Arc<dyn Authenticator>,
}

impl FromRef<OrgState> for Arc<dyn Authenticator> {
    fn from_ref(s: &OrgState) -> Self {
        s.auth.clone()
    }
}

impl FromRef<AppState> for Arc<dyn Authenticator> {
    fn from_ref(s: &AppState) -> Self {
        s.auth.clone()
    }
}

/// The organisation routes: hierarchy, users, invitations.
fn org_routes() -> Router<OrgState> {
    use axum::routing::delete;
    let tenant = "/v1.0/tenants/{tenantId}";
    let division = format!("{tenant}/divisions/{{divisionId}}");
    let group = format!("{division}/groups/{{groupId}}");
    let team = format!("{group}/teams/{{teamId}}");
    let invitation = format!("{tenant}/invitations/{{invitationId}}");
    Router::new()
        .route(
            &format!("{tenant}/hierarchy"),
            get(hierarchy::get_hierarchy)
                .post(hierarchy::create_hierarchy)
                .put(hierarchy::update_hierarchy)
                .delete(hierarchy::delete_hierarchy),
        )
        .route(
            &format!("{tenant}/divisions"),
            get(hierarchy::list_divisions).post(hierarchy::create_division),
        )
        .route(
            &division,
            get(hierarchy::get_division)
                .put(hierarchy::update_division)
                .delete(hierarchy::delete_division),
        )
        .route(
            &format!("{division}/groups"),
            get(hierarchy::list_groups).post(hierarchy::create_group),
        )
        .route(
            &group,
            get(hierarchy::get_group)
                .put(hierarchy::update_group)
                .delete(hierarchy::delete_group),
        )
        .route(
            &format!("{group}/teams"),
            get(hierarchy::list_teams).post(hierarchy::create_team),
        )
        .route(
            &team,
            get(hierarchy::get_team)
                .put(hierarchy::update_team)
                .delete(hierarchy::delete_team),
        )
        .route(
            &format!("{team}/users"),
            get(hierarchy::list_team_users).post(hierarchy::add_team_user),
        )
        .route(
            &format!("{team}/users/{{userId}}"),
            delete(hierarchy::remove_team_user),
        )
        .route(
            &format!("{tenant}/users"),
            get(users::list_users).post(users::assign_user),
        )
        .route(
            &format!("{tenant}/users/{{userId}}"),
            get(users::get_tenant_user)
                .put(users::change_role)
                .delete(users::remove_user),
        )
        .route("/v1.0/users/{userId}", get(users::get_user))
        .route("/v1.0/users/{userId}/tenants", get(users::user_tenants))
        .route(
            &format!("{tenant}/invitations"),
            get(invitations::list_invitations).post(invitations::create_invitation),
        )
        .route(
            &invitation,
            get(invitations::get_invitation).delete(invitations::cancel_invitation),
        )
        .route(
            &format!("{invitation}/resend"),
            post(invitations::resend_invitation),
        )
        .route(
            &format!("{invitation}/revoke"),
            post(invitations::revoke_invitation),
        )
        .route(
            "/v1.0/invitations/{token}",
            get(invitations::view_invitation),
        )
        .route(
            "/v1.0/invitations/{token}/accept",
            post(invitations::accept_invitation),
        )
        .route(
            "/v1.0/invitations/{token}/decline",
            post(invitations::decline_invitation),
        )
}

/// The instance routes (digest 2.7 C1–C6, C8–C22, retry).
fn instance_routes() -> Router<instances::InstancesState> {
    let collection = "/v1.0/tenants/{tenantId}/instances";
    let instance = format!("{collection}/{{instanceId}}");
    Router::new()
        .route(
            collection,
            get(instances::list_instances).post(instances::provision_instance),
        )
        .route(
            &instance,
            get(instances::get_instance)
                .put(instance_update::update_instance)
                .delete(instances::deprovision_instance),
        )
        .route(
            &format!("{instance}/status"),
            get(instances::get_instance_status),
        )
        .route(
            &format!("{instance}/health"),
            get(instances::get_instance_health),
        )
        .route(
            &format!("{instance}/logs"),
            get(instance_logs::get_instance_logs),
        )
        .route(
            &format!("{instance}/identity"),
            get(instance_identity::get_identity).put(instance_identity::configure_identity),
        )
        .route(
            &format!("{instance}/retry"),
            post(instances::retry_instance),
        )
        .route(
            &format!("{instance}/terraform"),
            get(instance_terraform::get_terraform),
        )
        .route(
            &format!("{instance}/suspend"),
            post(instance_lifecycle::suspend_instance),
        )
        .route(
            &format!("{instance}/resume"),
            post(instance_lifecycle::resume_instance),
        )
        .route(
            &format!("{instance}/park"),
            post(instance_lifecycle::park_instance),
        )
        .route(
            &format!("{instance}/unpark"),
            post(instance_lifecycle::unpark_instance),
        )
        .route(
            &format!("{instance}/size"),
            put(instance_lifecycle::scale_instance),
        )
        .route(
            &format!("{instance}/restart"),
            post(instance_lifecycle::restart_instance),
        )
        .route(
            &format!("{instance}/backup"),
            post(instance_backups::backup_instance),
        )
        .route(
            &format!("{instance}/backups"),
            get(instance_backups::list_backups),
        )
        .route(
            &format!("{instance}/restore"),
            post(instance_backups::restore_instance),
        )
        .route(
            "/v1.0/operations/{operationId}",
            get(instances::get_operation),
        )
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static(error::REQUEST_ID);
    let tenant = "/v1.0/tenants/{tenantId}";
    let org = state.org.clone().map(|org| {
        org_routes().with_state(OrgState {
            org,
            auth: state.auth.clone(),
        })
    });
    let instances = state.instances.clone().map(|instances| {
        instance_routes().with_state(instances::InstancesState {
            instances,
            engine: state.engine.clone(),
            auth: state.auth.clone(),
        })
    });
    Router::new()
        .route("/v1.0/health", get(public::health))
        .route("/v1.0/openapi.json", get(public::openapi_json))
        .route(
            "/v1.0/tenants",
            post(tenants::create_tenant).get(tenants::list_tenants),
        )
        .route(
            tenant,
            get(tenants::get_tenant)
                .put(tenants::update_tenant)
                .delete(tenants::delete_tenant),
        )
        .route(
            &format!("{tenant}/status"),
            axum::routing::patch(tenants::set_status),
        )
        .route(&format!("{tenant}/lifecycle"), get(tenants::get_lifecycle))
        .route(
            &format!("{tenant}/lifecycle/park"),
            post(tenants::park_tenant),
        )
        .route(
            &format!("{tenant}/lifecycle/unpark"),
            post(tenants::unpark_tenant),
        )
        .route(
            &format!("{tenant}/lifecycle/suspend"),
            post(tenants::suspend_tenant),
        )
        .route(
            &format!("{tenant}/lifecycle/resume"),
            post(tenants::resume_tenant),
        )
        .route(&format!("{tenant}/park"), post(tenants::park_tenant))
        .route(&format!("{tenant}/unpark"), post(tenants::unpark_tenant))
        .route(&format!("{tenant}/audit"), get(tenants::list_audit))
        .merge(org.unwrap_or_default())
        .merge(instances.unwrap_or_default())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| logging::request_span(req)),
                )
                .layer(axum::middleware::from_fn(error::render_errors))
                .layer(axum::middleware::from_fn(logging::log_completion))
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
}
