//! SageMaker API requests as users write them: the request body in the API's own JSON shape
//! (PascalCase), exactly as the SageMaker API reference documents it.
//!
//! The mirror types in [`generated`] come from the botocore service model (`tools/codegen`):
//! serde accepts every member and rejects unknown ones, `check` applies the model's constraints,
//! and `apply`/`TryFrom` hand every member to aws-sdk-sagemaker. [`training_job`] adds the rules
//! SageMaker enforces beyond the model.

mod check;
mod convert;
pub mod generated;
pub mod training_job;

pub use check::Violation;
pub use convert::ConversionError;
pub use generated::*;
