//! Publishes a rendered notification to the SNS topic.

use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sns::types::MessageAttributeValue;

use crate::render::Notification;

#[derive(Debug, thiserror::Error)]
#[error("SNS Publish to {topic} failed: {detail}")]
pub struct PublishError {
    pub topic: String,
    pub detail: String,
}

/// Sends the email variant to email subscribers, the JSON document to sqs/lambda/http(s)
/// ones (`MessageStructure=json`), with the attributes for subscription filter policies.
/// Returns SNS's message id.
pub async fn publish(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    notification: &Notification,
) -> Result<String, PublishError> {
    let error = |detail: String| PublishError {
        topic: topic_arn.to_owned(),
        detail,
    };
    let mut request = sns
        .publish()
        .topic_arn(topic_arn)
        .subject(&notification.subject)
        .message_structure("json")
        .message(notification.sns_message());
    for (name, value) in &notification.attributes {
        let value = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| error(format!("message attribute {name}: {e}")))?;
        request = request.message_attributes(*name, value);
    }
    let out = request.send().await.map_err(|err| {
        error(match (err.code(), err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            (None, Some(message)) => message.to_owned(),
            (None, None) => DisplayErrorContext(&err).to_string(),
        })
    })?;
    Ok(out.message_id.unwrap_or_default())
}
