//! End-to-end tests of the `bbws` binary: `serve` over real HTTP, crash safety under `kill -9`,
//! `token issue`, the tenant commands with their exit codes, and all of it on DynamoDB (moto).

mod cli;
mod dynamodb;
mod instance;
#[path = "../../../bbws-aws/tests/it/moto.rs"]
mod moto;
mod org;
mod serve;
mod support;
mod walk;
