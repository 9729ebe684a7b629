//! deploy: the DeployStaging and DeployProduction actions. The first invocation checks the
//! package and the alarms, creates the deployment's model and endpoint config (adopting them
//! when a duplicate delivery already did) and creates or updates the endpoint; later ones follow
//! it through continuation tokens until it serves the new config (then, for staging, the smoke
//! test), rolls back, or fails.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::describe_endpoint::DescribeEndpointOutput;
use aws_sdk_sagemaker::types::{
    ContainerDefinition, EndpointConfigSortKey, ModelApprovalStatus, OrderKey, ProductionVariant,
    ProductionVariantServerlessConfig, Tag,
};
use pipeline_core::artifact::{ArtifactError, ArtifactLimits};
use pipeline_core::run::record_execution_id;
use pipeline_core::values::{self, Kind};
use pipeline_core::{ArtifactStore, Job, JobError, Outcome, SourceArchive, aws_error, params};
use tracing::{info, warn};

use crate::config::{self, Deployment, Variant};
use crate::names::{self, VARIANT};
use crate::settings::{Settings, Stage};
use crate::smoke;
use crate::status::{self, Decision, Observed};
use crate::token::{Phase, State};

/// What to change when SageMaker refuses a request of this action.
const FIX: &str = "Fix configuration/deployment.json";

/// Kept back from CodePipeline's 24-hour limit on an action: the last poll may come this late.
const WINDOW: Duration = Duration::from_secs(23 * 3600);

/// The SDK clients the action uses.
pub struct Clients {
    pub sagemaker: SageMaker,
    pub runtime: aws_sdk_sagemakerruntime::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        Clients {
            sagemaker: SageMaker::new(config),
            runtime: aws_sdk_sagemakerruntime::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
        }
    }
}

/// What the action reads of the source artifact: a smoke-test body may be as large as
/// InvokeEndpoint takes (the default cap on one file is 1 MiB, meant for configuration).
pub fn artifact_limits() -> ArtifactLimits {
    ArtifactLimits {
        max_entry_bytes: config::MAX_BODY_BYTES as u64,
        ..ArtifactLimits::default()
    }
}

/// What the action works on, read once per invocation.
struct Context<'a> {
    settings: &'a Settings,
    clients: &'a Clients,
    deployment: Deployment,
    /// The deployment's model and endpoint config.
    name: String,
    now: SystemTime,
}

pub async fn handle(
    job: Job,
    clients: &Clients,
    artifacts: &ArtifactStore,
    now: SystemTime,
) -> Result<Outcome, JobError> {
    let settings = params::parse::<Settings>(job.user_parameters.as_deref())?;
    values::checked(
        "ModelPackageArn (#{EvaluateVariables.ModelPackageArn})",
        &settings.model_package_arn,
        Kind::ModelPackageArn,
    )?;
    record_execution_id(&settings.execution_id);
    let path = settings
        .config_path
        .clone()
        .unwrap_or_else(|| config::DEFAULT_PATH.to_owned());
    let artifact = job.input_artifact(settings.input_artifact.as_deref())?;
    let mut source = artifacts.open(&job.credentials, artifact).await?;
    let Some((deployment, bodies)) = read_deployment(&mut source, &path)? else {
        return Ok(skipped(&format!(
            "The source has no {path}: the model stays in the Model Registry, not deployed. \
             Add {path} to deploy it (see examples/model-repo)."
        )));
    };
    if settings.stage == Stage::Production && deployment.production.is_none() {
        return Ok(skipped(&format!(
            "{path} has no Production: the model is deployed to staging only."
        )));
    }
    let context = Context {
        name: names::deployment_name(
            &settings.endpoint_name,
            &settings.commit_id,
            &settings.execution_id,
        ),
        settings: &settings,
        clients,
        deployment,
        now,
    };
    let state = match &job.continuation_token {
        None => return start(&context).await,
        Some(token) => State::decode(token, &settings.execution_id, &context.name)?,
    };
    follow(&context, state, &bodies).await
}

fn skipped(why: &str) -> Outcome {
    Outcome::succeeded()
        .variable("DeployStatus", "Skipped")
        .summary(why)
}

/// The smoke-test bodies, by their file in the repository.
type Bodies = HashMap<String, String>;

