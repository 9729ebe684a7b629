//! A function's settings, from two places:
//!
//! - the stack's, decided when the stack deploys (`JobPrefix`, `RoleArn`, `Repository`, ...):
//!   a JSON object in the function's environment variable [`STACK_SETTINGS_ENV`], set by
//!   template.yaml, whose size CloudFormation and Lambda check at deploy time;
//! - the run's: UserParameters, the JSON object of the action's configuration, with the
//!   `#{Namespace.Variable}`s CodePipeline resolves (at most 1000 characters once resolved,
//!   which only run-time values now share).
//!
//! A key may come from one of them only: a run cannot change what the stack decided.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::JobError;
use crate::limits::USER_PARAMETERS_MAX;

/// The environment variable holding the stack's settings of a function.
pub const STACK_SETTINGS_ENV: &str = "PIPELINE_SETTINGS";

const WHERE: &str = "Fix Configuration.UserParameters of this action in template.yaml.";

/// Parses the function's settings: its stack settings (environment) and the action's
/// UserParameters. Every error names the field and says where to fix it.
pub fn parse<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, JobError> {
    parse_with(std::env::var(STACK_SETTINGS_ENV).ok().as_deref(), raw)
}

/// [`parse`] with the stack settings given (`None` or empty: none).
pub fn parse_with<T: DeserializeOwned>(
    stack: Option<&str>,
    raw: Option<&str>,
) -> Result<T, JobError> {
    let raw = raw
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            JobError::config(format!(
                "the action has no UserParameters; it needs a JSON object. {WHERE}"
            ))
        })?;
    if raw.chars().count() > USER_PARAMETERS_MAX {
        return Err(JobError::config(format!(
            "UserParameters has {} characters; CodePipeline allows {USER_PARAMETERS_MAX}. {WHERE}",
            raw.chars().count()
        )));
    }
    let Some(stack) = stack.map(str::trim).filter(|s| !s.is_empty()) else {
        return from_text(raw);
    };
    let stack: Object = serde_json::from_str(stack).map_err(|err| {
        JobError::config(format!(
            "the function's {STACK_SETTINGS_ENV} is not a JSON object of settings without repeated \
             keys: {err}. Fix Environment.Variables.{STACK_SETTINGS_ENV} of the function in template.yaml"
        ))
    })?;
    let Object(mut settings) = from_text::<Object>(raw)?;
    for (key, value) in stack.0 {
        if settings.contains_key(&key) {
            return Err(JobError::config(format!(
                "UserParameters sets `{key}`, which the stack sets already ({STACK_SETTINGS_ENV} of \
                 the function): a run may not change what the stack decided. {WHERE}"
            )));
        }
        settings.insert(key, value);
    }
    let object = Value::Object(settings.into_iter().collect());
    serde_path_to_error::deserialize(object).map_err(|err| {
        let path = err.path().to_string();
        JobError::config(format!(
            "the settings are not valid at `{path}` (UserParameters, or {STACK_SETTINGS_ENV} of the \
             function): {}. Fix them in template.yaml",
            err.into_inner()
        ))
    })
}

/// UserParameters' text into `T`, errors with their path, line and column.
fn from_text<T: DeserializeOwned>(raw: &str) -> Result<T, JobError> {
    let invalid = |at: String, err: serde_json::Error| {
        JobError::config(format!(
            "UserParameters is not valid{at} (line {}, column {}): {err}. {WHERE}",
            err.line(),
            err.column()
        ))
    };
    let mut de = serde_json::Deserializer::from_str(raw);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        invalid(at, err.into_inner())
    })?;
    de.end().map_err(|err| invalid(String::new(), err))?;
    Ok(value)
}

