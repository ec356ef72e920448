//! The OpenAPI document, generated from the handlers and DTOs (utoipa). The standard error
//! responses and the bearer security requirement are added to every operation in one place.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

/// `tenant-{uuid}` in lower case (OA1).
pub const TENANT_ID_PATTERN: &str =
    "^tenant-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/// `div-{uuid}`.
pub const DIVISION_ID_PATTERN: &str =
    "^div-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/// `grp-{uuid}`.
pub const GROUP_ID_PATTERN: &str =
    "^grp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/// `team-{uuid}`.
pub const TEAM_ID_PATTERN: &str =
    "^team-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/// `inv-{uuid}`.
pub const INVITATION_ID_PATTERN: &str =
    "^inv-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/// An invitation token: 43 base64url characters.
pub const TOKEN_PATTERN: &str = "^[A-Za-z0-9_-]{43}$";
/// A user id (the identity provider's `sub`) or, on `GET /v1.0/users/{userId}`, an e-mail.
pub const USER_ID_PATTERN: &str = "^[A-Za-z0-9._@+:-]{1,128}$";

use super::{
    dto, hierarchy, instance_backups, instance_identity, instance_lifecycle, instance_logs,
    instance_terraform, instance_update, instances, invitations, public, tenants, users,
};

/// The tenant API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "bbws Tenant Management API",
        version = "1.0.0",
        description = "Tenants of the BBWS multi-tenant WordPress platform, their organisation, users and invitations (LLD 2.5, LLD 2.1.6). \
            Roles on a tenant come from the stored user assignments. Errors use one envelope: \
            {\"error\":{\"code\",\"message\",\"details\"},\"requestId\",\"timestamp\"}."
    ),
    paths(
        tenants::create_tenant,
        tenants::list_tenants,
        tenants::get_tenant,
        tenants::update_tenant,
        tenants::delete_tenant,
        tenants::set_status,
        tenants::get_lifecycle,
        tenants::park_tenant,
        tenants::unpark_tenant,
        tenants::suspend_tenant,
        tenants::resume_tenant,
        tenants::list_audit,
        hierarchy::get_hierarchy,
        hierarchy::create_hierarchy,
        hierarchy::update_hierarchy,
        hierarchy::delete_hierarchy,
        hierarchy::list_divisions,
        hierarchy::create_division,
        hierarchy::get_division,
        hierarchy::update_division,
        hierarchy::delete_division,
        hierarchy::list_groups,
        hierarchy::create_group,
        hierarchy::get_group,
        hierarchy::update_group,
        hierarchy::delete_group,
        hierarchy::list_teams,
        hierarchy::create_team,
        hierarchy::get_team,
        hierarchy::update_team,
        hierarchy::delete_team,
        hierarchy::list_team_users,
        hierarchy::add_team_user,
        hierarchy::remove_team_user,
        users::list_users,
        users::assign_user,
        users::get_tenant_user,
        users::change_role,
        users::remove_user,
        users::user_tenants,
        users::get_user,
        invitations::list_invitations,
        invitations::create_invitation,
        invitations::get_invitation,
        invitations::cancel_invitation,
        invitations::revoke_invitation,
        invitations::resend_invitation,
        invitations::view_invitation,
        invitations::accept_invitation,
        invitations::decline_invitation,
        instances::list_instances,
        instances::provision_instance,
        instances::get_instance,
        instances::get_instance_status,
        instances::get_instance_health,
        instance_logs::get_instance_logs,
        instance_identity::get_identity,
        instance_identity::configure_identity,
        instances::deprovision_instance,
        instances::retry_instance,
        instances::get_operation,
        instance_terraform::get_terraform,
        instance_lifecycle::suspend_instance,
        instance_lifecycle::resume_instance,
        instance_lifecycle::park_instance,
        instance_lifecycle::unpark_instance,
        instance_lifecycle::scale_instance,
        instance_lifecycle::restart_instance,
        instance_backups::backup_instance,
        instance_backups::list_backups,
        instance_backups::restore_instance,
        instance_update::update_instance,
        public::health,
        public::openapi_json,
    ),
    components(schemas(dto::ErrorResponse, dto::ErrorBody, dto::Link)),
    modifiers(&Conventions),
    tags(
        (name = "tenants", description = "Tenant CRUD and audit trail"),
        (name = "lifecycle", description = "Status transitions: park, unpark, suspend, resume, PATCH status"),
        (name = "hierarchy", description = "Divisions, groups, teams, team members and the whole tree. Read: any member of the tenant; team members: Admin or Operator; changes: Admin"),
        (name = "users", description = "A tenant's users and roles (read: Admin or Operator; changes: Admin); a user's tenants and profile (the user or a platform admin)"),
        (name = "invitations", description = "Invitations: a tenant Admin's, and the invitee's by token (view and decline need no credentials; accept needs the invited e-mail's token)"),
        (name = "instances", description = "WordPress instances and their operations (LLD 2.7). Provision, retry: a platform admin or the tenant's Operator or Admin; deprovision: Admin; read: any member of the tenant. Long work answers 202 with the operation (Location: /v1.0/operations/{operationId})"),
        (name = "meta", description = "Health and this document"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// Security and error responses common to all operations.
struct Conventions;

const ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "VALIDATION_ERROR: the request is malformed or a field is invalid (details.fields); INVITATION_EXPIRED, INVITATION_ALREADY_USED, RESEND_LIMIT_EXCEEDED, INVALID_STATE",
    ),
    (
        "401",
        "UNAUTHORIZED: missing, invalid or expired bearer token",
    ),
    ("403", "FORBIDDEN: the caller's role does not allow this"),
    (
        "404",
        "TENANT_NOT_FOUND (also for tenants outside the caller's scope), NOT_FOUND, DIVISION_NOT_FOUND, GROUP_NOT_FOUND, TEAM_NOT_FOUND, ASSIGNMENT_NOT_FOUND, USER_NOT_FOUND, INVITATION_NOT_FOUND",
    ),
    ("405", "METHOD_NOT_ALLOWED"),
    (
        "409",
        "CONFLICT, VERSION_CONFLICT, IDEMPOTENCY_KEY_REUSED, HIERARCHY_EXISTS, USER_ALREADY_ASSIGNED, DUPLICATE_INVITATION, USER_ALREADY_MEMBER",
    ),
    ("413", "PAYLOAD_TOO_LARGE"),
    (
        "415",
        "UNSUPPORTED_MEDIA_TYPE: bodies must be application/json",
    ),
    (
        "422",
        "INVALID_STATUS_TRANSITION (details.currentStatus, allowedTransitions), TENANT_DEPROVISIONED, ACTIVE_RESOURCES_EXIST, TENANT_NOT_ACTIVE, HIERARCHY_NOT_EMPTY, HIERARCHY_LIMIT_EXCEEDED, LAST_ADMIN",
    ),
    ("500", "INTERNAL_ERROR"),
];

