//! `bbws-ecs-event-handler`: keeps instance states in step with ECS (digest 2.7 §8), as the AWS
//! Lambda target of the EventBridge rule `bbws-ecs-state-sync-rule-{env}` on the default bus:
//!
//! ```json
//! {"source": ["aws.ecs"],
//!  "detail-type": ["ECS Service Action", "ECS Deployment State Change"],
//!  "resources": [{"prefix": "arn:aws:ecs:{region}:{account}:service/{cluster}/"}]}
//! ```
//!
//! Each event is applied by [`bbws_lambda::ecs_events::EcsEventFunction`]. Environment: the
//! backend's ([`lambda_backend_config`]; DynamoDB in production, where the service's tags come
//! from `ecs:ListTagsForResource`), `ENVIRONMENT` (only that environment's services are
//! applied), `LOG_LEVEL` (default `info`).

use bbws_aws::Backend;
use bbws_lambda::apigw::lambda_backend_config;
use bbws_lambda::ecs_events::EcsEventFunction;
use lambda_http::lambda_runtime::{self, Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws_lambda::init_lambda_logging();
    let config = lambda_backend_config(|name| std::env::var(name).ok())?;
    let backend = Backend::open(&config).await?;
    tracing::info!(
        backend = config.kind.as_str(),
        environment = config.environment.as_str(),
        "bbws-ecs-event-handler initialised"
    );
    let function = EcsEventFunction::new(&backend);
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
