//! [`Archive`] in S3 (digest §5.2 #7, #9).
//!
//! - The database: a logical dump made here, in Rust, over the administrator's connection
//!   (`SHOW CREATE TABLE` and `SELECT *` per table, values rendered as SQL literals by
//!   `mysql_common`), gzip-compressed and put at the key, tagged with the tenant tags and
//!   `bbws:deleted-at`. Replaying the file (`gunzip | mysql db`) restores the tables and rows.
//! - The files: the access point's directory is not reachable from the control plane, so a
//!   one-off task (`tar | aws s3 cp`) writes the object; the adapter then checks it exists and
//!   tags it.
//!
//! Both are idempotent per key: an object already at the key is the archive (a file archive is
//! tagged again, as the task's upload may be all an earlier attempt left).

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use bbws_core::instance::ports::{
    Archive, ArchiveSpec, CloudError, CloudResource, CloudResult, Tags,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::database::{DbName, MySqlDatabases, mysql_error};
use super::tasks::{OneOffTask, S3Location, TaskRunner, TenantDir};
use super::{classify, code_of};

const SERVICE: &str = "s3";

/// The S3 archive adapter.
#[derive(Debug, Clone)]
pub struct S3Archive {
    s3: aws_sdk_s3::Client,
    mysql: Arc<MySqlDatabases>,
    runner: Arc<dyn TaskRunner>,
}

/// `k=v&k=v` with percent-encoding (the `x-amz-tagging` header).
fn tagging(tags: &Tags) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    tags.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `` `name` `` with backticks doubled (names read from the server).
fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn dump_error(action: &str, e: &mysql_async::Error) -> CloudError {
    mysql_error(action, e)
}

/// The dump of one database as SQL text.
pub async fn dump_database(conn: &mut Conn, db: &DbName) -> CloudResult<String> {
    let mut out = String::new();
    let _ = write!(
        out,
        "-- bbws archive of database {}\nSET NAMES utf8mb4;\nSET FOREIGN_KEY_CHECKS=0;\n",
        db.as_str()
    );
    let tables: Vec<(String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
            (db.as_str(),),
        )
        .await
        .map_err(|e| dump_error("SHOW TABLES", &e))?;
    for (table, kind) in tables {
        let qualified = format!("{}.{}", db.quoted(), ident(&table));
        let create: Option<Row> = conn
            .query_first(format!(
                "SHOW CREATE {} {qualified}",
                if kind == "VIEW" { "VIEW" } else { "TABLE" }
            ))
            .await
            .map_err(|e| dump_error("SHOW CREATE TABLE", &e))?;
        let ddl = create
            .and_then(|r| r.get_opt::<String, usize>(1).and_then(Result::ok))
            .unwrap_or_default();
        let _ = write!(
            out,
            "\nDROP {} IF EXISTS {};\n{ddl};\n",
            if kind == "VIEW" { "VIEW" } else { "TABLE" },
            ident(&table)
        );
        if kind == "VIEW" {
            continue;
        }
        let rows: Vec<Row> = conn
            .query(format!("SELECT * FROM {qualified}"))
            .await
            .map_err(|e| dump_error("SELECT", &e))?;
        for row in rows {
            let values: Vec<String> = (0..row.len())
                .map(|i| row.as_ref(i).unwrap_or(&Value::NULL).as_sql(false))
                .collect();
            let _ = writeln!(
                out,
                "INSERT INTO {} VALUES ({});",
                ident(&table),
                values.join(",")
            );
        }
    }
    out.push_str("SET FOREIGN_KEY_CHECKS=1;\n");
    Ok(out)
}

impl S3Archive {
    pub fn new(
        s3: aws_sdk_s3::Client,
        mysql: Arc<MySqlDatabases>,
        runner: Arc<dyn TaskRunner>,
    ) -> Self {
        Self { s3, mysql, runner }
    }

    async fn head(&self, to: &S3Location) -> CloudResult<bool> {
        match self
            .s3
            .head_object()
            .bucket(&to.bucket)
            .key(&to.key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found,
                ) || matches!(code_of(&e), Some("NotFound" | "NoSuchKey")) =>
            {
                Ok(false)
            }
            Err(e) => Err(classify(SERVICE, "HeadObject", &e)),
        }
    }

    fn tags_with_date(spec: &ArchiveSpec) -> Tags {
        let mut tags = spec.tags.clone();
        let today = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        tags.insert("bbws:deleted-at-day".to_owned(), today.to_string());
        tags.insert(
            "bbws:retention-days".to_owned(),
            spec.retention_days.to_string(),
        );
        tags
    }
}

