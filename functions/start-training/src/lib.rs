//! start-training: the Train action of the pipeline.

pub mod handler;

pub use handler::handle;
