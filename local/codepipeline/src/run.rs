//! One pipeline execution, stage by stage, as CodePipeline runs it: Source (the model repository
//! as a zip in the artifact bucket), Build (the buildspec through the local CodeBuild), Lambda
//! invoke actions (the functions' own binaries behind the Lambda Runtime API, one job event per
//! invocation, continuation tokens followed), Approval (granted locally), then the EventBridge
//! event to the functions whose rule matches the final state.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use lambda_host::{FunctionSpec, LambdaHost};
use local_stack::{Action, Function, Stack};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::alarms;
use crate::api::lock;
use crate::events::{self, ArtifactCredentials, JobEvent, StateChange};
use crate::services::{ACCOUNT_ID, Services};
use crate::source::{self, Snapshot};
use crate::stop::StopSignal;
use crate::store::{
    ActionError, ActionExecution, ActionStatus, ArtifactLocation, Execution, ExecutionStatus, Job,
    JobResult, Revision,
};
use crate::variables::Variables;

/// CodePipeline's limit for one action.
const ACTION_WINDOW: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub struct RunSettings {
    pub stack: Stack,
    /// Where the functions' binaries are (`target/release` or `target/debug`).
    pub functions_dir: PathBuf,
    /// Scratch space for builds.
    pub work_dir: PathBuf,
    /// How long the pipeline waits before it invokes an action again with its continuation
    /// token (CodePipeline: about a minute; locally a second keeps the demo lively).
    pub continuation_delay: Duration,
    /// Folders put first on the build's PATH (the venv with `aws` and `python3`).
    pub build_path: Vec<PathBuf>,
    /// Actions whose first job is delivered twice (Lambda's at-least-once delivery), for tests.
    pub duplicate_deliveries: BTreeSet<String>,
    /// Bound of one action (CodePipeline's is 24 hours).
    pub action_window: Duration,
}

impl RunSettings {
    pub fn new(stack: Stack, functions_dir: PathBuf, work_dir: PathBuf) -> Self {
        RunSettings {
            stack,
            functions_dir,
            work_dir,
            continuation_delay: Duration::from_secs(1),
            build_path: Vec::new(),
            duplicate_deliveries: BTreeSet::new(),
            action_window: ACTION_WINDOW,
        }
    }
}

