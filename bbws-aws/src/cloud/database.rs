//! [`DatabaseProvisioner`] on the shared MySQL, with `mysql_async`.
//!
//! The administrator logs in with the master credentials of a Secrets Manager secret
//! (`{"username","password"}`); the endpoint is configured or found with `DescribeDBInstances`.
//! The tenant's own credentials are read from the tenant's secret (the ARN in the spec), never
//! taken from the request.
//!
//! DDL cannot bind identifiers as parameters, so every identifier and password that goes into a
//! statement is first parsed into a newtype whose alphabet cannot break out of its quoting
//! ([`DbName`], [`DbUser`], [`DbPassword`]); lookups use bound parameters.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bbws_core::instance::ports::{
    CloudError, CloudErrorKind, CloudResource, CloudResult, DatabaseProvisioner, DatabaseSpec,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::classify;
use super::settings::{DatabaseSettings, DbTls};

const SERVICE: &str = "mysql";

fn invalid(what: &str, why: &str) -> CloudError {
    CloudError::permanent(SERVICE, "validate", format!("invalid {what}: {why}"))
}

fn lower_word(s: &str, max: usize, what: &str) -> CloudResult<()> {
    if s.is_empty() || s.len() > max {
        return Err(invalid(what, &format!("must be 1 to {max} characters")));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(invalid(what, "only a-z, 0-9 and _ are allowed"));
    }
    Ok(())
}

/// A tenant database name: `[a-z0-9_]{1,64}` (MySQL's limit), so it is safe inside backticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbName(String);

impl DbName {
    pub fn parse(s: &str) -> CloudResult<Self> {
        lower_word(s, 64, "database name")?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `` `name` ``.
    pub fn quoted(&self) -> String {
        format!("`{}`", self.0)
    }
}

/// A tenant database user: `[a-z0-9_]{1,32}` (MySQL's limit), safe inside single quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUser(String);

impl DbUser {
    pub fn parse(s: &str) -> CloudResult<Self> {
        lower_word(s, 32, "database user")?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `'user'@'%'`.
    pub fn account(&self) -> String {
        format!("'{}'@'%'", self.0)
    }
}

/// A tenant database password: 16 to 128 ASCII letters and digits (the engine generates 64 hex
/// characters), so it is safe inside single quotes. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DbPassword(String);

impl DbPassword {
    pub fn parse(s: &str) -> CloudResult<Self> {
        if !(16..=128).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(
                "database password",
                "must be 16 to 128 ASCII letters and digits",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for DbPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DbPassword(***)")
    }
}

/// `{"username","password"}` of a credentials secret.
#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A MySQL failure: connection-level trouble and "too many connections" are transient.
pub(crate) fn mysql_error(action: &str, e: &mysql_async::Error) -> CloudError {
    let kind = match e {
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => CloudErrorKind::Transient,
        // ER_CON_COUNT_ERROR, ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK
        mysql_async::Error::Server(s) if matches!(s.code, 1040 | 1205 | 1213) => {
            CloudErrorKind::Transient
        }
        _ => CloudErrorKind::Permanent,
    };
    CloudError::new(kind, SERVICE, action, e.to_string())
}

/// The shared MySQL's administrator.
#[derive(Debug)]
pub struct MySqlDatabases {
    secrets: aws_sdk_secretsmanager::Client,
    rds: aws_sdk_rds::Client,
    settings: DatabaseSettings,
    /// `(host, port)`, resolved once.
    endpoint: OnceCell<(String, u16)>,
}

fn split_endpoint(e: &str) -> CloudResult<(String, u16)> {
    match e.rsplit_once(':') {
        Some((h, p)) => Ok((
            h.to_owned(),
            p.parse()
                .map_err(|_| invalid("RDS endpoint", "the port is not a number"))?,
        )),
        None => Ok((e.to_owned(), 3306)),
    }
}

impl MySqlDatabases {
    pub fn new(
        secrets: aws_sdk_secretsmanager::Client,
        rds: aws_sdk_rds::Client,
        settings: DatabaseSettings,
    ) -> Self {
        Self {
            secrets,
            rds,
            settings,
            endpoint: OnceCell::new(),
        }
    }

