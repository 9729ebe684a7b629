//! notify: one notification per pipeline execution attempt that reaches a final state.
//!
//! EventBridge invokes the function with the "CodePipeline Pipeline Execution State Change"
//! event. It reads the execution from CodePipeline ([`gather`]), renders a subject, an email,
//! and a JSON document ([`render`], pure), claims the notification in S3 so that duplicate
//! deliveries send nothing ([`marker`]), and publishes to SNS ([`publish`]).

pub mod event;
pub mod execution;
pub mod gather;
pub mod handler;
pub mod links;
pub mod marker;
pub mod publish;
pub mod render;
pub mod settings;
pub mod sweep;
pub mod text;

pub use handler::{Notifier, NotifyError, Report, handle};
pub use settings::Settings;
