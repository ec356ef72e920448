//! `bbws-instance-audit`: the daily orphan and drift audit (digest 2.7 §5.3), as the AWS Lambda
//! target of an EventBridge schedule rule (`bbws-instance-audit-{env}`, e.g.
//! `cron(0 3 * * ? *)`).
//!
//! Each scheduled event runs one audit of the environment through
//! [`bbws_lambda::instance_audit::AuditFunction`]: the tenants, instances and ledgers in the
//! store against every object tagged `bbws:environment = {ENVIRONMENT}` with a
//! `bbws:tenant-id` (`tag:GetResources`) and the tenant databases on the shared MySQL. The report
//! is logged as JSON (`warn` with findings) and returned.
//!
//! Environment: the backend's ([`lambda_backend_config`]: DynamoDB with `DYNAMODB_TABLE`, and
//! the instance-cloud variables, among them `RDS_ENDPOINT` or `RDS_INSTANCE_ID` and
//! `RDS_MASTER_SECRET_ID` for MySQL), `ENVIRONMENT` (the environment audited), `LOG_LEVEL`
//! (default `info`). Without a live cloud (a local backend, or no instance-cloud variables) the
//! function refuses to start: `CLOUD_UNAVAILABLE`. IAM: `tag:GetResources`, read access to the
//! table, `secretsmanager:GetSecretValue` on the master secret, and network access to the MySQL
//! endpoint.

use bbws_aws::Backend;
use bbws_lambda::apigw::lambda_backend_config;
use bbws_lambda::instance_audit::AuditFunction;
use lambda_http::lambda_runtime::{self, Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws_lambda::init_lambda_logging();
    let config = lambda_backend_config(|name| std::env::var(name).ok())?;
    let backend = Backend::open(&config).await?;
    let function = AuditFunction::new(&backend).inspect_err(|e| {
        tracing::error!(error_code = e.code().as_str(), error = %e, "bbws-instance-audit cannot start");
    })?;
    tracing::info!(
        backend = config.kind.as_str(),
        environment = config.environment.as_str(),
        "bbws-instance-audit initialised"
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let function = &function;
        async move {
            function
                .invoke(&event.payload)
                .await
                .map_err(|e| Diagnostic {
                    error_type: e.code().lambda_error_type().to_owned(),
                    error_message: e.to_string(),
                })
        }
    }))
    .await
}