/// What happens, as it happens (for a progress display).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum Progress {
    Started {
        pipeline: String,
        execution_id: String,
        commit_id: String,
        stages: Vec<(String, Vec<String>)>,
    },
    ActionStarted {
        stage: String,
        action: String,
    },
    ActionUpdated {
        stage: String,
        action: String,
        summary: String,
        percent: Option<i32>,
    },
    ActionLog {
        stage: String,
        action: String,
        line: String,
    },
    ActionFinished {
        stage: String,
        action: String,
        status: String,
        message: Option<String>,
    },
    Finished {
        status: String,
    },
    Notified {
        function: String,
        outcome: String,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReport {
    pub stage: String,
    pub action: String,
    pub status: String,
    pub seconds: f64,
    /// Function invocations (Lambda actions; a duplicate delivery counts once).
    pub invocations: u32,
    /// Results the local CodePipeline refused because the job already had one (what a
    /// duplicate delivery that reports again gets: InvalidJobStateException).
    pub refused_results: u32,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionReport {
    pub pipeline: String,
    pub execution_id: String,
    pub status: String,
    pub commit_id: String,
    pub seconds: f64,
    pub actions: Vec<ActionReport>,
    /// What the notification functions answered (or why they could not be run).
    pub notifications: Vec<String>,
}

impl ExecutionReport {
    pub fn succeeded(&self) -> bool {
        self.status == ExecutionStatus::Succeeded.as_str()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error("cannot prepare the local artifact store: {0}")]
    Store(String),
}

/// The SNS topics the stack's functions publish to (the topic ARNs in their environment).
pub fn notification_topics(stack: &Stack) -> BTreeSet<&str> {
    stack
        .functions
        .values()
        .flat_map(|f| f.environment.values())
        .filter(|v| v.starts_with("arn:aws:sns:"))
        .map(String::as_str)
        .collect()
}

/// Runs executions of one stack's pipeline against [`Services`]; keeps each function's
/// execution environment warm between invocations, as Lambda does.
pub struct LocalPipeline<'a> {
    settings: RunSettings,
    services: &'a Services,
    s3: aws_sdk_s3::Client,
    hosts: tokio::sync::Mutex<HashMap<String, Arc<LambdaHost>>>,
}

/// How an action ended.
pub(crate) struct Outcome {
    status: ActionStatus,
    error: Option<ActionError>,
    variables: BTreeMap<String, String>,
    summary: Option<String>,
    external_id: Option<String>,
}

impl Outcome {
    pub(crate) fn succeeded(variables: BTreeMap<String, String>, summary: Option<String>) -> Self {
        Outcome {
            status: ActionStatus::Succeeded,
            error: None,
            variables,
            summary,
            external_id: None,
        }
    }

    pub(crate) fn abandoned() -> Self {
        Outcome {
            status: ActionStatus::Abandoned,
            ..Outcome::succeeded(BTreeMap::new(), None)
        }
    }

    pub(crate) fn failed(code: &str, message: impl Into<String>) -> Self {
        Outcome {
            status: ActionStatus::Failed,
            error: Some(ActionError {
                code: code.to_owned(),
                message: message.into(),
            }),
            variables: BTreeMap::new(),
            summary: None,
            external_id: None,
        }
    }
}

/// The context of one running action.
pub(crate) struct Running<'r> {
    pub(crate) execution_id: &'r str,
    pub(crate) stage: &'r str,
    pub(crate) action: &'r Action,
    pub(crate) configuration: BTreeMap<String, String>,
    pub(crate) inputs: Vec<ArtifactLocation>,
    pub(crate) progress: &'r UnboundedSender<Progress>,
    /// Counted as they happen, so that an abandoned action still reports them.
    pub(crate) invocations: AtomicU32,
    pub(crate) refused_results: AtomicU32,
}

impl Running<'_> {
    fn send(&self, progress: Progress) {
        let _ = self.progress.send(progress);
    }
}

impl<'a> LocalPipeline<'a> {
    pub fn new(settings: RunSettings, services: &'a Services) -> Self {
        let s3 = crate::services::s3_client(&services.sdk_config());
        LocalPipeline {
            settings,
            services,
            s3,
            hosts: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Runs one execution on the working tree of `model_repo` (as if it had been pushed) to its
    /// end and returns what happened. Errors are only those that prevent an execution from
    /// starting; every failure after that is the execution's.
    pub async fn run(
        &self,
        model_repo: &Path,
        progress: &UnboundedSender<Progress>,
    ) -> Result<ExecutionReport, RunError> {
        let snapshot = source::snapshot(model_repo)?;
        self.prepare_store().await?;
        let stack = &self.settings.stack;
        let pipeline = &stack.pipeline;
        let execution_id = uuid::Uuid::new_v4().to_string();
        let started = SystemTime::now();
        let clock = Instant::now();
        let stop = self.register(Execution {
            id: execution_id.clone(),
            pipeline: pipeline.name.clone(),
            region: stack.region.clone(),
            status: ExecutionStatus::InProgress,
            status_summary: None,
            started,
            updated: started,
            revision: Revision {
                artifact: String::new(),
                revision_id: snapshot.commit_id.clone(),
                message: snapshot.commit_message.clone(),
                created: Some(snapshot.author_date),
            },
            actions: Vec::new(),
        });
        let _ = progress.send(Progress::Started {
            pipeline: pipeline.name.clone(),
            execution_id: execution_id.clone(),
            commit_id: snapshot.commit_id.clone(),
            stages: pipeline
                .stages
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        s.actions.iter().map(|a| a.name.clone()).collect(),
                    )
                })
                .collect(),
        });