/// The deployment and the smoke-test bodies it names, `None` without the file.
fn read_deployment(
    source: &mut SourceArchive,
    path: &str,
) -> Result<Option<(Deployment, Bodies)>, JobError> {
    let Some(text) = source.read_text(path)? else {
        return Ok(None);
    };
    // Bodies are read while the file is checked, so that a missing or oversized one is
    // reported at its place in deployment.json.
    let mut bodies = HashMap::new();
    let mut read_errors = Vec::new();
    let loaded = config::load(path, &text, |file: &str| match source.read_text(file) {
        Ok(Some(body)) => {
            let size = body.len();
            bodies.insert(file.to_owned(), body);
            Some(size)
        }
        Ok(None) => None,
        Err(ArtifactError::EntryTooLarge { .. }) => Some(config::MAX_BODY_BYTES + 1),
        Err(e) => {
            read_errors.push(e.to_string());
            Some(0)
        }
    });
    if !read_errors.is_empty() {
        return Err(JobError::config(read_errors.join("\n")));
    }
    let deployment = loaded.map_err(|d| JobError::config(d.to_string()))?;
    Ok(Some((deployment, bodies)))
}

/// The variant of the deployment's stage.
fn variant<'a>(context: &'a Context<'a>) -> &'a Variant {
    match (context.settings.stage, &context.deployment.production) {
        (Stage::Production, Some(production)) => &production.variant,
        _ => &context.deployment.staging.variant,
    }
}

fn tags(settings: &Settings) -> Vec<Tag> {
    let mut pairs = vec![
        ("pipeline:stack", settings.job_prefix.clone()),
        ("pipeline:stage", settings.stage.as_str().to_owned()),
        ("pipeline:commit", settings.commit_id.clone()),
        ("pipeline:execution-id", settings.execution_id.clone()),
    ];
    if let Some(repository) = &settings.repository {
        pairs.push(("pipeline:repository", repository.clone()));
    }
    pairs
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(model_repo::naming::tag_value(&v))
                .build()
        })
        .collect()
}

/// Whether a Create call was refused because the resource exists: a duplicate delivery.
fn already_exists<E: ProvideErrorMetadata>(error: &E) -> bool {
    error
        .message()
        .is_some_and(|m| m.contains("already existing") || m.contains("already exists"))
}

