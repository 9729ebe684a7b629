//! evaluate: the Evaluate action of the pipeline.

pub mod gate;
pub mod handler;
pub mod metadata;
pub mod promote;
pub mod registry;
pub mod serving;
pub mod settings;
pub mod verdict;

pub use handler::handle;
