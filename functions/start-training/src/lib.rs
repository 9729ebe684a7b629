//! start-training: the Train action of the pipeline.

pub mod handler;
pub mod naming;
pub mod placeholders;
pub mod request;
pub mod settings;

pub use handler::handle;
