//! End-to-end tests of the `bbws` binary: `serve` over real HTTP, crash safety under `kill -9`,
//! `token issue`, the tenant commands with their exit codes, and all of it on DynamoDB (moto);
//! `bbws instance audit` on moto and a private MariaDB.

mod audit;
mod cli;
mod dynamodb;
mod instance;
mod instance_identity_logs;
mod instance_update;
#[path = "../../../bbws-aws/tests/it/mariadb.rs"]
mod mariadb;
#[path = "../../../bbws-aws/tests/it/moto.rs"]
mod moto;
mod org;
mod serve;
mod support;
mod walk;
