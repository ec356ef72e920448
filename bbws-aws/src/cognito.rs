//! [`CognitoDirectory`]: the identity directory of the organisation domain on a Cognito user pool.
//!
//! - A user is found by e-mail with `ListUsers` and the filter `email = "…"` (the e-mail as
//!   given, then in lower case, since attribute filters are exact); its id is the `sub`
//!   attribute, the id tokens carry as `sub` (C24).
//! - Role groups are named by the domain ([`TenantGroup::name`]: `{tenantId}-{role}s`), the
//!   shape `cognito:groups` is read back in. `AdminAddUserToGroup` creates a missing group
//!   (`CreateGroup`) and tries again; `AdminRemoveUserFromGroup` on a missing group or user is
//!   no error.
//! - The admin APIs take a user name. Cognito accepts the `sub` of a local user there; where it
//!   does not (a pool whose user names are not looked up by `sub`), the user name is found with
//!   `ListUsers` filtered by `sub` and the call is sent again.
//!
//! Assignments in DynamoDB decide authorization; these group changes are best-effort side
//! effects of the service (C24).

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::SdkError;
use aws_sdk_cognitoidentityprovider::operation::admin_add_user_to_group::AdminAddUserToGroupError;
use aws_sdk_cognitoidentityprovider::operation::admin_remove_user_from_group::AdminRemoveUserFromGroupError;
use aws_sdk_cognitoidentityprovider::operation::create_group::CreateGroupError;
use aws_sdk_cognitoidentityprovider::types::UserType;
use bbws_core::error::{Error, Result};
use bbws_core::org::{DirectoryUser, IdentityDirectory, TenantGroup, UserId};
use bbws_core::tenant::Email;

/// A Cognito user pool id (`{region}_{id}`, e.g. `af-south-1_AbC123xyz`), parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolId(String);

impl UserPoolId {
    /// Accepts what Cognito does: `[\w-]+_[0-9a-zA-Z]+`, at most 55 characters.
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let ok = s.len() <= 55
            && s.split_once('_').is_some_and(|(region, id)| {
                !region.is_empty()
                    && !id.is_empty()
                    && region
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    && id.chars().all(|c| c.is_ascii_alphanumeric())
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::field(
                "COGNITO_USER_POOL_ID",
                format!("Invalid Cognito user pool id '{s}': expected {{region}}_{{id}}"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserPoolId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity directory on a Cognito user pool.
#[derive(Debug, Clone)]
pub struct CognitoDirectory {
    client: Client,
    pool: UserPoolId,
}

fn failed<E, R>(op: &str, e: &SdkError<E, R>) -> Error
where
    E: aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Error::Internal(crate::sdk::describe("Cognito", op, e))
}

/// A `ListUsers` filter value: quotes and backslashes escaped.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn attribute<'a>(user: &'a UserType, name: &str) -> Option<&'a str> {
    user.attributes()
        .iter()
        .find(|a| a.name() == name)
        .and_then(|a| a.value())
}

impl CognitoDirectory {
    pub fn new(client: Client, pool: UserPoolId) -> Self {
        Self { client, pool }
    }

    pub fn user_pool_id(&self) -> &UserPoolId {
        &self.pool
    }

    /// The users matching a `ListUsers` filter (one page: a filter on a unique attribute).
    async fn list(&self, attr: &str, value: &str) -> Result<Vec<UserType>> {
        let out = self
            .client
            .list_users()
            .user_pool_id(self.pool.as_str())
            .filter(format!("{attr} = {}", quoted(value)))
            .limit(2)
            .send()
            .await
            .map_err(|e| failed("ListUsers", &e))?;
        Ok(out.users.unwrap_or_default())
    }

    /// The Cognito user name of the user whose `sub` is `user`, if any.
    async fn username_of(&self, user: &UserId) -> Result<Option<String>> {
        Ok(self
            .list("sub", user.as_str())
            .await?
            .into_iter()
            .find_map(|u| u.username))
    }

    async fn add(&self, username: &str, group: &str) -> Result<(), AddOutcome> {
        match self
            .client
            .admin_add_user_to_group()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .group_name(group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.as_service_error() {
                Some(AdminAddUserToGroupError::ResourceNotFoundException(_)) => AddOutcome::NoGroup,
                Some(AdminAddUserToGroupError::UserNotFoundException(_)) => AddOutcome::NoUser,
                _ => AddOutcome::Failed(failed("AdminAddUserToGroup", &e)),
            }),
        }
    }

    async fn create_group(&self, group: &str) -> Result<()> {
        match self
            .client
            .create_group()
            .user_pool_id(self.pool.as_str())
            .group_name(group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                // Created meanwhile by a concurrent request.
                Some(CreateGroupError::GroupExistsException(_)) => Ok(()),
                _ => Err(failed("CreateGroup", &e)),
            },
        }
    }

    async fn remove(&self, username: &str, group: &str) -> Result<bool> {
        match self
            .client
            .admin_remove_user_from_group()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .group_name(group)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                // No such group: the user is not in it.
                Some(AdminRemoveUserFromGroupError::ResourceNotFoundException(_)) => Ok(true),
                Some(AdminRemoveUserFromGroupError::UserNotFoundException(_)) => Ok(false),
                _ => Err(failed("AdminRemoveUserFromGroup", &e)),
            },
        }
    }
}

