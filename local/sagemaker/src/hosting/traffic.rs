//! How a blue/green update moves traffic: the steps of a DeploymentConfig's
//! TrafficRoutingConfiguration, each followed by its baking period. Pure, so the rules are
//! tested without processes.

use std::time::Duration;

use sagemaker_requests::{CapacitySize, DeploymentConfig, TrafficRoutingConfig};

/// One step: the green fleet's share of invocations, then a bake with alarms watched.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub share: f64,
    pub bake: Duration,
}

/// The whole update.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// After the last step, how long the blue fleet is kept before it is terminated.
    pub termination_wait: Duration,
    /// Alarms whose ALARM state rolls the update back.
    pub alarms: Vec<String>,
}

fn seconds(value: i32) -> Duration {
    Duration::from_secs(u64::try_from(value).unwrap_or(0))
}

/// The plan of an update to a config with `new_instances` instances in all (0 for
/// serverless). No DeploymentConfig is SageMaker's default: blue/green, all at once, no bake.
pub fn plan(deployment: Option<&DeploymentConfig>, new_instances: i32) -> Result<Plan, String> {
    let Some(deployment) = deployment else {
        return Ok(Plan {
            steps: vec![Step {
                share: 1.0,
                bake: Duration::ZERO,
            }],
            termination_wait: Duration::ZERO,
            alarms: Vec::new(),
        });
    };
    if deployment.rolling_update_policy.is_some() {
        return Err(
            "RollingUpdatePolicy is not supported by the local SageMaker: use \
             BlueGreenUpdatePolicy"
                .into(),
        );
    }
    let alarms = deployment
        .auto_rollback_configuration
        .as_ref()
        .and_then(|c| c.alarms.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|a| a.alarm_name.clone())
        .collect();
    let Some(policy) = &deployment.blue_green_update_policy else {
        return Ok(Plan {
            steps: vec![Step {
                share: 1.0,
                bake: Duration::ZERO,
            }],
            termination_wait: Duration::ZERO,
            alarms,
        });
    };
    Ok(Plan {
        steps: steps(&policy.traffic_routing_configuration, new_instances)?,
        termination_wait: seconds(policy.termination_wait_in_seconds.unwrap_or(0)),
        alarms,
    })
}

fn steps(routing: &TrafficRoutingConfig, new_instances: i32) -> Result<Vec<Step>, String> {
    let bake = seconds(routing.wait_interval_in_seconds);
    let full = Step { share: 1.0, bake };
    match routing.r#type.as_str() {
        "ALL_AT_ONCE" => Ok(vec![full]),
        "CANARY" => {
            let size = routing
                .canary_size
                .as_ref()
                .ok_or("TrafficRoutingConfiguration: CanarySize is required when Type is CANARY")?;
            let share = share_of(size, new_instances, "CanarySize")?;
            Ok(vec![Step { share, bake }, full])
        }
        "LINEAR" => {
            let size = routing.linear_step_size.as_ref().ok_or(
                "TrafficRoutingConfiguration: LinearStepSize is required when Type is LINEAR",
            )?;
            let step = share_of(size, new_instances, "LinearStepSize")?;
            let count = (1.0 / step).ceil() as usize;
            Ok((1..=count)
                .map(|k| Step {
                    share: (k as f64 * step).min(1.0),
                    bake,
                })
                .collect())
        }
        other => Err(format!(
            "TrafficRoutingConfiguration.Type `{other}` is not one of ALL_AT_ONCE, CANARY, LINEAR"
        )),
    }
}

/// A CapacitySize as a share of the new fleet, in (0, 1].
fn share_of(size: &CapacitySize, new_instances: i32, member: &str) -> Result<f64, String> {
    let share = match size.r#type.as_str() {
        "CAPACITY_PERCENT" => f64::from(size.value) / 100.0,
        "INSTANCE_COUNT" if new_instances > 0 => f64::from(size.value) / f64::from(new_instances),
        "INSTANCE_COUNT" => {
            return Err(format!(
                "{member}: INSTANCE_COUNT needs instances; a serverless endpoint takes \
                 CAPACITY_PERCENT"
            ));
        }
        other => {
            return Err(format!(
                "{member}.Type `{other}` is not INSTANCE_COUNT or CAPACITY_PERCENT"
            ));
        }
    };
    if share <= 0.0 || share > 1.0 {
        return Err(format!(
            "{member} {} {} is {:.0}% of the new fleet's {new_instances} instance(s); it must \
             be more than 0% and at most 100%",
            size.value,
            size.r#type,
            share * 100.0
        ));
    }
    Ok(share)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(routing: serde_json::Value) -> DeploymentConfig {
        serde_json::from_value(serde_json::json!({
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": routing,
                "TerminationWaitInSeconds": 3
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors"}]}
        }))
        .unwrap()
    }

    #[test]
    fn no_deployment_config_is_all_at_once_without_bake() {
        let plan = plan(None, 1).unwrap();
        assert_eq!(
            plan.steps,
            [Step {
                share: 1.0,
                bake: Duration::ZERO
            }]
        );
        assert!(plan.alarms.is_empty());
    }

    #[test]
    fn a_canary_bakes_then_shifts_the_rest() {
        let d = deployment(serde_json::json!({
            "Type": "CANARY", "WaitIntervalInSeconds": 5,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25}
        }));
        let plan = plan(Some(&d), 0).unwrap();
        let bake = Duration::from_secs(5);
        assert_eq!(
            plan.steps,
            [Step { share: 0.25, bake }, Step { share: 1.0, bake }]
        );
        assert_eq!(plan.termination_wait, Duration::from_secs(3));
        assert_eq!(plan.alarms, ["errors"]);
    }

    #[test]
    fn linear_steps_end_at_the_whole_fleet() {
        let d = deployment(serde_json::json!({
            "Type": "LINEAR", "WaitIntervalInSeconds": 1,
            "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 2}
        }));
        let shares: Vec<f64> = plan(Some(&d), 5)
            .unwrap()
            .steps
            .iter()
            .map(|s| s.share)
            .collect();
        assert_eq!(shares, [0.4, 0.8, 1.0]);
    }

    #[test]
    fn sizes_out_of_range_are_refused() {
        for (kind, value, instances) in [
            ("CAPACITY_PERCENT", 0, 1),
            ("CAPACITY_PERCENT", 101, 1),
            ("INSTANCE_COUNT", 3, 2),
            ("INSTANCE_COUNT", 1, 0),
            ("PERCENT", 10, 1),
        ] {
            let d = deployment(serde_json::json!({
                "Type": "CANARY", "WaitIntervalInSeconds": 1,
                "CanarySize": {"Type": kind, "Value": value}
            }));
            assert!(plan(Some(&d), instances).is_err(), "{kind} {value}");
        }
        let d = deployment(serde_json::json!({"Type": "CANARY", "WaitIntervalInSeconds": 1}));
        assert!(
            plan(Some(&d), 1)
                .unwrap_err()
                .contains("CanarySize is required")
        );
    }
}
