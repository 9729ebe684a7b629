//! JSON configuration files read with diagnostics a person can act on.
//!
//! A [`Document`] keeps the text, its `serde_json::Value` and where every value starts, so any
//! error, from invalid JSON to a constraint found later, is reported as
//! `file:line:column: at JSON.path: what is wrong. Hint: what to write.`
//! Nothing here knows what the file configures.

mod diagnostic;
mod document;
mod path;
mod serde_errors;
mod spans;
mod syntax;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use document::Document;
pub use path::{JsonPath, Segment};
