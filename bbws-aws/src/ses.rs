//! [`SesMailer`]: outgoing mail of the organisation domain (invitations, decline notices) through
//! SES v2 `SendEmail`, as simple content with a UTF-8 text body, from the configured sender
//! (`MAIL_FROM`, a verified SES identity).

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use bbws_core::error::{Error, Result};
use bbws_core::org::{MailMessage, Mailer};
use bbws_core::tenant::Email;

/// Sends mail with SES v2.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: Email,
}

fn text(data: &str) -> Result<Content> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| Error::Internal(format!("cannot build an SES message: {e}")))
}

impl SesMailer {
    pub fn new(client: Client, from: Email) -> Self {
        Self { client, from }
    }

    pub fn from_address(&self) -> &Email {
        &self.from
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &MailMessage) -> Result<()> {
        let message = Message::builder()
            .subject(text(&mail.subject)?)
            .body(Body::builder().text(text(&mail.text)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(self.from.as_str())
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| Error::Internal(crate::sdk::describe("SES", "SendEmail", &e)))?;
        Ok(())
    }
}
