//! `bbws instance audit` on a live cloud: the binary on a DynamoDB table in moto, with the
//! instance-cloud variables set and MySQL on a private MariaDB. Clean, it exits 0 (and prints
//! nothing with `--quiet`); with an object tagged for a tenant the store does not know and a
//! database nobody claims, it exits 1 and shows both, as tables and as JSON.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::dynamodb::{AWS_ENV, create_table, table_name};
use crate::support::{BIN, stdout};

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_owned();
    std::env::var_os("BBWS_VENV")
        .map_or_else(|| root.join(".venv"), PathBuf::from)
        .join("bin/python")
}

/// Runs boto3 against moto: `script` sees `sm`, a Secrets Manager client; prints what it prints.
fn boto3(endpoint: &str, script: &str) -> String {
    let prelude = format!(
        "import boto3, json\nsm = boto3.client('secretsmanager', endpoint_url='{endpoint}', \
         region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n"
    );
    let out = Command::new(python())
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn mariadb(endpoint: &str, sql: &str) {
    let (host, port) = endpoint.split_once(':').expect("host:port");
    let out = Command::new("mariadb")
        .args([
            "--protocol=TCP",
            "-h",
            host,
            "-P",
            port,
            "-u",
            "root",
            "-e",
            sql,
        ])
        .output()
        .expect("the mariadb client runs");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Live {
    table: String,
    endpoint: String,
    env: Vec<(&'static str, String)>,
}

impl Live {
    fn audit(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(["instance", "audit", "--backend", "dynamodb", "--table"])
            .arg(&self.table)
            .args(["--endpoint-url", &self.endpoint])
            .args(args)
            .envs(AWS_ENV)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .env_remove("DYNAMODB_TABLE")
            .env_remove("BBWS_BACKEND")
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .expect("run bbws")
    }
}

#[test]
fn audit_exits_0_when_clean_and_1_with_findings() {
    let endpoint = crate::moto::endpoint();
    let db = crate::mariadb::endpoint();
    let table = table_name();
    create_table(&table, endpoint);
    let master = boto3(
        endpoint,
        "print(sm.create_secret(Name='audit-rds-master', \
         SecretString=json.dumps({'username': 'root', 'password': ''}))['ARN'])",
    );
    let live = Live {
        table,
        endpoint: endpoint.to_owned(),
        env: vec![
            ("ENVIRONMENT", "sit".to_owned()),
            ("VPC_ID", "vpc-audit".to_owned()),
            ("PRIVATE_SUBNET_IDS", "subnet-a,subnet-b".to_owned()),
            ("ECS_TASK_SG_ID", "sg-audit".to_owned()),
            ("EFS_FILE_SYSTEM_ID", "fs-audit".to_owned()),
            (
                "ALB_LISTENER_ARN",
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2".to_owned(),
            ),
            (
                "ECS_EXECUTION_ROLE_ARN",
                "arn:aws:iam::123456789012:role/exec".to_owned(),
            ),
            (
                "ECS_TASK_ROLE_ARN",
                "arn:aws:iam::123456789012:role/task".to_owned(),
            ),
            ("WORDPRESS_IMAGE_REPO", "wordpress".to_owned()),
            ("EFS_ADMIN_TASK_DEF", "efs-admin".to_owned()),
            ("RDS_ENDPOINT", db.clone()),
            ("RDS_MASTER_SECRET_ID", master),
            ("RDS_TLS", "disabled".to_owned()),
        ],
    };

    let quiet = live.audit(&["--quiet"]);
    let err = String::from_utf8_lossy(&quiet.stderr).into_owned();
    assert_eq!(quiet.status.code(), Some(0), "{err}");
    assert!(stdout(&quiet).is_empty(), "{}", stdout(&quiet));
    let clean = live.audit(&[]);
    assert_eq!(clean.status.code(), Some(0));
    let text = stdout(&clean);
    assert!(text.starts_with("audit of sit at "), "{text}");
    assert!(
        text.contains("clean: no orphans, untracked databases or drift"),
        "{text}"
    );

    // A secret tagged for a tenant the store does not have, and a database nobody claims.
    let planted = boto3(
        endpoint,
        "print(sm.create_secret(Name='bbws/sit/tenant-stray/db', SecretString='{}', Tags=[\
         {'Key': 'bbws:tenant-id', 'Value': 'tenant-7d4e2f0a-1b3c-4d5e-8f60-7a8b9c0d1e2f'}, \
         {'Key': 'bbws:environment', 'Value': 'sit'}])['ARN'])",
    );
    mariadb(&db, "CREATE DATABASE tenant_0a1b2c3d4e5f_db");

    let found = live.audit(&[]);
    let err = String::from_utf8_lossy(&found.stderr).into_owned();
    assert_eq!(found.status.code(), Some(1), "{err}");
    let text = stdout(&found);
    assert!(
        text.contains("2 findings: 1 orphans, 1 untracked databases, 0 drift"),
        "{text}"
    );
    assert!(text.contains("Orphans (1)"), "{text}");
    assert!(text.contains(&planted), "{text}");
    assert!(text.contains("UNKNOWN_TENANT"), "{text}");
    assert!(text.contains("Untracked databases (1)"), "{text}");
    assert!(text.contains("tenant_0a1b2c3d4e5f_db"), "{text}");

    let json = live.audit(&["-o", "json", "--quiet"]);
    assert_eq!(json.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&json)).expect("the report as JSON");
    assert_eq!(report["findings"], 2, "{report}");
    assert_eq!(report["clean"], false);
    assert_eq!(report["environment"], "sit");
    assert_eq!(report["orphans"][0]["arn"], planted.as_str());
    assert_eq!(report["orphans"][0]["reason"], "UNKNOWN_TENANT");
    assert_eq!(
        report["untrackedDatabases"][0]["name"],
        "tenant_0a1b2c3d4e5f_db"
    );
}
