//! The CodePipeline job protocol that every function of the pipeline speaks.
//!
//! A Lambda invoke action receives one `CodePipeline.job` event and must end it with exactly one
//! `PutJobSuccessResult` or `PutJobFailureResult`; a job left unreported hangs the pipeline for 20
//! minutes. [`run::run_job`] owns that promise: it parses the event, gives the handler a [`Job`],
//! turns every error, timeout and panic into a failure result, and reports once.

pub mod artifact;
pub mod error;
pub mod event;
pub mod limits;
pub mod logging;
pub mod outcome;
pub mod params;
pub mod report;
pub mod run;
pub mod token;
pub mod values;

pub use artifact::{ArtifactLimits, ArtifactStore, SourceArchive};
pub use error::{FailureKind, JobError, aws_error};
pub use event::{ArtifactCredentials, InputArtifact, Job};
pub use outcome::Outcome;
pub use run::run_job;
