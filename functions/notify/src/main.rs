use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use notify::{Notifier, Settings};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    pipeline_core::logging::init();
    let settings = Settings::from_env()?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let notifier = Notifier::from_config(&config, &settings);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        notify::handle(&notifier, event.payload, DateTime::from(SystemTime::now()))
    }))
    .await
}
