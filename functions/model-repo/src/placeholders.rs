//! `${Name}` placeholders in the model repository's request files, filled from UserParameters.
//!
//! Placeholders live inside JSON strings, so the files stay valid JSON that editors and
//! `validate` can check. A string that is exactly one numeric placeholder, such as
//! `"${InstanceCount}"`, becomes a number; elsewhere the value is spliced into the text.

use std::collections::BTreeMap;

use config_file::{Document, JsonPath};
use serde_json::Value;

use crate::settings::Settings;

/// The values placeholders stand for.
#[derive(Debug, Clone, PartialEq)]
pub struct Placeholders(BTreeMap<String, Value>);

impl Placeholders {
    pub fn from_settings(settings: &Settings, training_job_name: &str) -> Self {
        let mut values = BTreeMap::new();
        let mut text = |k: &str, v: &str| values.insert(k.to_owned(), Value::from(v));
        text("CommitId", &settings.commit_id);
        text("ExecutionId", &settings.execution_id);
        text("RoleArn", &settings.role_arn);
        text("ArtifactBucket", &settings.artifact_bucket);
        text("InstanceType", &settings.instance_type);
        text("TrainingJobName", training_job_name);
        text(
            "Repository",
            settings.repository.as_deref().unwrap_or_default(),
        );
        text("Branch", settings.branch.as_deref().unwrap_or_default());
        if let Some(dir) = settings.build_variables.get("SOURCE_DIR_URI") {
            text("SourceDir", dir);
        }
        for (name, value) in &settings.build_variables {
            text(name, value);
        }
        values.insert("InstanceCount".into(), Value::from(settings.instance_count));
        values.insert(
            "VolumeSizeInGB".into(),
            Value::from(settings.volume_size_in_gb),
        );
        values.insert(
            "MaxRuntimeInSeconds".into(),
            Value::from(settings.max_runtime_in_seconds),
        );
        Placeholders(values)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Fills every placeholder of the document, collecting one diagnostic per unknown or
    /// malformed placeholder.
    pub fn fill(&self, doc: &mut Document) -> Result<(), config_file::Diagnostics> {
        let mut problems = Vec::new();
        let mut path = JsonPath::root();
        let mut value = doc.value().clone();
        self.walk(&mut value, &mut path, &mut problems);
        if problems.is_empty() {
            *doc.value_mut() = value;
            return Ok(());
        }
        Err(config_file::Diagnostics(
            problems
                .into_iter()
                .map(|(path, message, hint)| doc.diagnostic(&path, message, Some(hint)))
                .collect(),
        ))
    }

    fn walk(
        &self,
        value: &mut Value,
        path: &mut JsonPath,
        problems: &mut Vec<(JsonPath, String, String)>,
    ) {
        match value {
            Value::String(text) => match self.substitute(text) {
                Ok(Some(filled)) => *value = filled,
                Ok(None) => {}
                Err((message, hint)) => problems.push((path.clone(), message, hint)),
            },
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push_index(i);
                    self.walk(item, path, problems);
                    path.pop();
                }
            }
            Value::Object(members) => {
                for (key, member) in members.iter_mut() {
                    path.push_key(key.clone());
                    self.walk(member, path, problems);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// `Ok(None)` when `text` has no placeholder.
    fn substitute(&self, text: &str) -> Result<Option<Value>, (String, String)> {
        if !text.contains("${") {
            return Ok(None);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err((
                    format!(
                        "`{}` opens a placeholder that is never closed",
                        &rest[start..]
                    ),
                    "write placeholders as ${Name}".to_owned(),
                ));
            };
            let name = &after[..end];
            let Some(value) = self.0.get(name) else {
                return Err((
                    format!("unknown placeholder `${{{name}}}`"),
                    self.known_hint(name),
                ));
            };
            // The whole string is one placeholder: keep the value's own type (numbers stay numbers).
            if start == 0 && end + 3 == rest.len() && out.is_empty() {
                return Ok(Some(value.clone()));
            }
            match value {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(Some(Value::String(out)))
    }

    fn known_hint(&self, name: &str) -> String {
        let close = self.names().find(|known| known.eq_ignore_ascii_case(name));
        let known = self
            .names()
            .map(|n| format!("${{{n}}}"))
            .collect::<Vec<_>>()
            .join(", ");
        match close {
            Some(known_name) => format!("placeholders are case-sensitive: write ${{{known_name}}}"),
            None => format!(
                "the pipeline fills {known}; a build variable becomes a placeholder once the Build action \
                 exports it and template.yaml passes it in BuildVariables"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> Settings {
        pipeline_core::params::parse(Some(
            r#"{"ExecutionId":"exec-1","CommitId":"abc123","JobPrefix":"stack","RoleArn":"arn:aws:iam::1:role/r",
                "ArtifactBucket":"bucket","BuildVariables":{"SOURCE_DIR_URI":"s3://bucket/src.tar.gz","IMAGE_URI":"img"}}"#,
        ))
        .unwrap()
    }

    fn fill(text: &str) -> Result<Value, config_file::Diagnostics> {
        let mut doc = Document::parse("configuration/trainingjob.json", text)?;
        Placeholders::from_settings(&settings(), "stack-abc123-00000000").fill(&mut doc)?;
        Ok(doc.value().clone())
    }

    #[test]
    fn fills_text_and_numbers() {
        let v = fill(
            r#"{"RoleArn":"${RoleArn}","S3OutputPath":"s3://${ArtifactBucket}/models/${CommitId}",
                "InstanceCount":"${InstanceCount}","Dir":"${SourceDir}","Image":"${IMAGE_URI}","Plain":"$HOME {x}"}"#,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"RoleArn":"arn:aws:iam::1:role/r","S3OutputPath":"s3://bucket/models/abc123","InstanceCount":1,
                   "Dir":"s3://bucket/src.tar.gz","Image":"img","Plain":"$HOME {x}"})
        );
    }

    #[test]
    fn a_number_inside_text_is_text() {
        let v = fill(r#"{"A":"count=${InstanceCount}"}"#).unwrap();
        assert_eq!(v, json!({"A":"count=1"}));
    }

    #[test]
    fn unknown_placeholder_names_its_place() {
        let err = fill("{\n  \"HyperParameters\": {\"x\": \"${Bogus}\"}\n}").unwrap_err();
        let d = &err.0[0];
        assert_eq!(d.path.to_string(), "HyperParameters.x");
        assert_eq!(d.line, 2);
        assert!(d.message.contains("${Bogus}"), "{}", d.message);
        assert!(d.hint.as_deref().unwrap().contains("${CommitId}"));
    }

    #[test]
    fn wrong_case_gets_the_right_spelling() {
        let err = fill(r#"{"A":"${commitId}"}"#).unwrap_err();
        assert!(
            err.0[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("write ${CommitId}")
        );
    }

    #[test]
    fn unclosed_placeholder() {
        let err = fill(r#"{"A":["ok", "${CommitId"]}"#).unwrap_err();
        assert_eq!(err.0[0].path.to_string(), "A[1]");
        assert!(err.0[0].message.contains("never closed"));
    }
}
