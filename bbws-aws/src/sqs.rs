//! The instance queues on SQS (digest 2.7 §2.5, LLD §11.1): `bbws-instance-provision-{env}` for
//! `START_CLUSTER_CREATION`, `bbws-instance-deprovision-{env}` for `START_CLUSTER_DELETION` and
//! `bbws-instance-lifecycle-{env}` for the lifecycle changes, their URLs from
//! `PROVISION_QUEUE_URL`, `DEPROVISION_QUEUE_URL` and `LIFECYCLE_QUEUE_URL` (optional: the
//! provision queue when unset). One `SendMessage` per
//! message, the body the message's JSON, with the operation id as a message attribute for
//! anyone reading the queue by hand.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use bbws_core::error::{Error, Result};
use bbws_core::instance::{OperationMessage, OperationQueue, Queue, QueueKind};

/// The two queue URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    pub provision: String,
    pub deprovision: String,
    /// `LIFECYCLE_QUEUE_URL` (suspend, resume, park, unpark, scale, restart); the provision queue
    /// when unset.
    pub lifecycle: String,
}

impl QueueUrls {
    /// The URLs the environment names: both or neither (one alone is a configuration mistake
    /// that would strand the other kind of operation). An unset pair is `Ok(None)`.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let get = |k: &str| {
            var(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        match (get("PROVISION_QUEUE_URL"), get("DEPROVISION_QUEUE_URL")) {
            (None, None) => Ok(None),
            (Some(provision), Some(deprovision)) => {
                for (name, url) in [
                    ("PROVISION_QUEUE_URL", &provision),
                    ("DEPROVISION_QUEUE_URL", &deprovision),
                ] {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return Err(Error::field(
                            name,
                            format!("{name} must be a queue URL (https://sqs.…), not {url}"),
                        ));
                    }
                }
                let lifecycle = get("LIFECYCLE_QUEUE_URL").unwrap_or_else(|| provision.clone());
                if !(lifecycle.starts_with("https://") || lifecycle.starts_with("http://")) {
                    return Err(Error::field(
                        "LIFECYCLE_QUEUE_URL",
                        format!(
                            "LIFECYCLE_QUEUE_URL must be a queue URL (https://sqs.…), not {lifecycle}"
                        ),
                    ));
                }
                Ok(Some(Self {
                    provision,
                    deprovision,
                    lifecycle,
                }))
            }
            (Some(_), None) => Err(Error::field(
                "DEPROVISION_QUEUE_URL",
                "PROVISION_QUEUE_URL is set but DEPROVISION_QUEUE_URL is not: set both (they may name the same queue)",
            )),
            (None, Some(_)) => Err(Error::field(
                "PROVISION_QUEUE_URL",
                "DEPROVISION_QUEUE_URL is set but PROVISION_QUEUE_URL is not: set both (they may name the same queue)",
            )),
        }
    }

    pub fn for_kind(&self, kind: QueueKind) -> &str {
        match kind.queue() {
            Queue::Provision => &self.provision,
            Queue::Deprovision => &self.deprovision,
            Queue::Lifecycle => &self.lifecycle,
        }
    }
}

/// Sends operation messages to the instance queues.
#[derive(Debug, Clone)]
pub struct SqsOperationQueue {
    client: Client,
    urls: QueueUrls,
}

impl SqsOperationQueue {
    pub fn new(client: Client, urls: QueueUrls) -> Self {
        Self { client, urls }
    }

    pub fn urls(&self) -> &QueueUrls {
        &self.urls
    }
}

#[async_trait]
impl OperationQueue for SqsOperationQueue {
    async fn enqueue(&self, message: &OperationMessage) -> Result<()> {
        let url = self.urls.for_kind(message.kind);
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(message.operation_id.to_string())
            .build()
            .map_err(|e| Error::Internal(format!("SQS message attribute: {e}")))?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(message.to_json())
            .message_attributes("operationId", attribute)
            .send()
            .await
            .map_err(|e| Error::Storage(crate::sdk::describe("SQS", "SendMessage", &e)))?;
        tracing::debug!(operation_id = %message.operation_id, queue = url, "operation queued");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn both_queue_urls_or_neither() {
        assert_eq!(
            QueueUrls::from_lookup(env(&[])).expect("unset is fine"),
            None
        );
        let urls = QueueUrls::from_lookup(env(&[
            (
                "PROVISION_QUEUE_URL",
                "https://sqs.eu-west-1.amazonaws.com/1/p",
            ),
            (
                "DEPROVISION_QUEUE_URL",
                " https://sqs.eu-west-1.amazonaws.com/1/d ",
            ),
        ]))
        .expect("both set")
        .expect("configured");
        assert_eq!(
            urls.for_kind(QueueKind::Deprovision),
            "https://sqs.eu-west-1.amazonaws.com/1/d"
        );
        for (pairs, missing) in [
            (
                &[("PROVISION_QUEUE_URL", "https://sqs/1/p")][..],
                "DEPROVISION_QUEUE_URL",
            ),
            (
                &[("DEPROVISION_QUEUE_URL", "https://sqs/1/d")][..],
                "PROVISION_QUEUE_URL",
            ),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = pairs;
            match QueueUrls::from_lookup(env(pairs)) {
                Err(Error::Validation { fields, .. }) => assert_eq!(fields[0].field, missing),
                other => panic!("{other:?}"),
            }
        }
        match QueueUrls::from_lookup(env(&[
            ("PROVISION_QUEUE_URL", "bbws-instance-provision-dev"),
            ("DEPROVISION_QUEUE_URL", "https://sqs/1/d"),
        ])) {
            Err(Error::Validation { fields, .. }) => {
                assert_eq!(fields[0].field, "PROVISION_QUEUE_URL");
            }
            other => panic!("a queue name is not a URL: {other:?}"),
        }
    }
}