        let mut variables = Variables::new(&execution_id);
        let mut artifacts: BTreeMap<String, ArtifactLocation> = BTreeMap::new();
        let mut status = ExecutionStatus::Succeeded;
        let mut reports = Vec::new();
        'stages: for stage in &pipeline.stages {
            let mut actions: Vec<&Action> = stage.actions.iter().collect();
            actions.sort_by_key(|a| a.run_order);
            for action in actions {
                if stop.requested() {
                    break 'stages;
                }
                let report = self
                    .run_action(
                        &execution_id,
                        &stage.name,
                        action,
                        &snapshot,
                        &mut variables,
                        &mut artifacts,
                        progress,
                        &stop,
                    )
                    .await;
                let failed = report.status != ActionStatus::Succeeded.as_str();
                reports.push(report);
                if failed {
                    status = ExecutionStatus::Failed;
                    break 'stages;
                }
            }
        }

        let ended = SystemTime::now();
        let status = self.finish(&execution_id, status, ended);
        let _ = progress.send(Progress::Finished {
            status: status.as_str().to_owned(),
        });
        let notifications = self
            .notify(&execution_id, status, started, ended, progress)
            .await;
        Ok(ExecutionReport {
            pipeline: pipeline.name.clone(),
            execution_id,
            status: status.as_str().to_owned(),
            commit_id: snapshot.commit_id,
            seconds: clock.elapsed().as_secs_f64(),
            actions: reports,
            notifications,
        })
    }

    /// Records the new execution with its stop channel, under one lock: a stop request can
    /// find the execution only once the run listens.
    fn register(&self, execution: Execution) -> StopSignal {
        let mut store = lock(&self.services.store);
        let stop = StopSignal::listen(&mut store, &execution.id);
        store.executions.insert(execution.id.clone(), execution);
        stop
    }

    /// Writes the execution's final status: Stopped when a stop was requested. Under the store's
    /// lock, so a stop request either lands before it or finds the execution no longer stoppable.
    fn finish(
        &self,
        execution_id: &str,
        status: ExecutionStatus,
        ended: SystemTime,
    ) -> ExecutionStatus {
        let mut store = lock(&self.services.store);
        let stopped = store
            .stops
            .remove(execution_id)
            .is_some_and(|s| s.borrow().is_some());
        let status = if stopped {
            ExecutionStatus::Stopped
        } else {
            status
        };
        if let Some(e) = store.executions.get_mut(execution_id) {
            e.status = status;
            e.updated = ended;
        }
        status
    }

    /// The artifact bucket, the SNS topics the functions publish to (resources of the stack
    /// that the functions' environment names), and the stack's CloudWatch alarms (the Deploy
    /// actions' rollback alarms).
    async fn prepare_store(&self) -> Result<(), RunError> {
        self.put_alarms().await?;
        let bucket = &self.settings.stack.pipeline.artifact_bucket;
        if self.s3.head_bucket().bucket(bucket).send().await.is_err() {
            self.s3
                .create_bucket()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| {
                    RunError::Store(format!(
                        "CreateBucket {bucket}: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    ))
                })?;
        }
        let sns = aws_sdk_sns::Client::new(&self.services.sdk_config());
        let topics = notification_topics(&self.settings.stack);
        let email = self.settings.stack.parameters.get("NotificationEmail");
        for arn in topics {
            let name = arn.rsplit(':').next().unwrap_or(arn);
            let created = sns.create_topic().name(name).send().await.map_err(|e| {
                RunError::Store(format!(
                    "CreateTopic {name}: {}",
                    aws_sdk_sns::error::DisplayErrorContext(e)
                ))
            })?;
            if created.topic_arn() != Some(arn) {
                return Err(RunError::Store(format!(
                    "the local SNS named the topic {name} {:?}, not {arn} as the template does",
                    created.topic_arn()
                )));
            }
            if let Some(email) = email {
                let _ = sns
                    .subscribe()
                    .topic_arn(arn)
                    .protocol("email")
                    .endpoint(email)
                    .send()
                    .await;
            }
        }
        Ok(())
    }

    /// Each alarm of the stack, created (or updated) in the local CloudWatch.
    async fn put_alarms(&self) -> Result<(), RunError> {
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&self.services.sdk_config());
        for alarm in self.settings.stack.alarms.values() {
            let request = alarms::put_metric_alarm(&cloudwatch, alarm).map_err(|e| {
                RunError::Store(format!(
                    "the alarm {} of the template: {e}",
                    alarm.logical_id
                ))
            })?;
            request.send().await.map_err(|e| {
                RunError::Store(format!(
                    "PutMetricAlarm {}: {}",
                    alarm.name,
                    aws_sdk_cloudwatch::error::DisplayErrorContext(e)
                ))
            })?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_action(
        &self,
        execution_id: &str,
        stage: &str,
        action: &Action,
        snapshot: &Snapshot,
        variables: &mut Variables,
        artifacts: &mut BTreeMap<String, ArtifactLocation>,
        progress: &UnboundedSender<Progress>,
        stop: &StopSignal,
    ) -> ActionReport {
        let started = SystemTime::now();
        let clock = Instant::now();
        let action_id = uuid::Uuid::new_v4().to_string();
        let _ = progress.send(Progress::ActionStarted {
            stage: stage.to_owned(),
            action: action.name.clone(),
        });
        let outputs: Vec<ArtifactLocation> = action
            .output_artifacts
            .iter()
            .map(|name| self.artifact_location(name))
            .collect();
        let inputs: Vec<ArtifactLocation> = action
            .input_artifacts
            .iter()
            .filter_map(|name| artifacts.get(name).cloned())
            .collect();
        let resolved: Result<BTreeMap<String, String>, _> = action
            .configuration
            .iter()
            .map(|(k, v)| variables.resolve(v).map(|v| (k.clone(), v)))
            .collect();
        let record = ActionExecution {
            id: action_id.clone(),
            stage: stage.to_owned(),
            action: action.name.clone(),
            category: action.category.clone(),
            owner: action.owner.clone(),
            provider: action.provider.clone(),
            version: action.version.clone(),
            namespace: action.namespace.clone(),
            configuration: action.configuration.clone(),
            resolved_configuration: resolved.clone().unwrap_or_default(),
            input_artifacts: inputs.clone(),
            output_artifacts: outputs.clone(),
            started,
            updated: started,
            status: ActionStatus::InProgress,
            summary: None,
            percent: None,
            external_id: None,
            error: None,
            output_variables: BTreeMap::new(),
        };
        self.with_execution(execution_id, |e| e.actions.push(record));

        let (outcome, invocations, refused_results) = match resolved {
            Err(e) => (Outcome::failed("ConfigurationError", e.to_string()), 0, 0),
            Ok(configuration) => {
                let running = Running {
                    execution_id,
                    stage,
                    action,
                    configuration,
                    inputs,
                    progress,
                    invocations: AtomicU32::new(0),
                    refused_results: AtomicU32::new(0),
                };
                // The abandon first: an action that is ready again (its delay over) must not
                // start another invocation once it is abandoned.
                let outcome = tokio::select! {
                    biased;
                    () = stop.abandoned() => self.abandon(execution_id),
                    outcome = self.perform(&running, snapshot, &outputs, &action_id) => outcome,
                };
                let invocations = running.invocations.into_inner();
                (outcome, invocations, running.refused_results.into_inner())
            }
        };
        if outcome.status == ActionStatus::Succeeded {
            if let Some(namespace) = &action.namespace {
                variables.set(namespace, outcome.variables.clone());
            }
            for output in &outputs {
                artifacts.insert(output.name.clone(), output.clone());
            }
        }
        let updated = SystemTime::now();
        // The action's latest summary: the final one, else the last one a token came with.
        let mut summary = None;
        self.with_action(execution_id, &action_id, |a| {
            a.status = outcome.status;
            a.updated = updated;
            a.error = outcome.error.clone();
            a.output_variables = outcome.variables.clone();
            if outcome.summary.is_some() {
                a.summary = outcome.summary.clone();
            }
            if outcome.external_id.is_some() {
                a.external_id = outcome.external_id.clone();
            }
            summary = a.summary.clone();
        });
        let _ = progress.send(Progress::ActionFinished {
            stage: stage.to_owned(),
            action: action.name.clone(),
            status: outcome.status.as_str().to_owned(),
            message: outcome.error.as_ref().map(|e| e.message.clone()),
        });
        ActionReport {
            stage: stage.to_owned(),
            action: action.name.clone(),
            status: outcome.status.as_str().to_owned(),
            seconds: clock.elapsed().as_secs_f64(),
            invocations,
            refused_results,
            summary,
            error: outcome.error.as_ref().map(|e| e.message.clone()),
            error_code: outcome.error.as_ref().map(|e| e.code.clone()),
            variables: outcome.variables,
        }
    }

    /// Runs the action by its category and provider.
    async fn perform(
        &self,
        running: &Running<'_>,
        snapshot: &Snapshot,
        outputs: &[ArtifactLocation],
        action_id: &str,
    ) -> Outcome {
        let action = running.action;
        match (action.category.as_str(), action.provider.as_str()) {
            ("Source", _) => self.source(running, snapshot, outputs).await,
            ("Build", "CodeBuild") => self.build(running, snapshot).await,
            ("Invoke", "Lambda") => self.invoke(running, action_id).await,
            ("Approval", "Manual") => Outcome::succeeded(
                BTreeMap::new(),
                Some("Approved automatically by the local run.".to_owned()),
            ),
            (category, provider) => Outcome::failed(
                "ConfigurationError",
                format!(
                    "the local run cannot run {category} actions of provider {provider} (it \
                     runs Source, CodeBuild, Lambda invoke and manual approval actions)"
                ),
            ),
        }
    }

    /// The in-progress action, abandoned: its jobs take no result any more (the invocation
    /// itself runs on, as a Lambda invocation cannot be stopped; a build is killed).
    fn abandon(&self, execution_id: &str) -> Outcome {
        lock(&self.services.store).abandon_jobs(execution_id);
        Outcome::abandoned()
    }

    /// `<first 20 characters of the pipeline>/<first 20 of the artifact>/<random>`, as
    /// CodePipeline names its artifacts.
    fn artifact_location(&self, name: &str) -> ArtifactLocation {
        let pipeline: String = self.settings.stack.pipeline.name.chars().take(20).collect();
        let artifact: String = name.chars().take(20).collect();
        let random: String = uuid::Uuid::new_v4().simple().to_string()[..7].to_owned();
        ArtifactLocation {
            name: name.to_owned(),
            bucket: self.settings.stack.pipeline.artifact_bucket.clone(),
            key: format!("{pipeline}/{artifact}/{random}"),
        }
    }

    fn with_execution(&self, execution_id: &str, f: impl FnOnce(&mut Execution)) {
        if let Some(e) = lock(&self.services.store).executions.get_mut(execution_id) {
            f(e);
        }
    }

    fn with_action(
        &self,
        execution_id: &str,
        action_id: &str,
        f: impl FnOnce(&mut ActionExecution),
    ) {
        self.with_execution(execution_id, |e| {
            if let Some(a) = e.actions.iter_mut().find(|a| a.id == action_id) {
                f(a);
            }
        });
    }

    async fn source(
        &self,
        run: &Running<'_>,
        snapshot: &Snapshot,
        outputs: &[ArtifactLocation],
    ) -> Outcome {
        for output in outputs {
            let put = self
                .s3
                .put_object()
                .bucket(&output.bucket)
                .key(&output.key)
                .body(snapshot.zip.clone().into())
                .send()
                .await;
            if let Err(e) = put {
                return Outcome::failed(
                    "JobFailed",
                    format!(
                        "cannot upload the source artifact: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    ),
                );
            }
        }
        if let Some(first) = outputs.first() {
            self.with_execution(run.execution_id, |e| {
                e.revision.artifact = first.name.clone()
            });
        }
        let config = &run.configuration;
        let repository = config
            .get("FullRepositoryId")
            .cloned()
            .unwrap_or_else(|| format!("local/{}", snapshot.repository));
        let variables = BTreeMap::from([
            ("CommitId".to_owned(), snapshot.commit_id.clone()),
            ("CommitMessage".to_owned(), snapshot.commit_message.clone()),
            (
                "AuthorDate".to_owned(),
                events::rfc3339(snapshot.author_date),
            ),
            (
                "BranchName".to_owned(),
                config
                    .get("BranchName")
                    .cloned()
                    .unwrap_or_else(|| snapshot.branch.clone()),
            ),
            ("FullRepositoryName".to_owned(), repository),
            (
                "ConnectionArn".to_owned(),
                config.get("ConnectionArn").cloned().unwrap_or_default(),
            ),
        ]);
        let summary = format!(
            "{} files of {} ({})",
            snapshot.files, snapshot.repository, snapshot.commit_message
        );
        Outcome::succeeded(variables, Some(summary))
    }

    async fn build(&self, run: &Running<'_>, snapshot: &Snapshot) -> Outcome {
        crate::build::run(self, run, &snapshot.commit_id).await
    }

    /// The Lambda invoke action: job events until the function reports a final result.
    async fn invoke(&self, run: &Running<'_>, action_id: &str) -> Outcome {
        let stack = &self.settings.stack;
        let Some(name) = run.configuration.get("FunctionName") else {
            return Outcome::failed("ConfigurationError", "the action has no FunctionName");
        };
        let Some(function) = stack.function(name) else {
            return Outcome::failed(
                "ConfigurationError",
                format!("the function {name} is not a function of the template"),
            );
        };
        let host = match self.host(function).await {
            Ok(host) => host,
            Err(message) => return Outcome::failed("ConfigurationError", message),
        };
        let deadline = Instant::now() + self.settings.action_window;
        let duplicate = self
            .settings
            .duplicate_deliveries
            .contains(&run.action.name);
        let mut token: Option<String> = None;
        loop {
            let job_id = uuid::Uuid::new_v4().to_string();
            lock(&self.services.store).jobs.insert(
                job_id.clone(),
                Job {
                    execution_id: run.execution_id.to_owned(),
                    ..Job::default()
                },
            );
            let credentials = ArtifactCredentials::for_job(&job_id);
            let event = JobEvent {
                job_id: &job_id,
                account_id: ACCOUNT_ID,
                configuration: &run.configuration,
                input_artifacts: &run.inputs,
                output_artifacts: &[],
                credentials: &credentials,
                continuation_token: token.as_deref(),
            }
            .to_json();
            let first = run.invocations.load(Ordering::Relaxed) == 0;
            let deliveries = if duplicate && first { 2 } else { 1 };
            let mut problem = None;
            for _ in 0..deliveries {
                problem = deliver(&host, &event).await.or(problem);
            }
            run.invocations.fetch_add(1, Ordering::Relaxed);
            let (result, refused) = lock(&self.services.store)
                .jobs
                .get(&job_id)
                .map_or((None, 0), |j| (j.result.clone(), j.refused));
            run.refused_results.fetch_add(refused, Ordering::Relaxed);
            let outcome = match result {
                None => Outcome::failed(
                    "JobFailed",
                    format!(
                        "The function {} returned without reporting a result for job {job_id} \
                         (CodePipeline waits 20 minutes for one, then fails the action).{}",
                        function.name,
                        problem.map(|p| format!(" {p}")).unwrap_or_default()
                    ),
                ),
                Some(JobResult::Failure {
                    failure_type,
                    message,
                    external_id,
                }) => Outcome {
                    external_id,
                    ..Outcome::failed(&failure_type, message)
                },
                Some(JobResult::Success {
                    continuation_token: Some(next),
                    summary,
                    percent,
                    external_id,
                    ..
                }) => {
                    self.with_action(run.execution_id, action_id, |a| {
                        a.summary = summary.clone();
                        a.percent = percent;
                        a.external_id = external_id.clone();
                        a.updated = SystemTime::now();
                    });
                    if let Some(summary) = summary {
                        run.send(Progress::ActionUpdated {
                            stage: run.stage.to_owned(),
                            action: run.action.name.clone(),
                            summary,
                            percent,
                        });
                    }
                    if Instant::now() + self.settings.continuation_delay > deadline {
                        Outcome::failed(
                            "JobFailed",
                            format!(
                                "The action did not finish within {:?}, CodePipeline's limit for \
                                 an action.",
                                self.settings.action_window
                            ),
                        )
                    } else {
                        tokio::time::sleep(self.settings.continuation_delay).await;
                        token = Some(next);
                        continue;
                    }
                }
                Some(JobResult::Success {
                    continuation_token: None,
                    summary,
                    external_id,
                    output_variables,
                    ..
                }) => Outcome {
                    external_id,
                    ..Outcome::succeeded(output_variables, summary)
                },
            };
            return outcome;
        }
    }

    /// The function's warm execution environment, started on first use.
    async fn host(&self, function: &Function) -> Result<Arc<LambdaHost>, String> {
        let mut hosts = self.hosts.lock().await;
        if let Some(host) = hosts.get(&function.logical_id) {
            return Ok(Arc::clone(host));
        }
        let binary = self.settings.functions_dir.join(&function.binary);
        if !binary.is_file() {
            return Err(format!(
                "the binary of {} is missing: {} (build it: cargo build --release -p {})",
                function.logical_id,
                binary.display(),
                function.binary
            ));
        }
        let mut env: Vec<(String, String)> = function
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        env.extend(self.services.env());
        let host = LambdaHost::start(FunctionSpec {
            binary,
            name: function.name.clone(),
            env,
            timeout: function.timeout,
            memory_mb: function.memory_mb,
        })
        .await
        .map_err(|e| format!("cannot start the function {}: {e}", function.name))?;
        let host = Arc::new(host);
        hosts.insert(function.logical_id.clone(), Arc::clone(&host));
        Ok(host)
    }

    /// EventBridge: the final state to every function targeted by a rule that matches it.
    async fn notify(
        &self,
        execution_id: &str,
        status: ExecutionStatus,
        started: SystemTime,
        ended: SystemTime,
        progress: &UnboundedSender<Progress>,
    ) -> Vec<String> {
        let stack = &self.settings.stack;
        let event_id = uuid::Uuid::new_v4().to_string();
        let event = StateChange {
            event_id: &event_id,
            pipeline: &stack.pipeline.name,
            execution_id,
            state: status.event_state(),
            region: &stack.region,
            account_id: ACCOUNT_ID,
            started,
            time: ended,
        }
        .to_json();
        let mut answers = Vec::new();
        for rule in stack.event_rules.values() {
            if !events::matches(&rule.event_pattern, &event) {
                continue;
            }
            for target in &rule.target_functions {
                let Some(function) = stack.function(target) else {
                    answers.push(format!("{target}: not a function of the template"));
                    continue;
                };
                let answer = match self.host(function).await {
                    Err(message) => message,
                    Ok(host) => match host.invoke(event.clone()).await {
                        Ok(invocation) => match invocation.response {
                            Ok(Value::String(s)) => s,
                            Ok(value) => value.to_string(),
                            Err(e) => format!("failed: {e}"),
                        },
                        Err(e) => format!("failed: {e}"),
                    },
                };
                let _ = progress.send(Progress::Notified {
                    function: function.logical_id.clone(),
                    outcome: answer.clone(),
                });
                answers.push(format!("{}: {answer}", function.logical_id));
            }
        }
        answers
    }

    pub(crate) fn settings(&self) -> &RunSettings {
        &self.settings
    }

    pub(crate) fn services(&self) -> &Services {
        self.services
    }

    pub(crate) fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }
}

/// One delivery of a job event; what went wrong, if anything. Spawned so that when the action is
/// abandoned the invocation runs on to its end, as Lambda's does, instead of being cut off
/// inside the warm environment, which would leave it a half-delivered event.
async fn deliver(host: &Arc<LambdaHost>, event: &Value) -> Option<String> {
    let (host, event) = (Arc::clone(host), event.clone());
    match tokio::spawn(async move { host.invoke(event).await }).await {
        Ok(Ok(invocation)) => invocation
            .response
            .err()
            .map(|e| format!("the invocation failed: {e}")),
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(format!("the invocation did not complete: {e}")),
    }
}