async fn start(context: &Context<'_>) -> Result<Outcome, JobError> {
    let settings = context.settings;
    let sagemaker = &context.clients.sagemaker;
    let alarms = rollback_alarms(context);
    check_alarms(context, &alarms).await?;
    approved(sagemaker, settings).await?;
    create_model(context).await?;
    create_config(context).await?;
    let endpoint = &settings.endpoint_name;
    let described = describe(sagemaker, endpoint).await?;
    let started = seconds(context.now);
    let Some(described) = described else {
        create_endpoint(context).await?;
        info!(endpoint, config = context.name, "endpoint creating");
        let state = State::new(
            Phase::Deploying,
            &settings.execution_id,
            &context.name,
            None,
            started,
        );
        return Ok(in_progress(
            &state,
            format!("Endpoint {endpoint}: CreateEndpoint sent"),
        ));
    };
    let observed = Observed::from_output(&described);
    let ours = &context.name;
    let previous = Some(observed.config.clone()).filter(|c| c != ours);
    let state = |phase| {
        State::new(
            phase,
            &settings.execution_id,
            ours,
            previous.clone(),
            started,
        )
    };
    match observed.status.as_str() {
        "InService" if &observed.config == ours => {}
        "InService" => {
            update_endpoint(context, &alarms).await?;
            info!(endpoint, config = ours, "endpoint updating");
        }
        "Creating" | "Updating" | "SystemUpdating" | "RollingBack"
            if &observed.config == ours || observed.pending.as_ref() == Some(ours) => {}
        "Failed" if settings.stage == Stage::Staging => {
            sagemaker
                .delete_endpoint()
                .endpoint_name(endpoint)
                .send()
                .await
                .map_err(|e| aws_error("DeleteEndpoint", &e, FIX))?;
            warn!(
                endpoint,
                "staging endpoint was Failed: deleting it to create it anew"
            );
            return Ok(in_progress(
                &state(Phase::Recreating),
                format!(
                    "Endpoint {endpoint} was Failed ({}); deleting it to create it anew",
                    observed
                        .failure_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                ),
            ));
        }
        status => {
            return Err(JobError::failed(format!(
                "Endpoint {endpoint} is {status} with config {} (another deployment, or a \
                 failed one): wait until it is InService, or fix it in the SageMaker console, \
                 then retry the stage. {}",
                observed.config,
                observed.failure_reason.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(in_progress(
        &state(Phase::Deploying),
        format!("Endpoint {endpoint}: deploying {ours}"),
    ))
}

fn in_progress(state: &State, summary: String) -> Outcome {
    Outcome::in_progress(state.encode()).summary(summary)
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Production's rollback alarms: the stack's and those deployment.json names.
fn rollback_alarms(context: &Context<'_>) -> Vec<String> {
    if context.settings.stage != Stage::Production {
        return Vec::new();
    }
    let mut alarms = context.settings.alarms.clone();
    let named = context
        .deployment
        .production
        .as_ref()
        .and_then(|p| p.deployment_config.as_ref())
        .and_then(|c| c.auto_rollback_configuration.as_ref())
        .and_then(|r| r.alarms.as_ref());
    for alarm in named.into_iter().flatten() {
        if let Some(name) = &alarm.alarm_name
            && !alarms.contains(name)
        {
            alarms.push(name.clone());
        }
    }
    alarms
}

/// Every rollback alarm must exist, or the update could never roll back: refused before any
/// SageMaker call.
async fn check_alarms(context: &Context<'_>, alarms: &[String]) -> Result<(), JobError> {
    if alarms.is_empty() {
        return Ok(());
    }
    let known = alarm_states(&context.clients.cloudwatch, alarms).await?;
    let missing: Vec<&str> = alarms
        .iter()
        .filter(|a| !known.iter().any(|(name, _)| name == *a))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(JobError::config(format!(
            "CloudWatch has no alarm named {}: a rollback alarm that does not exist could never \
             roll the update back. Fix AutoRollbackConfiguration in configuration/deployment.json \
             (the stack's own alarms are added by the pipeline)",
            missing.join(", ")
        )))
    }
}

/// (name, in ALARM) of the named alarms CloudWatch has.
async fn alarm_states(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    alarms: &[String],
) -> Result<Vec<(String, bool)>, JobError> {
    let mut states = Vec::new();
    for chunk in alarms.chunks(100) {
        let answer = cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .max_records(100)
            .send()
            .await
            .map_err(|e| aws_error("DescribeAlarms", &e, FIX))?;
        states.extend(answer.metric_alarms().iter().map(|a| {
            (
                a.alarm_name().unwrap_or_default().to_owned(),
                a.state_value() == Some(&aws_sdk_cloudwatch::types::StateValue::Alarm),
            )
        }));
    }
    Ok(states)
}

/// What may be deployed: an Approved package; to staging also one that waits for a person's
/// approval (staging is where it is reviewed); to production, in a pipeline with a manual
/// approval, a waiting package is approved here, the run's Approval action having been granted.
async fn approved(sagemaker: &SageMaker, settings: &Settings) -> Result<(), JobError> {
    let package = &settings.model_package_arn;
    let described = sagemaker
        .describe_model_package()
        .model_package_name(package)
        .send()
        .await
        .map_err(|e| aws_error("DescribeModelPackage", &e, FIX))?;
    let status = described.model_approval_status();
    match (status, settings.stage) {
        (Some(ModelApprovalStatus::Approved), _) => Ok(()),
        (Some(ModelApprovalStatus::PendingManualApproval), Stage::Staging) => Ok(()),
        (Some(ModelApprovalStatus::PendingManualApproval), Stage::Production)
            if settings.approve_package =>
        {
            sagemaker
                .update_model_package()
                .model_package_arn(package)
                .model_approval_status(ModelApprovalStatus::Approved)
                .approval_description(format!(
                    "Approved through the Approval action of pipeline execution {}",
                    settings.execution_id
                ))
                .send()
                .await
                .map_err(|e| aws_error("UpdateModelPackage", &e, FIX))?;
            info!(package, "approved with the run's Approval action");
            Ok(())
        }
        (status, stage) => Err(JobError::failed(format!(
            "The model package {package} is {}, not Approved: the pipeline deploys only approved \
             models to {}. Approve it in the SageMaker Model Registry (or with `aws sagemaker \
             update-model-package --model-package-arn {package} --model-approval-status \
             Approved`), then retry the stage",
            status.map_or("without a status", ModelApprovalStatus::as_str),
            stage.as_str().to_lowercase()
        ))),
    }
}

async fn create_model(context: &Context<'_>) -> Result<(), JobError> {
    let settings = context.settings;
    let created = context
        .clients
        .sagemaker
        .create_model()
        .model_name(&context.name)
        .primary_container(
            ContainerDefinition::builder()
                .model_package_name(&settings.model_package_arn)
                .build(),
        )
        .execution_role_arn(&settings.role_arn)
        .set_tags(Some(tags(settings)))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(already_exists) => Ok(()),
        Err(e) => Err(aws_error("CreateModel", &e, FIX)),
    }
}

async fn create_config(context: &Context<'_>) -> Result<(), JobError> {
    let variant = variant(context);
    let mut production_variant = ProductionVariant::builder()
        .variant_name(VARIANT)
        .model_name(&context.name)
        .set_container_startup_health_check_timeout_in_seconds(
            variant.container_startup_health_check_timeout_in_seconds,
        )
        .set_model_data_download_timeout_in_seconds(variant.model_data_download_timeout_in_seconds);
    match variant.serverless() {
        Some(serverless) => {
            production_variant = production_variant.serverless_config(
                ProductionVariantServerlessConfig::builder()
                    .memory_size_in_mb(serverless.memory_size_in_mb)
                    .max_concurrency(serverless.max_concurrency)
                    .set_provisioned_concurrency(serverless.provisioned_concurrency)
                    .build(),
            );
        }
        None => {
            production_variant = production_variant
                .set_instance_type(variant.instance_type.as_deref().map(Into::into))
                .initial_instance_count(variant.instances());
        }
    }
    let production_variant = production_variant.build();
    let mut request = context
        .clients
        .sagemaker
        .create_endpoint_config()
        .endpoint_config_name(&context.name)
        .production_variants(production_variant)
        .set_tags(Some(tags(context.settings)));
    if context.settings.stage == Stage::Staging
        && let Some(capture) = &context.deployment.staging.data_capture_config
    {
        request = request.data_capture_config(
            aws_sdk_sagemaker::types::DataCaptureConfig::try_from(capture.clone())
                .map_err(|e| JobError::config(format!("DataCaptureConfig: {e}")))?,
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(already_exists) => Ok(()),
        Err(e) => Err(aws_error("CreateEndpointConfig", &e, FIX)),
    }
}

async fn create_endpoint(context: &Context<'_>) -> Result<(), JobError> {
    let created = context
        .clients
        .sagemaker
        .create_endpoint()
        .endpoint_name(&context.settings.endpoint_name)
        .endpoint_config_name(&context.name)
        .set_tags(Some(tags(context.settings)))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(already_exists) => Ok(()),
        Err(e) => Err(aws_error("CreateEndpoint", &e, FIX)),
    }
}

async fn update_endpoint(context: &Context<'_>, alarms: &[String]) -> Result<(), JobError> {
    let mut request = context
        .clients
        .sagemaker
        .update_endpoint()
        .endpoint_name(&context.settings.endpoint_name)
        .endpoint_config_name(&context.name);
    let configured = context
        .deployment
        .production
        .as_ref()
        .and_then(|p| p.deployment_config.clone())
        .filter(|_| context.settings.stage == Stage::Production);
    if let Some(mut deployment) = configured {
        // The stack's alarms join the file's.
        let named = alarms
            .iter()
            .map(|a| sagemaker_requests::Alarm {
                alarm_name: Some(a.clone()),
            })
            .collect();
        deployment.auto_rollback_configuration = Some(sagemaker_requests::AutoRollbackConfig {
            alarms: Some(named),
        });
        request = request.deployment_config(
            aws_sdk_sagemaker::types::DeploymentConfig::try_from(deployment)
                .map_err(|e| JobError::config(format!("DeploymentConfig: {e}")))?,
        );
    }
    request
        .send()
        .await
        .map_err(|e| aws_error("UpdateEndpoint", &e, FIX))?;
    Ok(())
}

async fn describe(
    sagemaker: &SageMaker,
    endpoint: &str,
) -> Result<Option<DescribeEndpointOutput>, JobError> {
    match sagemaker
        .describe_endpoint()
        .endpoint_name(endpoint)
        .send()
        .await
    {
        Ok(output) => Ok(Some(output)),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.message()
                    .is_some_and(|m| m.contains("Could not find endpoint"))
            }) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error("DescribeEndpoint", &e, FIX)),
    }
}

async fn follow(context: &Context<'_>, state: State, bodies: &Bodies) -> Result<Outcome, JobError> {
    let settings = context.settings;
    let endpoint = &settings.endpoint_name;
    let elapsed = Duration::from_secs(seconds(context.now).saturating_sub(state.started));
    let described = describe(&context.clients.sagemaker, endpoint).await?;
    if state.phase == Phase::Recreating {
        return match described {
            None => {
                create_endpoint(context).await?;
                let next = State {
                    phase: Phase::Deploying,
                    ..state
                };
                Ok(in_progress(
                    &next,
                    format!("Endpoint {endpoint}: CreateEndpoint sent"),
                ))
            }
            Some(_) => Ok(in_progress(
                &state,
                format!("Endpoint {endpoint}: deleting the Failed endpoint"),
            )),
        };
    }
    let Some(described) = described else {
        return Err(JobError::failed(format!(
            "Endpoint {endpoint} disappeared during the deployment (deleted by someone or \
             something else); retry the stage to create it"
        )));
    };
    let observed = Observed::from_output(&described);
    match status::decide(endpoint, &observed, &context.name, elapsed) {
        Decision::Deployed => deployed(context, &state, bodies).await,
        Decision::Wait(summary) if elapsed < WINDOW => Ok(in_progress(&state, summary)),
        Decision::Wait(summary) => Err(JobError::failed(format!(
            "{summary}: still not done after {}, near CodePipeline's 24-hour limit on an \
             action. Check the endpoint in the SageMaker console",
            status::format_elapsed(elapsed)
        ))),
        Decision::RolledBack(reason) => {
            let alarms = rollback_alarms(context);
            let fired: Vec<String> = alarm_states(&context.clients.cloudwatch, &alarms)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, in_alarm)| *in_alarm)
                .map(|(name, _)| name)
                .collect();
            let fired = if fired.is_empty() {
                String::new()
            } else {
                format!(" Alarms in ALARM: {}.", fired.join(", "))
            };
            Err(JobError::failed(format!(
                "The deployment of {} was rolled back. {reason}{fired}",
                context.name
            )))
        }
        Decision::Failed(reason) => Err(JobError::failed(reason)),
    }
}

