//! The instance worker as a Lambda function consuming the instance queues (digest 2.7 §2.5):
//! each SQS record is one operation message, run by [`InstanceWorker`] within what is left of
//! the invocation's time less a safety margin, or a tenant event (`TENANT_PARKED`,
//! `TENANT_UNPARKED`, `TENANT_DEPROVISIONED`) that an EventBridge rule on the bus routes to the
//! lifecycle queue, which the worker follows by accepting the instance's operation. A record that fails (malformed, the operation
//! claimed by another runner, a store outage) is reported in `batchItemFailures`, so SQS
//! redelivers it after its visibility timeout and, after `maxReceiveCount`, moves it to the
//! dead-letter queue; the others are deleted. A record reached when no budget is left is
//! reported the same way, untouched.
//!
//! The event source mapping must enable `ReportBatchItemFailures`; a batch size of 1 gives each
//! operation the whole invocation.

use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use bbws_aws::Backend;
use bbws_core::events::OutboxRelay;
use bbws_core::instance::{InstanceWorker, Reaction, WorkOutcome};

use crate::apigw::publish_written;

/// The default time kept back from the invocation's deadline: to give up the lease, queue the
/// continuation and publish the outbox before Lambda stops the function.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(45);

/// A Lambda function running queued instance operations.
#[derive(Debug, Clone)]
pub struct WorkerFunction {
    worker: InstanceWorker,
    relay: OutboxRelay,
    margin: Duration,
}

impl WorkerFunction {
    /// The worker on `backend` (which must have the instance queues), named `runner` in the
    /// leases it takes.
    pub fn new(
        backend: &Backend,
        runner: &str,
        margin: Duration,
    ) -> Result<Self, bbws_core::Error> {
        Ok(Self::from_parts(
            backend.instance_worker(runner)?,
            backend.relay(),
            margin,
        ))
    }

    pub fn from_parts(worker: InstanceWorker, relay: OutboxRelay, margin: Duration) -> Self {
        Self {
            worker,
            relay,
            margin,
        }
    }

    /// Handles one SQS event that must be done by `deadline` (the Lambda context's deadline).
    pub async fn invoke(&self, event: SqsEvent, deadline: SystemTime) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            let id = record.message_id.unwrap_or_default();
            let budget = deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(self.margin);
            if budget.is_zero() {
                tracing::warn!(message_id = %id, "no time left for this message; it comes back later");
                response.add_failure(id);
                continue;
            }
            let Some(body) = record.body else {
                tracing::error!(message_id = %id, "an SQS record without a body");
                response.add_failure(id);
                continue;
            };
            match self.worker.handle(&body, budget).await {
                Ok(WorkOutcome::Finished(op)) => tracing::info!(
                    message_id = %id,
                    operation_id = %op.id,
                    status = %op.status,
                    "message done"
                ),
                Ok(WorkOutcome::Continued { operation_id }) => tracing::info!(
                    message_id = %id,
                    operation_id = %operation_id,
                    "message done; the operation continues from the queue"
                ),
                Ok(WorkOutcome::Followed(reaction)) => match *reaction {
                    Reaction::Requested { accepted, replayed } => tracing::info!(
                        message_id = %id,
                        operation_id = %accepted.operation.id,
                        operation = %accepted.operation.op_type,
                        replayed,
                        "tenant event followed; its operation is queued through the outbox"
                    ),
                    Reaction::Ignored(why) | Reaction::Deferred(why) => tracing::info!(
                        message_id = %id,
                        why = %why,
                        "tenant event needs no operation"
                    ),
                },
                Err(e) => {
                    tracing::warn!(
                        message_id = %id,
                        error_code = e.code().as_str(),
                        error = %e,
                        "message failed; it comes back after the visibility timeout"
                    );
                    response.add_failure(id);
                }
            }
            // What the run committed (INSTANCE_PROVISIONED, ...) goes out now.
            publish_written(&self.relay).await;
        }
        response
    }
}

/// When an invocation must be done, from the Lambda context's deadline (milliseconds since the
/// epoch).
pub fn deadline_from_millis(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}
