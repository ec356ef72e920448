//! bbws-aws integration tests: the tenant and organisation DAO contracts on every backend (in
//! memory, embedded file, DynamoDB on a local moto server), what only DynamoDB and EventBridge
//! have (request counts, leases between relays, the key design, table creation, publishing),
//! and the organisation domain on Cognito and SES.
//!
//! moto comes from the project's virtualenv (`scripts/python-env`); one server per test binary.
//! The instance tests ([`instances`]) also start a private MariaDB ([`mariadb`]) from Debian's
//! `mariadb-server` (installed by `scripts/test` when missing). [`cloud_adapters`] checks each
//! instance-cloud adapter on its own: find-or-create, resume lookups, repeated deletes, tags.
//! [`audit`] runs the orphan and drift audit over an instance provisioned on moto and MariaDB.
//! [`instance_update`] rolls an instance provisioned there onto new task definition revisions.

mod audit;
mod backup;
mod cloud_adapters;
mod contract;
mod dynamo;
mod eventbridge;
mod identity;
mod instance_update;
mod instances;
mod logs;
mod mariadb;
mod moto;
mod org_aws;
mod org_contract;
mod support;
mod tenant_events;