/// The endpoint serves the new config: the smoke test (staging), then the old configs go.
async fn deployed(
    context: &Context<'_>,
    state: &State,
    bodies: &Bodies,
) -> Result<Outcome, JobError> {
    let settings = context.settings;
    let endpoint = &settings.endpoint_name;
    let mut summary = format!("Endpoint {endpoint} is InService on {}", context.name);
    if settings.stage == Stage::Staging
        && let Some(smoke) = &context.deployment.smoke_test
    {
        let requests: Vec<smoke::Request> = smoke
            .requests
            .iter()
            .map(|r| smoke::Request {
                file: r.body.clone(),
                body: bodies.get(&r.body).cloned().unwrap_or_default(),
                content_type: r.content_type.clone(),
                accept: r.accept.clone(),
            })
            .collect();
        let passed = smoke::run(&context.clients.runtime, endpoint, smoke, &requests)
            .await
            .map_err(|problems| {
                JobError::failed(format!(
                    "The smoke test of staging endpoint {endpoint} failed, so the model goes no \
                     further:\n{problems}"
                ))
            })?;
        summary.push_str(&format!("; {}", passed.line));
    }
    let removed = clean_up(context, state.previous.as_deref()).await;
    if removed > 0 {
        summary.push_str(&format!(
            "; {removed} old endpoint config(s) and model(s) removed"
        ));
    }
    info!(endpoint, config = context.name, "deployed");
    Ok(Outcome::succeeded()
        .variable("DeployStatus", "Deployed")
        .variable("EndpointName", endpoint)
        .variable("EndpointConfigName", &context.name)
        .variable("ModelName", &context.name)
        .summary(summary))
}

