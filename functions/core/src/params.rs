//! UserParameters: the JSON object an action's configuration passes to its function, with
//! `#{Namespace.Variable}`s already resolved by CodePipeline.

use serde::de::DeserializeOwned;

use crate::JobError;
use crate::limits::USER_PARAMETERS_MAX;

/// Parses UserParameters into the function's typed settings. Every error names the field and
/// says where to fix it: the action's `Configuration.UserParameters` in template.yaml.
pub fn parse<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, JobError> {
    const WHERE: &str = "Fix Configuration.UserParameters of this action in template.yaml.";
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
        let s: Settings = parse(Some(r#"{"CommitId":"abc","InstanceCount":2}"#)).unwrap();
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
            let err = parse::<Settings>(raw).unwrap_err();
            assert!(err.message.contains("no UserParameters"), "{err}");
        }
    }

    #[test]
    fn too_long() {
        let raw = format!(r#"{{"CommitId":"{}"}}"#, "a".repeat(1000));
        assert!(
            parse::<Settings>(Some(&raw))
                .unwrap_err()
                .message
                .contains("allows 1000")
        );
    }

    #[test]
    fn names_the_field_and_position() {
        let err =
            parse::<Settings>(Some(r#"{"CommitId":"abc","InstanceCount":"two"}"#)).unwrap_err();
        assert!(err.message.contains("`InstanceCount`"), "{err}");
        assert!(err.message.contains("column"), "{err}");
        let err = parse::<Settings>(Some(r#"{"CommitId":"abc","Bogus":1}"#)).unwrap_err();
        assert!(err.message.contains("unknown field `Bogus`"), "{err}");
        let err = parse::<Settings>(Some("some-input-such-as-a-URL")).unwrap_err();
        assert!(err.message.contains("line 1"), "{err}");
        let err = parse::<Settings>(Some(r#"{"CommitId":"abc"} trailing"#)).unwrap_err();
        assert!(err.message.contains("trailing"), "{err}");
    }
}