/// A JSON object that refuses a repeated key, as the settings structs do (serde_json's own map
/// keeps the last one, which would let a pasted value replace a setting).
struct Object(BTreeMap<String, Value>);

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = Object;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    if out.contains_key(&key) {
                        return Err(serde::de::Error::custom(format_args!(
                            "duplicate field `{key}`"
                        )));
                    }
                    out.insert(key, value);
                }
                Ok(Object(out))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "PascalCase")]
    struct Settings {
        commit_id: String,
        instance_count: Option<i32>,
    }

    #[test]
    fn parses_settings() {
        let s: Settings =
            parse_with(None, Some(r#"{"CommitId":"abc","InstanceCount":2}"#)).unwrap();
        assert_eq!(
            s,
            Settings {
                commit_id: "abc".into(),
                instance_count: Some(2)
            }
        );
    }

    #[test]
    fn missing_parameters() {
        for raw in [None, Some(""), Some("   ")] {
            let err = parse_with::<Settings>(None, raw).unwrap_err();
            assert!(err.message.contains("no UserParameters"), "{err}");
        }
    }

    #[test]
    fn too_long() {
        let raw = format!(r#"{{"CommitId":"{}"}}"#, "a".repeat(1000));
        assert!(
            parse_with::<Settings>(None, Some(&raw))
                .unwrap_err()
                .message
                .contains("allows 1000")
        );
    }

    const STACK: &str = r#"{"InstanceCount":2}"#;

    #[test]
    fn stack_settings_join_the_run_settings() {
        let s: Settings = parse_with(Some(STACK), Some(r#"{"CommitId":"abc"}"#)).unwrap();
        assert_eq!(s.instance_count, Some(2));
        assert_eq!(s.commit_id, "abc");
        let s: Settings = parse_with(Some("  "), Some(r#"{"CommitId":"abc"}"#)).unwrap();
        assert_eq!(s.instance_count, None);
    }

    #[test]
    fn a_run_cannot_change_or_repeat_a_setting() {
        let err =
            parse_with::<Settings>(Some(STACK), Some(r#"{"CommitId":"a","InstanceCount":9}"#))
                .unwrap_err();
        assert!(
            err.message
                .starts_with("UserParameters sets `InstanceCount`, which the stack sets already"),
            "{err}"
        );
        let err = parse_with::<Settings>(Some(STACK), Some(r#"{"CommitId":"a","CommitId":"b"}"#))
            .unwrap_err();
        assert!(err.message.contains("duplicate field `CommitId`"), "{err}");
        let err =
            parse_with::<Settings>(None, Some(r#"{"CommitId":"a","CommitId":"b"}"#)).unwrap_err();
        assert!(err.message.contains("duplicate field `CommitId`"), "{err}");
    }

    #[test]
    fn broken_stack_settings_and_types_say_where() {
        let err = parse_with::<Settings>(Some("[1]"), Some(r#"{"CommitId":"a"}"#)).unwrap_err();
        assert!(
            err.message
                .contains("PIPELINE_SETTINGS is not a JSON object"),
            "{err}"
        );
        let err = parse_with::<Settings>(
            Some(r#"{"InstanceCount":"two"}"#),
            Some(r#"{"CommitId":"a"}"#),
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("the settings are not valid at `InstanceCount`"),
            "{err}"
        );
        let err =
            parse_with::<Settings>(Some(STACK), Some(r#"{"CommitId":"a","Bogus":1}"#)).unwrap_err();
        assert!(err.message.contains("unknown field `Bogus`"), "{err}");
    }

    #[test]
    fn names_the_field_and_position() {
        let err = parse_with::<Settings>(None, Some(r#"{"CommitId":"abc","InstanceCount":"two"}"#))
            .unwrap_err();
        assert!(err.message.contains("`InstanceCount`"), "{err}");
        assert!(err.message.contains("column"), "{err}");
        let err =
            parse_with::<Settings>(None, Some(r#"{"CommitId":"abc","Bogus":1}"#)).unwrap_err();
        assert!(err.message.contains("unknown field `Bogus`"), "{err}");
        let err = parse_with::<Settings>(None, Some("some-input-such-as-a-URL")).unwrap_err();
        assert!(err.message.contains("line 1"), "{err}");
        let err = parse_with::<Settings>(None, Some(r#"{"CommitId":"abc"} trailing"#)).unwrap_err();
        assert!(err.message.contains("trailing"), "{err}");
    }
}