const ALIASES: &[(&str, &str)] = &[
    (
        "/v1.0/tenants/{tenantId}/park",
        "/v1.0/tenants/{tenantId}/lifecycle/park",
    ),
    (
        "/v1.0/tenants/{tenantId}/unpark",
        "/v1.0/tenants/{tenantId}/lifecycle/unpark",
    ),
];

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.security_schemes.insert(
            "bearerAuth".into(),
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for (code, description) in ERRORS {
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorResponse")))
                        .build(),
                )
                .build();
            components
                .responses
                .insert(format!("Error{code}"), RefOr::T(response));
        }
        // The older park/unpark paths (C1) serve the same handlers; document them as deprecated
        // copies of the canonical operations.
        for (alias, canonical) in ALIASES {
            if let Some(mut item) = doc.paths.paths.get(*canonical).cloned() {
                for op in operations(&mut item) {
                    op.operation_id = op.operation_id.take().map(|id| format!("{id}_alias"));
                    op.deprecated = Some(utoipa::openapi::Deprecated::True);
                    op.description = Some(format!("Deprecated alias of `POST {canonical}`."));
                }
                doc.paths.paths.insert((*alias).to_owned(), item);
            }
        }
        for (path, item) in &mut doc.paths.paths {
            let meta = path == "/v1.0/health" || path == "/v1.0/openapi.json";
            // Viewing and declining an invitation: the token in the path is the credential.
            let by_token =
                path == "/v1.0/invitations/{token}" || path == "/v1.0/invitations/{token}/decline";
            let public = meta || by_token;
            for op in operations(item) {
                for (code, _) in ERRORS {
                    if meta && *code != "500" {
                        continue;
                    }
                    if by_token && matches!(*code, "401" | "403") {
                        continue;
                    }
                    op.responses
                        .responses
                        .entry((*code).to_owned())
                        .or_insert_with(|| {
                            RefOr::Ref(Ref::new(format!("#/components/responses/Error{code}")))
                        });
                }
                for param in op.parameters.iter_mut().flatten() {
                    let pattern = match param.name.as_str() {
                        "tenantId" => TENANT_ID_PATTERN,
                        "divisionId" => DIVISION_ID_PATTERN,
                        "groupId" => GROUP_ID_PATTERN,
                        "teamId" => TEAM_ID_PATTERN,
                        "invitationId" => INVITATION_ID_PATTERN,
                        "token" => TOKEN_PATTERN,
                        "userId" => USER_ID_PATTERN,
                        "Idempotency-Key" => r"^[\x21-\x7e]{1,255}$",
                        "If-Match" => r#"^(\*|(W/)?"[0-9]{1,19}")$"#,
                        _ => continue,
                    };
                    param.schema = Some(RefOr::T(Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some(pattern))
                            .build(),
                    )));
                }
                if !public {
                    op.security = Some(vec![SecurityRequirement::new::<_, [&str; 0], &str>(
                        "bearerAuth",
                        [],
                    )]);
                }
            }
        }
    }
}
