//! CloudWatch, as hosting uses it: invocation metrics written under `AWS/SageMaker` (batched
//! off the request path), and the alarms an update's AutoRollbackConfiguration watches.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StateValue};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The namespace of SageMaker's endpoint metrics.
pub const NAMESPACE: &str = "AWS/SageMaker";

/// PutMetricData takes at most 1000 data per call.
const BATCH: usize = 1000;

/// How often the collected data are written.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// What one invocation reports.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub endpoint: String,
    pub variant: String,
    /// The model's HTTP status; `None` when it gave no answer (a 5XX for CloudWatch).
    pub status: Option<u16>,
    pub model_latency: Duration,
    pub at: SystemTime,
}

impl Invocation {
    /// SageMaker's metrics of the invocation: Invocations, Invocation4XXErrors,
    /// Invocation5XXErrors (0 or 1 each) and ModelLatency in microseconds.
    fn data(&self) -> Vec<MetricDatum> {
        let dimensions = vec![
            Dimension::builder()
                .name("EndpointName")
                .value(&self.endpoint)
                .build(),
            Dimension::builder()
                .name("VariantName")
                .value(&self.variant)
                .build(),
        ];
        let class = self.status.map_or(5, |s| s / 100);
        let count = |yes: bool| if yes { 1.0 } else { 0.0 };
        [
            ("Invocations", 1.0, StandardUnit::None),
            ("Invocation4XXErrors", count(class == 4), StandardUnit::None),
            ("Invocation5XXErrors", count(class == 5), StandardUnit::None),
            (
                "ModelLatency",
                self.model_latency.as_micros() as f64,
                StandardUnit::Microseconds,
            ),
        ]
        .into_iter()
        .map(|(name, value, unit)| {
            MetricDatum::builder()
                .metric_name(name)
                .set_dimensions(Some(dimensions.clone()))
                .value(value)
                .unit(unit)
                .timestamp(DateTime::from(self.at))
                .build()
        })
        .collect()
    }
}

/// The local CloudWatch (moto), when the service has one.
#[derive(Debug, Clone)]
pub struct CloudWatch {
    client: aws_sdk_cloudwatch::Client,
    metrics: mpsc::UnboundedSender<Invocation>,
}

/// An alarm the update watches, as DescribeAlarms reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmState {
    pub name: String,
    pub in_alarm: bool,
    pub reason: String,
}

impl CloudWatch {
    /// Starts the writer, which ends with `shutdown` after a last flush.
    pub fn start(
        client: aws_sdk_cloudwatch::Client,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let (metrics, received) = mpsc::unbounded_channel();
        tasks.spawn(write_metrics(client.clone(), received, shutdown));
        Self { client, metrics }
    }

    /// Queues an invocation's metrics; never waits.
    pub fn record(&self, invocation: Invocation) {
        let _ = self.metrics.send(invocation);
    }

    /// The state of each named alarm; a name CloudWatch does not know is missing from the
    /// answer.
    pub async fn alarms(&self, names: &[String]) -> Result<Vec<AlarmState>, String> {
        let mut states = Vec::new();
        for chunk in names.chunks(100) {
            let answer = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .max_records(100)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "DescribeAlarms failed: {}",
                        aws_sdk_cloudwatch::error::DisplayErrorContext(e)
                    )
                })?;
            states.extend(answer.metric_alarms().iter().map(|alarm| AlarmState {
                name: alarm.alarm_name().unwrap_or_default().to_owned(),
                in_alarm: alarm.state_value() == Some(&StateValue::Alarm),
                reason: alarm.state_reason().unwrap_or_default().to_owned(),
            }));
        }
        Ok(states)
    }
}

async fn write_metrics(
    client: aws_sdk_cloudwatch::Client,
    mut received: mpsc::UnboundedReceiver<Invocation>,
    shutdown: CancellationToken,
) {
    let mut pending: Vec<MetricDatum> = Vec::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        let last = tokio::select! {
            _ = tick.tick() => false,
            () = shutdown.cancelled() => true,
            received = received.recv() => match received {
                Some(invocation) => {
                    pending.extend(invocation.data());
                    continue;
                }
                None => true,
            },
        };
        while let Ok(invocation) = received.try_recv() {
            pending.extend(invocation.data());
        }
        for batch in pending.chunks(BATCH) {
            let sent = client
                .put_metric_data()
                .namespace(NAMESPACE)
                .set_metric_data(Some(batch.to_vec()))
                .send()
                .await;
            if let Err(e) = sent {
                tracing::warn!(
                    error = %aws_sdk_cloudwatch::error::DisplayErrorContext(e),
                    "endpoint metrics were not written to CloudWatch"
                );
            }
        }
        pending.clear();
        if last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_is_four_metrics_with_its_error_class() {
        let invocation = Invocation {
            endpoint: "e".into(),
            variant: "v".into(),
            status: Some(503),
            model_latency: Duration::from_millis(3),
            at: SystemTime::now(),
        };
        let data = invocation.data();
        let value = |name: &str| {
            data.iter()
                .find(|d| d.metric_name() == Some(name))
                .and_then(MetricDatum::value)
        };
        assert_eq!(value("Invocations"), Some(1.0));
        assert_eq!(value("Invocation4XXErrors"), Some(0.0));
        assert_eq!(value("Invocation5XXErrors"), Some(1.0));
        assert_eq!(value("ModelLatency"), Some(3000.0));
        let no_answer = Invocation {
            status: None,
            ..invocation
        };
        assert_eq!(no_answer.data()[2].value(), Some(1.0), "no answer is a 5XX");
        assert!(data.iter().all(|d| d.dimensions().len() == 2));
    }
}