enum AddOutcome {
    NoGroup,
    NoUser,
    Failed(Error),
}

#[async_trait]
impl IdentityDirectory for CognitoDirectory {
    async fn find_by_email(&self, email: &Email) -> Result<Option<DirectoryUser>> {
        let mut found = self.list("email", email.as_str()).await?;
        let lower = email.normalized();
        if found.is_empty() && lower != email.as_str() {
            found = self.list("email", &lower).await?;
        }
        let Some(user) = found.into_iter().next() else {
            return Ok(None);
        };
        let corrupt = |what: &str| {
            Error::Internal(format!(
                "Cognito user {} has no valid {what}",
                user.username().unwrap_or("?")
            ))
        };
        let user_id = attribute(&user, "sub")
            .and_then(|s| UserId::parse(s).ok())
            .ok_or_else(|| corrupt("sub"))?;
        let stored = attribute(&user, "email")
            .and_then(|e| Email::parse(e).ok())
            .ok_or_else(|| corrupt("email"))?;
        Ok(Some(DirectoryUser {
            user_id,
            email: stored,
            enabled: user.enabled(),
        }))
    }

    async fn add_to_group(&self, user: &UserId, group: TenantGroup) -> Result<()> {
        let name = group.name();
        let mut username = user.as_str().to_owned();
        let mut resolved = false;
        let mut created = false;
        loop {
            match self.add(&username, &name).await {
                Ok(()) => return Ok(()),
                Err(AddOutcome::NoGroup) if !created => {
                    self.create_group(&name).await?;
                    created = true;
                }
                Err(AddOutcome::NoUser) if !resolved => {
                    resolved = true;
                    username = self.username_of(user).await?.ok_or_else(|| {
                        Error::business(
                            bbws_core::ErrorCode::UserNotFound,
                            format!("User {user} not found in identity provider"),
                        )
                    })?;
                }
                Err(AddOutcome::Failed(e)) => return Err(e),
                Err(AddOutcome::NoGroup) => {
                    return Err(Error::Internal(format!(
                        "Cognito group {name} is still missing after CreateGroup"
                    )));
                }
                Err(AddOutcome::NoUser) => {
                    return Err(Error::Internal(format!(
                        "Cognito user {username} vanished while being added to {name}"
                    )));
                }
            }
        }
    }

    async fn remove_from_group(&self, user: &UserId, group: TenantGroup) -> Result<()> {
        let name = group.name();
        if self.remove(user.as_str(), &name).await? {
            return Ok(());
        }
        match self.username_of(user).await? {
            // A user that does not exist is in no group.
            None => Ok(()),
            Some(username) => {
                self.remove(&username, &name).await?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_escape_quotes_and_backslashes() {
        assert_eq!(quoted("a@b.example"), r#""a@b.example""#);
        assert_eq!(quoted(r#"x"y\z"#), r#""x\"y\\z""#);
    }

    #[test]
    fn pool_ids_are_checked_once() {
        assert_eq!(
            UserPoolId::parse(" af-south-1_AbC123 ")
                .expect("valid")
                .as_str(),
            "af-south-1_AbC123"
        );
        for bad in [
            "",
            "nounderscore",
            "_abc",
            "eu-west-1_",
            "eu west_1",
            "a_b-c",
        ] {
            assert_eq!(
                UserPoolId::parse(bad).expect_err(bad).code(),
                bbws_core::ErrorCode::ValidationError,
                "{bad}"
            );
        }
    }
}
