//! The `sagemaker-cicd` command line: check a model repository offline (`validate`), run the
//! whole pipeline of template.yaml on this machine (`run`), or start the local AWS services alone
//! (`services`).

pub mod local_run;
pub mod progress;
pub mod project;
pub mod validate;

pub use validate::{Outcome, Report, sample_settings, validate};
