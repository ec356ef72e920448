//! bbws-aws integration tests: the DAO contract on every backend (in memory, embedded file,
//! DynamoDB on a local moto server), and what only DynamoDB and EventBridge have (request
//! counts, leases between relays, the key design, table creation, publishing).
//!
//! moto comes from the project's virtualenv (`scripts/python-env`); one server per test binary.
//! The instance tests ([`instances`]) also start a private MariaDB ([`mariadb`]) from Debian's
//! `mariadb-server` (installed by `scripts/test` when missing).

mod contract;
mod dynamo;
mod eventbridge;
mod instances;
mod mariadb;
mod moto;
mod support;