#[async_trait]
impl Archive for S3Archive {
    async fn archive_database(
        &self,
        database: &str,
        spec: &ArchiveSpec,
    ) -> CloudResult<CloudResource> {
        let db = DbName::parse(database)?;
        let to = S3Location::parse(&spec.bucket, &spec.key)?;
        if self.head(&to).await? {
            return Ok(CloudResource::new(to.uri()));
        }
        let mut conn = self.mysql.admin().await?;
        let dump = dump_database(&mut conn, &db).await;
        let _ = conn.disconnect().await;
        let dump = dump?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(dump.as_bytes())
            .and_then(|()| gz.try_finish())
            .map_err(|e| CloudError::permanent(SERVICE, "gzip", e.to_string()))?;
        let body = gz
            .finish()
            .map_err(|e| CloudError::permanent(SERVICE, "gzip", e.to_string()))?;
        self.s3
            .put_object()
            .bucket(&to.bucket)
            .key(&to.key)
            .content_type("application/sql")
            .content_encoding("gzip")
            .tagging(tagging(&Self::tags_with_date(spec)))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "PutObject", &e))?;
        Ok(CloudResource::new(to.uri()))
    }

    async fn archive_files(
        &self,
        _access_point_id: &str,
        root_directory: &str,
        spec: &ArchiveSpec,
    ) -> CloudResult<CloudResource> {
        let dir = TenantDir::parse(root_directory)?;
        let to = S3Location::parse(&spec.bucket, &spec.key)?;
        // An object already at the key is the archive, but it may be untagged: the task's upload
        // carries no tags, and an earlier attempt may have stopped before tagging it. So the
        // tags are (re)written on every path.
        if !self.head(&to).await? {
            self.runner
                .run(&OneOffTask::ArchiveFiles {
                    dir,
                    to: to.clone(),
                })
                .await?;
            if !self.head(&to).await? {
                return Err(CloudError::permanent(
                    SERVICE,
                    "HeadObject",
                    format!("the archive task finished but {} does not exist", to.uri()),
                ));
            }
        }
        let tag_set = Self::tags_with_date(spec)
            .into_iter()
            .map(|(k, v)| {
                aws_sdk_s3::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| CloudError::permanent(SERVICE, "PutObjectTagging", e.to_string()))
            })
            .collect::<CloudResult<Vec<_>>>()?;
        self.s3
            .put_object_tagging()
            .bucket(&to.bucket)
            .key(&to.key)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .set_tag_set(Some(tag_set))
                    .build()
                    .map_err(|e| {
                        CloudError::permanent(SERVICE, "PutObjectTagging", e.to_string())
                    })?,
            )
            .send()
            .await
            .map_err(|e| classify(SERVICE, "PutObjectTagging", &e))?;
        Ok(CloudResource::new(to.uri()))
    }

    async fn find_archive(&self, bucket: &str, key: &str) -> CloudResult<Option<CloudResource>> {
        let to = S3Location::parse(bucket, key)?;
        Ok(self.head(&to).await?.then(|| CloudResource::new(to.uri())))
    }

    async fn restore_database(&self, database: &str, bucket: &str, key: &str) -> CloudResult<()> {
        let db = DbName::parse(database)?;
        let from = S3Location::parse(bucket, key)?;
        let object = self
            .s3
            .get_object()
            .bucket(&from.bucket)
            .key(&from.key)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "GetObject", &e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| CloudError::transient(SERVICE, "GetObject", e.to_string()))?
            .into_bytes();
        let dump = read_dump(&bytes, &from)?;
        let mut conn = self.mysql.admin().await?;
        let res = replay_dump(&mut conn, &db, &dump).await;
        let _ = conn.disconnect().await;
        res
    }

    async fn restore_files(
        &self,
        _access_point_id: &str,
        root_directory: &str,
        bucket: &str,
        key: &str,
    ) -> CloudResult<()> {
        let dir = TenantDir::parse(root_directory)?;
        let from = S3Location::parse(bucket, key)?;
        if !self.head(&from).await? {
            return Err(CloudError::permanent(
                SERVICE,
                "HeadObject",
                format!("the archive {} does not exist", from.uri()),
            ));
        }
        self.runner
            .run(&OneOffTask::RestoreFiles { dir, from })
            .await
    }
}

