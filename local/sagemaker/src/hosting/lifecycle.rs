//! What runs after CreateEndpoint and UpdateEndpoint answered: the fleet starts (Creating ->
//! InService or Failed), and an update moves traffic to its new fleet step by step, watching
//! the rollback alarms (Updating -> InService, or RollingBack -> InService on the old config).

use std::sync::Arc;
use std::time::Duration;

use sagemaker_requests::{DeploymentConfig, ProductionVariant};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use super::cloudwatch::AlarmState;
use super::fleet::Fleet;
use super::records::{Container, EndpointStatus, Hosting};
use super::traffic::Plan;
use crate::service::Service;

/// The variants of an endpoint config with the containers of their models.
pub type Variants = Vec<(ProductionVariant, Container)>;

/// The variants of `config_name`, each with its model's container; the error is what
/// SageMaker says when a config or model is missing.
pub fn resolve(hosting: &Hosting, config_name: &str, arn: &str) -> Result<Variants, String> {
    let config = hosting
        .endpoint_config(config_name)
        .ok_or_else(|| format!("Could not find endpoint configuration \"{arn}\"."))?;
    config
        .request
        .production_variants
        .iter()
        .map(|variant| {
            let model_name = variant.model_name.as_deref().unwrap_or_default();
            let model = hosting.model(model_name).ok_or_else(|| {
                format!(
                    "Could not find model \"{model_name}\" of production variant {}.",
                    variant.variant_name
                )
            })?;
            Ok((variant.clone(), model.container.clone()))
        })
        .collect()
}

/// Starts the endpoint's fleet: InService once every variant answers its health check, else
/// Failed with the reason.
pub fn spawn_create(service: &Arc<Service>, endpoint: String, variants: Variants) {
    let service = Arc::clone(service);
    let Some((config, stop)) =
        service.with_endpoint(&endpoint, |e| (e.config_name.clone(), e.stop.clone()))
    else {
        return;
    };
    service.tasks.clone().spawn(async move {
        let started = tokio::select! {
            started = Fleet::start(&service, &endpoint, &config, &variants, &stop) => started,
            () = stop.cancelled() => return,
        };
        service.with_endpoint(&endpoint, |e| match started {
            Ok(fleet) => {
                e.fleet = Some(Arc::new(fleet));
                e.failure_reason = None;
                e.set_status(EndpointStatus::InService);
                tracing::info!(endpoint = e.name, "endpoint in service");
            }
            Err(reason) => {
                tracing::warn!(endpoint = e.name, reason, "endpoint failed");
                e.failure_reason = Some(reason);
                e.set_status(EndpointStatus::Failed);
            }
        });
    });
}

/// What an update carries out.
pub struct Update {
    pub endpoint: String,
    /// The endpoint config it moves to.
    pub config: String,
    pub variants: Variants,
    pub plan: Plan,
    pub deployment: Option<DeploymentConfig>,
}

/// Starts the new fleet beside the old one and moves traffic to it by the plan.
pub fn spawn_update(service: &Arc<Service>, update: Update) {
    let service = Arc::clone(service);
    let Some(stop) = service.with_endpoint(&update.endpoint, |e| e.stop.clone()) else {
        return;
    };
    service.tasks.clone().spawn(async move {
        tokio::select! {
            () = run_update(&service, update, &stop) => {}
            () = stop.cancelled() => {}
        }
    });
}

async fn run_update(service: &Service, update: Update, stop: &CancellationToken) {
    let (name, config) = (&update.endpoint, update.config.as_str());
    let green = match Fleet::start(service, name, config, &update.variants, stop).await {
        Ok(fleet) => Arc::new(fleet),
        Err(reason) => {
            // SageMaker keeps serving the old config and says why the update failed.
            service.with_endpoint(name, |e| {
                e.pending = None;
                e.failure_reason = Some(format!("Failed to update endpoint: {reason}"));
                e.set_status(EndpointStatus::InService);
            });
            return;
        }
    };
    service.with_endpoint(name, |e| {
        if let Some(pending) = &mut e.pending {
            pending.fleet = Some(Arc::clone(&green));
        }
    });
    for step in &update.plan.steps {
        service.with_endpoint(name, |e| {
            if let Some(pending) = &mut e.pending {
                pending.share = step.share;
            }
        });
        tracing::info!(endpoint = name, share = step.share, "traffic shifted");
        if let Some(alarm) = bake(service, &update.plan.alarms, step.bake).await {
            roll_back(service, name, &alarm, step.share, update.deployment).await;
            return;
        }
    }
    sleep(update.plan.termination_wait).await;
    service.with_endpoint(name, |e| {
        e.fleet = Some(green);
        e.config_name = config.to_owned();
        e.variants = update.variants.iter().map(|(v, _)| v.clone()).collect();
        e.pending = None;
        e.failure_reason = None;
        e.last_deployment_config = update.deployment;
        e.set_status(EndpointStatus::InService);
        tracing::info!(endpoint = e.name, config, "endpoint updated");
    });
}

/// Waits `bake`, asking CloudWatch for the alarms' states; the first alarm found in ALARM
/// ends the bake. The alarms are asked at least once, also for a bake of 0.
async fn bake(service: &Service, alarms: &[String], bake: Duration) -> Option<AlarmState> {
    let deadline = Instant::now() + bake;
    loop {
        if let (false, Some(cloudwatch)) = (alarms.is_empty(), &service.cloudwatch) {
            match cloudwatch.alarms(alarms).await {
                Ok(states) => {
                    if let Some(fired) = states.into_iter().find(|a| a.in_alarm) {
                        return Some(fired);
                    }
                }
                Err(e) => tracing::warn!(error = e, "cannot read the rollback alarms"),
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        sleep(service.settings.alarm_poll.min(deadline - now)).await;
    }
}

/// Traffic back to the old fleet; the new one stops. RollingBack while it does, then
/// InService on the old config, the alarm in FailureReason.
async fn roll_back(
    service: &Service,
    name: &str,
    alarm: &AlarmState,
    share: f64,
    deployment: Option<DeploymentConfig>,
) {
    tracing::warn!(endpoint = name, alarm = alarm.name, "rolling back");
    service.with_endpoint(name, |e| {
        if let Some(pending) = &mut e.pending {
            pending.share = 0.0;
        }
        e.set_status(EndpointStatus::RollingBack);
    });
    // Long enough for a watcher polling DescribeEndpoint to see it.
    sleep(service.settings.alarm_poll).await;
    let reason = format!(
        "Endpoint update rolled back: CloudWatch alarm {} is in ALARM ({}), with {:.0}% of \
         the traffic on the new fleet.",
        alarm.name,
        if alarm.reason.is_empty() {
            "no reason given"
        } else {
            &alarm.reason
        },
        share * 100.0
    );
    service.with_endpoint(name, |e| {
        e.pending = None;
        e.failure_reason = Some(reason);
        e.last_deployment_config = deployment;
        e.set_status(EndpointStatus::InService);
    });
}
