//! Support for the generated conversions from the mirror types onto aws-sdk-sagemaker's.

use std::collections::HashMap;

use aws_smithy_types::error::operation::BuildError;
use config_file::{JsonPath, Segment};

/// An SDK builder refused a value. The mirror types carry every member the model requires, so
/// this means the SDK requires more than the model it was generated from.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the SageMaker request at {path}: {source}")]
pub struct ConversionError {
    pub path: JsonPath,
    #[source]
    pub source: BuildError,
}

impl ConversionError {
    pub(crate) fn build(source: BuildError) -> Self {
        Self {
            path: JsonPath::root(),
            source,
        }
    }

    /// Puts the error inside a member: paths are completed while the error goes up.
    pub(crate) fn within_key(mut self, key: &str) -> Self {
        self.path.prepend(Segment::Key(key.to_owned()));
        self
    }
}

/// The result of an SDK builder's `build()`, which is the value itself for most shapes and a
/// `Result` for shapes with members the SDK requires; generated code handles both alike.
pub(crate) trait Built<T> {
    fn built(self) -> Result<T, BuildError>;
}

impl<T> Built<T> for Result<T, BuildError> {
    fn built(self) -> Result<T, BuildError> {
        self
    }
}

pub(crate) fn list<T, U>(
    values: Vec<T>,
    convert: impl Fn(T) -> Result<U, ConversionError>,
) -> Result<Vec<U>, ConversionError> {
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            convert(value).map_err(|mut error| {
                error.path.prepend(Segment::Index(index));
                error
            })
        })
        .collect()
}

#[allow(dead_code, reason = "for maps of structures; none is reachable yet")]
pub(crate) fn map<T, U>(
    values: HashMap<String, T>,
    convert: impl Fn(T) -> Result<U, ConversionError>,
) -> Result<HashMap<String, U>, ConversionError> {
    values
        .into_iter()
        .map(|(key, value)| match convert(value) {
            Ok(converted) => Ok((key, converted)),
            Err(error) => Err(error.within_key(&key)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(_: u8) -> Result<u8, ConversionError> {
        Err(ConversionError::build(BuildError::missing_field(
            "name",
            "name is required",
        )))
    }

    #[test]
    fn errors_name_the_path_they_came_from() {
        let error = list(vec![1, 2], |v| if v == 2 { failing(v) } else { Ok(v) })
            .map_err(|e| e.within_key("Channels"));
        let Err(error) = error else {
            panic!("must fail")
        };
        assert_eq!(error.path.to_string(), "Channels[1]");
        assert!(
            error
                .to_string()
                .starts_with("cannot build the SageMaker request at Channels[1]: ")
        );
        let error = map(HashMap::from([("k".to_owned(), 1)]), failing);
        let Err(error) = error else {
            panic!("must fail")
        };
        assert_eq!(error.path.to_string(), "k");
    }
}
