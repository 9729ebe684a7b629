//! A local CodePipeline: runs the pipeline that template.yaml defines on one machine.
//!
//! [`Services`] starts the local AWS (moto for S3, SNS and the Model Registry; the local
//! SageMaker; this crate's CodePipeline API). [`LocalPipeline::run`] then runs one execution:
//!
//! - **Source**: the model repository's working tree, zipped into the artifact bucket (CODE_ZIP),
//!   with the variables of a CodeConnections source (CommitId: the commit of a clean git
//!   checkout, else a hash of the tree).
//! - **Build**: the buildspec through the local CodeBuild (`local-codebuild`), with the project's
//!   and the action's variables; exported variables become the action's output variables.
//! - **Lambda invoke actions**: the functions' own binaries behind the Lambda Runtime API
//!   (`lambda-host`), one job event per invocation with artifact credentials, the job's result
//!   read from what the function reported to the local API (PutJobSuccessResult /
//!   PutJobFailureResult); a continuation token is followed after `continuation_delay`.
//! - **Manual approval**: granted at once.
//! - At the end, EventBridge's state-change event goes to each function whose rule matches it;
//!   that function reads the execution back (GetPipelineExecution, ListActionExecutions).
//! - StopPipelineExecution (on [`Services::codepipeline_endpoint`]): the execution is Stopping;
//!   no further action starts; with `abandon`, the in-progress action is Abandoned at once (its
//!   job takes no result any more), else it runs to its end; then the execution is Stopped and
//!   the STOPPED event goes out.
//!
//! `#{Namespace.Variable}` references are resolved before each action, as CodePipeline does. The
//! functions run unchanged: only the standard `AWS_ENDPOINT_URL_<SERVICE>` variables differ.
//! Not emulated: parallel actions (actions of a stage run one after the other, by run order),
//! retries of failed stages, superseding executions, output artifacts of builds.

mod alarms;
mod api;
mod build;
mod events;
mod run;
mod services;
mod source;
mod stop;
mod store;
mod variables;

pub use api::{ApiServer, SharedStore};
pub use events::{matches as event_pattern_matches, rfc3339};
pub use run::{
    ActionReport, ExecutionReport, LocalPipeline, Progress, RunError, RunSettings,
    notification_topics,
};
pub use services::{ACCOUNT_ID, Services, ServicesError, ServicesSettings, s3_client, sdk_config};
pub use source::{Snapshot, SourceError, repository_name, snapshot};
pub use store::{
    ActionError, ActionExecution, ActionStatus, ArtifactLocation, Execution, ExecutionStatus, Job,
    JobResult, Revision, StopRequest, Store,
};
pub use variables::{VariableError, Variables};
