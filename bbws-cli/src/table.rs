//! `bbws table create --service tenants`: creates a service's DynamoDB table with its indexes,
//! on-demand capacity and TTL. Running it again is harmless.

use bbws_core::Error;
use clap::{Subcommand, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Service {
    /// The tenants table (digest 2.5 §3.5): tenants, name guards, audit, outbox, idempotency.
    Tenants,
}

#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Create a service's table and wait until it is ACTIVE; an existing table is left as it is.
    Create {
        #[arg(long, value_enum)]
        service: Service,
        #[arg(
            long,
            help = "The table name [env: DYNAMODB_TABLE; default: bbws-tenants-{environment}]"
        )]
        table: Option<String>,
        #[arg(
            long,
            help = "Send AWS requests to this endpoint, e.g. a local moto server [env: AWS_ENDPOINT_URL]"
        )]
        endpoint_url: Option<String>,
        #[arg(
            long,
            value_parser = ["dev", "sit", "prod"],
            help = "The environment the default name is built from [env: ENVIRONMENT; default: dev]"
        )]
        environment: Option<String>,
    },
}

pub async fn run(command: TableCommand) -> Result<(), Error> {
    match command {
        TableCommand::Create {
            service: Service::Tenants,
            table,
            endpoint_url,
            environment,
        } => {
            let config = crate::backend_config(|k| match k {
                "BBWS_BACKEND" => Some("dynamodb".to_owned()),
                "DYNAMODB_TABLE" => table.clone(),
                "AWS_ENDPOINT_URL" => endpoint_url.clone(),
                "ENVIRONMENT" => environment.clone(),
                _ => None,
            })?;
            let sdk = bbws_aws::sdk::load(config.endpoint_url.as_deref()).await;
            let client = bbws_aws::sdk::dynamodb(&sdk);
            if bbws_aws::create_table(&client, &config.table).await? {
                println!(
                    "created table {} (GSI1-GSI4, on demand, TTL on ttl)",
                    config.table
                );
            } else {
                println!("table {} already exists", config.table);
            }
            Ok(())
        }
    }
}
