//! What DescribeEndpoint says about this deployment, decided in one pure function: every
//! status, known today or not, leads to exactly one of done, wait or fail.

use std::time::Duration;

use aws_sdk_sagemaker::operation::describe_endpoint::DescribeEndpointOutput;
use aws_sdk_sagemaker::types::EndpointStatus;

/// The part of DescribeEndpoint that decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub status: String,
    pub config: String,
    /// The config an update is moving to, while it does.
    pub pending: Option<String>,
    pub failure_reason: Option<String>,
    /// The new fleet's share of traffic during an update (0 to 1).
    pub shifted: Option<f64>,
}

impl Observed {
    pub fn from_output(output: &DescribeEndpointOutput) -> Self {
        let pending = output.pending_deployment_summary();
        let shifted = pending.map(|p| {
            p.production_variants()
                .iter()
                .filter_map(|v| v.current_weight())
                .map(f64::from)
                .sum::<f64>()
        });
        Observed {
            status: output
                .endpoint_status()
                .map_or("Unknown", EndpointStatus::as_str)
                .to_owned(),
            config: output.endpoint_config_name().unwrap_or_default().to_owned(),
            pending: pending
                .and_then(|p| p.endpoint_config_name())
                .map(str::to_owned),
            failure_reason: output.failure_reason().map(str::to_owned),
            shifted,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The endpoint serves this deployment's config.
    Deployed,
    /// Still working; the summary says what a person watches.
    Wait(String),
    /// The update did not take: SageMaker rolled back (an alarm) or could not start the new
    /// fleet; the endpoint serves its previous config.
    RolledBack(String),
    Failed(String),
}

/// The decision for the endpoint `name` while deploying `ours`, `elapsed` since the action
/// began.
pub fn decide(name: &str, observed: &Observed, ours: &str, elapsed: Duration) -> Decision {
    let reason = || {
        observed
            .failure_reason
            .clone()
            .unwrap_or_else(|| "SageMaker gave no reason".to_owned())
    };
    let since = format_elapsed(elapsed);
    match observed.status.as_str() {
        "InService" if observed.config == ours => Decision::Deployed,
        "InService" => Decision::RolledBack(format!(
            "Endpoint {name} is InService on its previous config {}, not on {ours}: {}",
            observed.config,
            reason()
        )),
        "Creating" => Decision::Wait(format!("Endpoint {name}: Creating ({since})")),
        "Updating" => Decision::Wait(match observed.shifted {
            Some(share) if share > 0.0 => format!(
                "Endpoint {name}: Updating, {:.0}% of traffic on the new fleet, baking ({since})",
                share * 100.0
            ),
            _ => format!("Endpoint {name}: Updating, starting the new fleet ({since})"),
        }),
        "SystemUpdating" => Decision::Wait(format!(
            "Endpoint {name}: SystemUpdating (SageMaker maintenance; {since})"
        )),
        "RollingBack" => Decision::Wait(format!(
            "Endpoint {name}: RollingBack to {} ({since}): {}",
            observed.config,
            reason()
        )),
        "Failed" => Decision::Failed(format!("Endpoint {name} is Failed: {}", reason())),
        "OutOfService" | "Deleting" => Decision::Failed(format!(
            "Endpoint {name} is {} (someone or something else changed it during the \
             deployment); retry the stage once it is InService or gone",
            observed.status
        )),
        other => Decision::Failed(format!(
            "Endpoint {name} reports status {other}, which this pipeline does not know: check \
             it in the SageMaker console, then retry the stage"
        )),
    }
}

/// `2m 05s`, `1h 02m`.
pub fn format_elapsed(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(status: &str, config: &str) -> Observed {
        Observed {
            status: status.into(),
            config: config.into(),
            pending: None,
            failure_reason: None,
            shifted: None,
        }
    }

    const T: Duration = Duration::from_secs(125);

    #[test]
    fn every_status_leads_somewhere() {
        assert_eq!(
            decide("e", &observed("InService", "new"), "new", T),
            Decision::Deployed
        );
        let back = decide(
            "e",
            &Observed {
                failure_reason: Some("alarm e-5xx".into()),
                ..observed("InService", "old")
            },
            "new",
            T,
        );
        assert!(
            matches!(&back, Decision::RolledBack(m) if m.contains("alarm e-5xx") && m.contains("previous config old")),
            "{back:?}"
        );
        for waiting in ["Creating", "Updating", "SystemUpdating", "RollingBack"] {
            assert!(
                matches!(
                    decide("e", &observed(waiting, "old"), "new", T),
                    Decision::Wait(_)
                ),
                "{waiting}"
            );
        }
        for failing in ["Failed", "OutOfService", "Deleting", "Exploding", ""] {
            assert!(
                matches!(
                    decide("e", &observed(failing, "old"), "new", T),
                    Decision::Failed(_)
                ),
                "{failing}"
            );
        }
    }

    #[test]
    fn summaries_say_what_a_person_watches() {
        let canary = Observed {
            shifted: Some(0.1),
            pending: Some("new".into()),
            ..observed("Updating", "old")
        };
        assert_eq!(
            decide("prod", &canary, "new", T),
            Decision::Wait(
                "Endpoint prod: Updating, 10% of traffic on the new fleet, baking (2m 05s)".into()
            )
        );
        assert_eq!(format_elapsed(Duration::from_secs(3720)), "1h 02m");
        assert_eq!(format_elapsed(Duration::from_secs(7)), "7s");
    }
}
