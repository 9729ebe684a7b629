//! train-and-tune: the Tune action of the pipeline.

pub mod handler;
pub mod status;
pub mod token;

pub use handler::handle;