/// The first line of every dump [`dump_database`] writes.
const DUMP_HEADER: &str = "-- bbws archive of database ";

/// A dump object, un-gzipped and checked to be one of ours, before anything is dropped.
fn read_dump(bytes: &[u8], from: &S3Location) -> CloudResult<String> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(bytes), &mut text).map_err(
        |e| {
            CloudError::permanent(
                SERVICE,
                "GetObject",
                format!("{} is not a readable gzip dump: {e}", from.uri()),
            )
        },
    )?;
    if !text.starts_with(DUMP_HEADER) {
        return Err(CloudError::permanent(
            SERVICE,
            "GetObject",
            format!("{} is not a database dump written by bbws", from.uri()),
        ));
    }
    Ok(text)
}

/// Statements of a dump: each ends with `;` at the end of a line (values are rendered with
/// their line breaks escaped, so an `INSERT` is one line), grouped into batches of about
/// 1 MiB sent as multi-statement queries.
fn dump_batches(dump: &str) -> Vec<String> {
    const BATCH: usize = 1 << 20;
    let mut batches = Vec::new();
    let mut current = String::new();
    let mut statement = String::new();
    for line in dump.lines() {
        if statement.is_empty() && (line.starts_with("--") || line.trim().is_empty()) {
            continue;
        }
        statement.push_str(line);
        statement.push('\n');
        if line.ends_with(';') {
            if !current.is_empty() && current.len() + statement.len() > BATCH {
                batches.push(std::mem::take(&mut current));
            }
            current.push_str(&statement);
            statement.clear();
        }
    }
    current.push_str(&statement);
    if !current.trim().is_empty() {
        batches.push(current);
    }
    batches
}

/// Drops every table and view of `db`, then replays the dump into it.
async fn replay_dump(conn: &mut Conn, db: &DbName, dump: &str) -> CloudResult<()> {
    conn.query_drop(format!("USE {}", db.quoted()))
        .await
        .map_err(|e| dump_error("USE", &e))?;
    let existing: Vec<(String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (db.as_str(),),
        )
        .await
        .map_err(|e| dump_error("SHOW TABLES", &e))?;
    let mut drop = String::from("SET FOREIGN_KEY_CHECKS=0;\n");
    for (table, kind) in existing {
        let _ = writeln!(
            drop,
            "DROP {} IF EXISTS {};",
            if kind == "VIEW" { "VIEW" } else { "TABLE" },
            ident(&table)
        );
    }
    conn.query_drop(drop)
        .await
        .map_err(|e| dump_error("DROP TABLE", &e))?;
    // One commit per batch, not one per row: with autocommit every INSERT is its own
    // transaction and its own log flush.
    conn.query_drop("SET autocommit=0")
        .await
        .map_err(|e| dump_error("restore", &e))?;
    for batch in dump_batches(dump) {
        conn.query_drop(batch)
            .await
            .map_err(|e| dump_error("restore", &e))?;
        conn.query_drop("COMMIT")
            .await
            .map_err(|e| dump_error("restore", &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_url_encoded_for_the_tagging_header() {
        let mut t = Tags::new();
        t.insert("bbws:tenant-id".into(), "tenant-1".into());
        t.insert("a b".into(), "x&y".into());
        assert_eq!(tagging(&t), "a%20b=x%26y&bbws%3Atenant-id=tenant-1");
        assert_eq!(ident("we`ird"), "`we``ird`");
    }
}