/// Deletes this endpoint's configs and models but the current and the previous one (kept for
/// a manual rollback). Best effort: what cannot be deleted stays, and is said in the log.
async fn clean_up(context: &Context<'_>, previous: Option<&str>) -> usize {
    let sagemaker = &context.clients.sagemaker;
    let prefix = format!("{}-", context.settings.endpoint_name);
    let listed = sagemaker
        .list_endpoint_configs()
        .name_contains(&prefix)
        .sort_by(EndpointConfigSortKey::CreationTime)
        .sort_order(OrderKey::Descending)
        .max_results(100)
        .send()
        .await;
    let configs = match listed {
        Ok(listed) => listed.endpoint_configs().to_vec(),
        Err(e) => {
            warn!(error = %aws_sdk_sagemaker::error::DisplayErrorContext(e), "cannot list endpoint configs");
            return 0;
        }
    };
    let mut removed = 0;
    for config in configs {
        let name = config.endpoint_config_name().unwrap_or_default();
        if !name.starts_with(&prefix) || name == context.name || Some(name) == previous {
            continue;
        }
        let config_gone = sagemaker
            .delete_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await;
        let model_gone = sagemaker.delete_model().model_name(name).send().await;
        match (config_gone, model_gone) {
            (Ok(_), Ok(_)) => removed += 1,
            (config, model) => warn!(
                name,
                config = config.is_ok(),
                model = model.is_ok(),
                "an old endpoint config or model could not be deleted"
            ),
        }
    }
    removed
}