    /// The configured endpoint, else `DescribeDBInstances(instance_id)`'s.
    pub async fn endpoint(&self) -> CloudResult<(String, u16)> {
        self.endpoint
            .get_or_try_init(|| async {
                if let Some(e) = &self.settings.endpoint {
                    return split_endpoint(e);
                }
                let out = self
                    .rds
                    .describe_db_instances()
                    .db_instance_identifier(&self.settings.instance_id)
                    .send()
                    .await
                    .map_err(|e| classify("rds", "DescribeDBInstances", &e))?;
                let ep = out
                    .db_instances()
                    .first()
                    .and_then(|i| i.endpoint())
                    .and_then(|e| Some((e.address()?.to_owned(), e.port()?)))
                    .ok_or_else(|| {
                        CloudError::permanent(
                            "rds",
                            "DescribeDBInstances",
                            format!(
                                "DB instance {} has no endpoint (yet)",
                                self.settings.instance_id
                            ),
                        )
                    })?;
                Ok((ep.0, u16::try_from(ep.1).unwrap_or(3306)))
            })
            .await
            .cloned()
    }

    async fn credentials(&self, secret_id: &str) -> CloudResult<Credentials> {
        let raw = super::secrets::secret_string(&self.secrets, secret_id).await?;
        serde_json::from_str(&raw).map_err(|e| {
            CloudError::permanent(
                "secretsmanager",
                "GetSecretValue",
                format!("secret {secret_id} is not {{\"username\",\"password\"}} JSON: {e}"),
            )
        })
    }

    /// A connection as the administrator.
    pub(crate) async fn admin(&self) -> CloudResult<Conn> {
        let (host, port) = self.endpoint().await?;
        let master = self.credentials(&self.settings.master_secret_id).await?;
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port)
            .user(Some(master.username))
            .pass(Some(master.password))
            .prefer_socket(false);
        if let DbTls::Required { ca_bundle } = &self.settings.tls {
            let mut ssl = SslOpts::default();
            if let Some(path) = ca_bundle {
                ssl = ssl.with_root_certs(vec![path.clone().into()]);
            }
            opts = opts.ssl_opts(Some(ssl));
        }
        Conn::new(opts)
            .await
            .map_err(|e| mysql_error("connect", &e))
    }

    async fn exists(conn: &mut Conn, db: &DbName) -> CloudResult<bool> {
        let found: Option<String> = conn
            .exec_first(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                (db.as_str(),),
            )
            .await
            .map_err(|e| mysql_error("SHOW DATABASES", &e))?;
        Ok(found.is_some())
    }
}

async fn run(conn: &mut Conn, action: &str, sql: &str) -> CloudResult<()> {
    conn.query_drop(sql)
        .await
        .map_err(|e| mysql_error(action, &e))
}

#[async_trait]
impl DatabaseProvisioner for MySqlDatabases {
    async fn create_database(&self, spec: &DatabaseSpec) -> CloudResult<CloudResource> {
        let db = DbName::parse(&spec.database)?;
        let user = DbUser::parse(&spec.user)?;
        let tenant = self.credentials(&spec.secret_arn).await?;
        if tenant.username != user.as_str() {
            return Err(CloudError::permanent(
                SERVICE,
                "CREATE USER",
                format!(
                    "the secret's username '{}' is not the tenant user '{}'",
                    tenant.username,
                    user.as_str()
                ),
            ));
        }
        let password = DbPassword::parse(&tenant.password)?;
        let mut conn = self.admin().await?;
        let result = async {
            run(
                &mut conn,
                "CREATE DATABASE",
                &format!(
                    "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                    db.quoted()
                ),
            )
            .await?;
            let account = user.account();
            run(
                &mut conn,
                "CREATE USER",
                &format!("CREATE USER IF NOT EXISTS {account} IDENTIFIED BY '{}'", password.0),
            )
            .await?;
            // A retry re-syncs the password with the secret.
            run(
                &mut conn,
                "ALTER USER",
                &format!("ALTER USER {account} IDENTIFIED BY '{}'", password.0),
            )
            .await?;
            run(
                &mut conn,
                "GRANT",
                &format!("GRANT ALL PRIVILEGES ON {}.* TO {account}", db.quoted()),
            )
            .await
        }
        .await;
        let _ = conn.disconnect().await;
        result.map(|()| CloudResource::new(db.as_str()))
    }

