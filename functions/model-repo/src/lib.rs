//! The model repository contract, shared by every action and by the local tools: what the pipeline
//! passes in (settings), what it fills in (placeholders), what it names and tags, and how each
//! request file of the repository is read and checked.

pub mod naming;
pub mod placeholders;
pub mod settings;
pub mod training;
pub mod tuning;

pub use placeholders::Placeholders;
pub use settings::Settings;
