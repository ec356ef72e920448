//! `bbws-instance-worker`: runs accepted instance operations (provisioning, deprovisioning) from
//! the instance queues (digest 2.7 §2.5: `bbws-instance-provision-{env}`,
//! `bbws-instance-deprovision-{env}`), as an AWS Lambda function with SQS event source mappings
//! (`ReportBatchItemFailures` enabled; batch size 1 recommended; the queues' visibility timeout at
//! least the function's timeout, 900 s in LLD §11.1).
//!
//! Each message names one operation; the worker runs it with the provisioning engine until it
//! ends or the invocation's time (less `WORKER_MARGIN_SECONDS`, default 45) runs out, in which
//! case it gives up its claim on the operation and queues the message again, so the next
//! invocation continues from the resource ledger. Failed messages are returned as batch item
//! failures. `TENANT_PARKED`, `TENANT_UNPARKED` and `TENANT_DEPROVISIONED` events that an
//! EventBridge rule on the bus sends to the lifecycle queue are followed: the instance's park,
//! unpark or deprovisioning is accepted and queued like any other. See [`bbws_lambda::worker`].
//!
//! Environment: the backend's ([`lambda_backend_config`]; a DynamoDB backend with the instance
//! cloud variables of `bbws_aws::cloud::CloudSettings` and `PROVISION_QUEUE_URL` /
//! `DEPROVISION_QUEUE_URL`, optionally `LIFECYCLE_QUEUE_URL`), `WORKER_MARGIN_SECONDS`, `LOG_LEVEL` (default `info`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use bbws_aws::Backend;
use bbws_lambda::apigw::lambda_backend_config;
use bbws_lambda::worker::{DEFAULT_MARGIN, WorkerFunction, deadline_from_millis};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use std::convert::Infallible;
use std::time::Duration;

fn margin() -> Result<Duration, lambda_runtime::Error> {
    match std::env::var("WORKER_MARGIN_SECONDS") {
        Ok(v) if !v.trim().is_empty() => {
            v.trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| {
                    format!("WORKER_MARGIN_SECONDS must be a whole number of seconds, not {v}")
                        .into()
                })
        }
        _ => Ok(DEFAULT_MARGIN),
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws_lambda::init_lambda_logging();
    let config = lambda_backend_config(|name| std::env::var(name).ok())?;
    let backend = Backend::open(&config).await?;
    // One runner name per execution environment: its log stream, where Lambda gives one.
    let runner = std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").map_or_else(
        |_| format!("bbws-instance-worker/{}", std::process::id()),
        |stream| format!("bbws-instance-worker/{stream}"),
    );
    let function = WorkerFunction::new(&backend, &runner, margin()?)?;
    tracing::info!(
        backend = config.kind.as_str(),
        table = %config.table,
        runner = %runner,
        cloud = %backend.cloud.describe(),
        "bbws-instance-worker initialised"
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let function = &function;
        async move {
            let deadline = deadline_from_millis(event.context.deadline);
            Ok::<SqsBatchResponse, Infallible>(function.invoke(event.payload, deadline).await)
        }
    }))
    .await
}