    async fn find_database(&self, database: &str) -> CloudResult<Option<CloudResource>> {
        let db = DbName::parse(database)?;
        let mut conn = self.admin().await?;
        let found = Self::exists(&mut conn, &db).await;
        let _ = conn.disconnect().await;
        Ok(found?.then(|| CloudResource::new(db.as_str())))
    }

    async fn drop_database(&self, database: &str, user: &str) -> CloudResult<()> {
        let db = DbName::parse(database)?;
        let user = DbUser::parse(user)?;
        let mut conn = self.admin().await?;
        let result = async {
            run(
                &mut conn,
                "DROP DATABASE",
                &format!("DROP DATABASE IF EXISTS {}", db.quoted()),
            )
            .await?;
            run(
                &mut conn,
                "DROP USER",
                &format!("DROP USER IF EXISTS {}", user.account()),
            )
            .await
        }
        .await;
        let _ = conn.disconnect().await;
        result
    }

    async fn list_databases(&self) -> CloudResult<Vec<String>> {
        let mut conn = self.admin().await?;
        let found: Result<Vec<String>, _> = conn.query(r"SHOW DATABASES LIKE 'tenant\_%'").await;
        let _ = conn.disconnect().await;
        let mut names = found.map_err(|e| mysql_error("SHOW DATABASES", &e))?;
        names.sort();
        Ok(names)
    }
}

/// The shared endpoint, for the task definition's `WORDPRESS_DB_HOST` when it is not configured.
#[async_trait]
pub trait DbEndpoint: Send + Sync + fmt::Debug {
    async fn host(&self) -> CloudResult<String>;
}

#[async_trait]
impl DbEndpoint for MySqlDatabases {
    async fn host(&self) -> CloudResult<String> {
        Ok(self.endpoint().await?.0)
    }
}

#[async_trait]
impl<T: DbEndpoint> DbEndpoint for Arc<T> {
    async fn host(&self) -> CloudResult<String> {
        self.as_ref().host().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_cannot_leave_their_quotes() {
        for bad in [
            "",
            "a`b",
            "a'b",
            "Tenant",
            "a b",
            "db;drop",
            &"x".repeat(65),
        ] {
            assert!(DbName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            DbName::parse("tenant_ab12_db").expect("ok").quoted(),
            "`tenant_ab12_db`"
        );
        assert!(DbUser::parse(&"u".repeat(33)).is_err());
        assert_eq!(
            DbUser::parse("t_ab12_user").expect("ok").account(),
            "'t_ab12_user'@'%'"
        );
        for bad in ["short", "has'quote0123456789", "with space 0123456789"] {
            assert!(DbPassword::parse(bad).is_err(), "{bad:?}");
        }
        let p = DbPassword::parse(&"a1".repeat(32)).expect("ok");
        assert_eq!(format!("{p:?}"), "DbPassword(***)");
    }

    #[test]
    fn endpoints_split_host_and_port() {
        assert_eq!(split_endpoint("db:3307").expect("ok"), ("db".into(), 3307));
        assert_eq!(split_endpoint("db").expect("ok"), ("db".into(), 3306));
        assert!(split_endpoint("db:x").is_err());
    }
}
