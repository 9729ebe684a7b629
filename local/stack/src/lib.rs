//! template.yaml as the local run reads it: parameters, conditions and intrinsic functions
//! resolved; the pipeline, functions, build projects and event rules it defines.
//!
//! The local run must run *the pipeline that template.yaml defines*, so it does not keep a
//! copy of it: [`Template::load`] reads the SAM/CloudFormation template and
//! [`Template::resolve`] turns it, for a stack name, region, account and parameter values,
//! into a [`Stack`]: the [`Pipeline`] (stages, actions, their configuration), the Lambda
//! [`Function`]s (name, ARN, cargo binary, timeout, environment), the CodeBuild
//! [`BuildProject`]s and the EventBridge [`EventRule`]s.
//!
//! ```no_run
//! # use std::{collections::BTreeMap, path::Path};
//! # use local_stack::{StackInputs, Template};
//! let template = Template::load(Path::new("template.yaml"))?;
//! let stack = template.resolve(&StackInputs {
//!     stack_name: "sagemaker-cicd".into(),
//!     region: "us-east-1".into(),
//!     account_id: "123456789012".into(),
//!     parameters: BTreeMap::from([("NotificationEmail".into(), "me@example.com".into())]),
//! })?;
//! for stage in &stack.pipeline.stages {
//!     println!("{}: {} action(s)", stage.name, stage.actions.len());
//! }
//! # Ok::<(), local_stack::StackError>(())
//! ```
//!
//! # What is supported
//!
//! - YAML with CloudFormation's short-form tags (`!Sub`, `!Ref`, `!GetAtt`, `!If`, `!Join`,
//!   `!Split`, `!Select`, `!Equals`, `!And`, `!Or`, `!Not`, `!Condition`, `!FindInMap`) and
//!   the long forms (`Fn::Sub:` keys); anchors and aliases.
//! - `Ref` to parameters, resources and the pseudo parameters `AWS::StackName`,
//!   `AWS::Region`, `AWS::AccountId`, `AWS::Partition` (from the region: `aws`, `aws-cn`,
//!   `aws-us-gov`), `AWS::URLSuffix`, `AWS::StackId`, `AWS::NotificationARNs` and
//!   `AWS::NoValue`, which leaves out the mapping key or list item it is the value of.
//! - `Fn::Sub` in both forms (`${Param}`, `${Resource}`, `${Resource.Attr}`, `${AWS::...}`,
//!   `${!Literal}`); CodePipeline's `#{Namespace.Variable}` passes through untouched.
//! - `Fn::GetAtt` (`A.B` and `[A, B]`), `Fn::If`, `Fn::Join`, `Fn::Split`, `Fn::Select`,
//!   `Fn::FindInMap`; the Conditions section with `Fn::Equals`, `Fn::And`, `Fn::Or`,
//!   `Fn::Not` and `Condition`; resources' `Condition`.
//! - Parameters of type `String`, `Number`, `List<Number>`, `CommaDelimitedList` and the
//!   `AWS::...` types (as strings), checked against `AllowedValues`, `AllowedPattern`,
//!   `MinLength`/`MaxLength` and `MinValue`/`MaxValue`.
//! - SAM's `Globals.Function`, merged into every `AWS::Serverless::Function` as SAM does.
//! - Physical names, `Ref` and `Fn::GetAtt` of: Lambda and SAM functions, IAM roles, S3
//!   buckets, SNS topics, SQS queues, KMS keys and aliases, EventBridge rules, CodeBuild
//!   projects, CodePipeline pipelines, CodeConnections (and CodeStar) connections, ECR
//!   repositories and CloudWatch Logs log groups. An explicit name property wins
//!   (`FunctionName`, `BucketName`, `Name`, ...); otherwise the name is `<stack>-<LogicalId>`
//!   (lowercase for S3 and ECR, cut to the service's length with a hash to stay unique), and
//!   ids that AWS would generate (a KMS key id, a connection id) are derived from the stack,
//!   region, account and logical id: the same inputs always give the same stack.
//!
//! Resolution is lazy: only the pipeline, the functions, the build projects, the event rules
//! and what they refer to are resolved, so something this crate does not support elsewhere in
//! the template (an IAM policy, an `Fn::ImportValue`, an unknown resource type) matters only
//! once the local run needs it.
//!
//! # What is not
//!
//! - `Fn::ImportValue`, `Fn::GetAZs`, `Fn::Base64`, `Fn::Cidr`, the `AWS::LanguageExtensions`
//!   functions, `Rules`, `Outputs`, nested stacks and macros other than the SAM transform.
//! - SAM's generated resources (`<Function>Role`, `Events:` of functions, ...): the template
//!   must declare what the local run uses.
//! - `AWS::SSM::Parameter::Value<...>` parameters (an error if one is used).
//! - CodePipeline variables (`#{...}`): the local pipeline resolves them at run time.
//!
//! Every error ([`StackError`]) names the template file, the path inside it
//! (`Resources.Pipeline.Properties.Stages[2].Actions[0].Configuration.UserParameters`), the
//! line where known, and what to do. No input makes this crate panic.

mod error;
mod resolve;
mod stack;
mod sub;
mod template;
mod yaml;

pub use error::{Location, StackError};
pub use stack::{
    Action, BuildProject, EventRule, Function, MetricAlarm, Pipeline, Stack, StackInputs, Stage,
};
pub use template::{ParameterInfo, Template};
