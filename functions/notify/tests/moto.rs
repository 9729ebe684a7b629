//! notify over real HTTP: moto server's S3 (conditional writes of the marker) and SNS (the
//! publish, read back from moto's /moto-api/data.json). CodePipeline is scripted: moto has no
//! GetPipelineExecution or ListActionExecutions.

mod support;

use notify::marker::Markers;
use notify::{Notifier, Report, handle};
use serde_json::Value;
use support::*;
use test_support::MotoServer;

/// Every message moto's SNS recorded for `topic`: `[id, message, subject, attributes, group]`.
fn published(moto: &MotoServer, topic: &str) -> Vec<Value> {
    let data = moto.api_data();
    let topics = &data["sns"]["Topic"];
    let topic = topics
        .as_array()
        .and_then(|all| all.iter().find(|t| t["arn"] == topic))
        .unwrap_or_else(|| panic!("topic {topic} not in moto's data: {topics:#}"));
    topic["sent_notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn the_failed_event_against_moto_sends_one_readable_email() {
    let moto = MotoServer::start();
    let config = moto.sdk_config();
    let s3 = moto.s3_client();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = sns
        .create_topic()
        .name("sagemaker-cicd-notifications")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();

    let notifier = Notifier {
        codepipeline: scenario("failed").codepipeline(),
        sns,
        markers: Markers::new(s3.clone(), BUCKET),
        topic_arn: topic.clone(),
        sweeper: None,
    };
    let report = handle(&notifier, event("failed"), now_after("failed"))
        .await
        .unwrap();
    let Report::Sent { message_id, .. } = report else {
        panic!("not sent: {report:?}")
    };
    // EventBridge delivers the same event again: nothing more is published.
    let again = handle(&notifier, event("failed"), now_after("failed"))
        .await
        .unwrap();
    assert_eq!(
        again,
        Report::AlreadySent {
            message_id: message_id.clone()
        }
    );

    let messages = published(&moto, &topic);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let [id, message, subject, attributes, _group] = messages[0].as_array().unwrap().as_slice()
    else {
        panic!("unexpected shape: {:#}", messages[0])
    };
    assert_eq!(id, &Value::from(message_id));
    assert_eq!(
        subject,
        "FAILED in Evaluate: example-org/churn-model 9f2c1e4 (main)"
    );
    let message: Value = serde_json::from_str(message.as_str().unwrap()).unwrap();
    let email = message["email"].as_str().unwrap();
    assert!(
        email.starts_with(
            "The pipeline run for commit 9f2c1e4 of example-org/churn-model failed in stage Evaluate\nafter 1h 14m.\n"
        ),
        "{email}"
    );
    for expected in [
        "  Evaluate  Evaluate       Failed          12s\n",
        "WHY IT FAILED\n\n  Evaluate / Evaluate (JobFailed)\n",
        "    test:accuracy   0.8712  >=         0.9000     0.9031          FAIL\n",
        "  Pipeline execution  https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/sagemaker-cicd-pipeline/executions/c0ffee00-1d2e-4f3a-9b8c-7d6e5f4a3b21/timeline?region=us-east-1\n",
    ] {
        assert!(email.contains(expected), "missing {expected:?} in\n{email}");
    }
    let sqs: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(sqs["outcome"], "FAILED");
    assert_eq!(sqs["failure"]["stage"], "Evaluate");
    assert_eq!(attributes["outcome"]["Value"], "FAILED", "{attributes:#}");
    assert_eq!(
        attributes["repository"]["Value"], REPOSITORY,
        "{attributes:#}"
    );

    // The marker in the bucket says so too.
    let marker = s3
        .get_object()
        .bucket(BUCKET)
        .key(marker_key("failed"))
        .send()
        .await
        .unwrap();
    let marker: Value =
        serde_json::from_slice(&marker.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(marker["state"], "sent", "{marker}");
}
