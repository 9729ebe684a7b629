//! `Document` end to end: parse errors, deserialize errors and diagnostics, each located.

use std::collections::HashMap;

use config_file::{Diagnostic, Diagnostics, Document, JsonPath};
use serde::Deserialize;

const FILE: &str = "configuration/trainingjob.json";

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(rename = "RoleArn")]
    role_arn: String,
    #[serde(rename = "InputDataConfig")]
    input_data_config: Option<Vec<Channel>>,
    #[serde(rename = "HyperParameters")]
    hyper_parameters: Option<HashMap<String, String>>,
    #[serde(rename = "MaxRuntimeInSeconds")]
    max_runtime_in_seconds: Option<i32>,
    #[serde(rename = "EnableNetworkIsolation")]
    enable_network_isolation: Option<bool>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Channel {
    #[serde(rename = "ChannelName")]
    channel_name: String,
    #[serde(rename = "ContentType")]
    content_type: Option<String>,
}

fn parse_err(text: &str) -> Diagnostics {
    match Document::parse(FILE, text) {
        Ok(_) => panic!("expected parse errors for {text:?}"),
        Err(diagnostics) => diagnostics,
    }
}

fn deserialize_err(text: &str) -> Diagnostics {
    let doc = match Document::parse(FILE, text) {
        Ok(doc) => doc,
        Err(e) => panic!("{e}"),
    };
    match doc.deserialize::<Config>() {
        Ok(config) => panic!("expected errors, got {config:?}"),
        Err(diagnostics) => diagnostics,
    }
}

fn only(diagnostics: &Diagnostics) -> &Diagnostic {
    match diagnostics.0.as_slice() {
        [one] => one,
        _ => panic!("expected one diagnostic, got:\n{diagnostics}"),
    }
}

#[test]
fn invalid_json_is_located_by_line_and_column() {
    let text = "{\n  \"RoleArn\": \"x\",\n  \"MaxRuntimeInSeconds\": 10,\n}\n";
    let d = parse_err(text);
    let d = only(&d);
    assert_eq!((d.line, d.column), (4, 1));
    assert_eq!(d.message, "trailing comma");
    assert_eq!(
        d.to_string(),
        "configuration/trainingjob.json:4:1: trailing comma. Hint: remove the comma before the \
         closing bracket: JSON allows no trailing commas."
    );
}

#[test]
fn comments_are_not_json() {
    let text = "{\n  // the role\n  \"RoleArn\": \"x\"\n}";
    let d = parse_err(text);
    let d = only(&d);
    assert_eq!((d.line, d.column), (2, 3));
    assert_eq!(d.hint.as_deref(), Some("JSON has no comments: remove them"));
}

#[test]
fn empty_files_and_other_top_levels_are_rejected() {
    for text in ["", "  \n\t\n"] {
        let d = parse_err(text);
        assert_eq!(only(&d).message, "the file is empty");
    }
    let d = parse_err("\n  [1, 2]");
    let d = only(&d);
    assert_eq!(d.message, "the top level is a list, not an object");
    assert_eq!((d.line, d.column), (2, 3));
    assert_eq!(
        only(&parse_err("\"x\"")).message,
        "the top level is a string, not an object"
    );
}

#[test]
fn duplicate_keys_are_errors_naming_both_places() {
    let text = "{\n  \"RoleArn\": \"a\",\n  \"InputDataConfig\": [{\"ChannelName\": \"x\", \"ChannelName\": \"y\"}],\n  \"RoleArn\": \"b\"\n}";
    let d = parse_err(text);
    assert_eq!(d.len(), 2, "{d}");
    assert_eq!(d.0[0].path.to_string(), "InputDataConfig[0].ChannelName");
    assert_eq!((d.0[0].line, d.0[0].column), (3, 44));
    assert_eq!(
        d.0[0].message,
        "duplicate key `ChannelName` (first at line 3, column 24)"
    );
    assert_eq!(d.0[1].path.to_string(), "RoleArn");
    assert_eq!((d.0[1].line, d.0[1].column), (4, 3));
    assert_eq!(
        d.0[1].message,
        "duplicate key `RoleArn` (first at line 2, column 3)"
    );
}

#[test]
fn too_deep_nesting_is_rejected_with_its_path() {
    let depth = 70;
    let text = format!("{{\"A\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
    let d = parse_err(&text);
    let d = only(&d);
    assert!(d.message.contains("nested more than 64 levels"), "{d}");
    assert!(d.path.to_string().starts_with("A[0][0]"), "{d}");
    let d = parse_err(&"[".repeat(100_000));
    assert!(only(&d).message.contains("nested more than 64 levels"));
}

#[test]
fn a_byte_order_mark_is_accepted_and_not_counted() {
    let text = "\u{feff}{\"RoleArn\": 1}";
    let doc = Document::parse(FILE, text).unwrap_or_else(|e| panic!("{e}"));
    let d = doc
        .deserialize::<Config>()
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!((only(&d).line, only(&d).column), (1, 13));
}

#[test]
fn unknown_fields_point_at_the_key_with_the_exact_name() {
    let text = "{\n  \"RoleArn\": \"x\",\n  \"InputDataConfig\": [\n    {\n      \"channelName\": \"train\"\n    }\n  ]\n}";
    let d = deserialize_err(text);
    assert_eq!(d.len(), 2, "{d}");
    let first = &d.0[1];
    assert_eq!(first.path.to_string(), "InputDataConfig[0].channelName");
    assert_eq!((first.line, first.column), (5, 7));
    assert_eq!(
        first.to_string(),
        "configuration/trainingjob.json:5:7: at InputDataConfig[0].channelName: unknown field \
         `channelName`. Hint: write `ChannelName` (keys here are PascalCase)."
    );
    // Removing the bad key leaves the required one missing: reported too, at the object, and
    // first, as diagnostics come in the order of the text.
    let second = &d.0[0];
    assert_eq!(second.message, "missing required field `ChannelName`");
    assert_eq!(second.path.to_string(), "InputDataConfig[0]");
    assert_eq!((second.line, second.column), (4, 5));
}

#[test]
fn several_errors_are_reported_in_one_go() {
    let text = r#"{
  "RoleArn": "x",
  "MaxRuntimeInSeconds": "3600",
  "HyperParameters": {"epochs": 10},
  "EnableNetworkIsolation": "true",
  "Bogus": 1
}"#;
    let d = deserialize_err(text);
    let summary: Vec<(String, usize, usize, Option<String>)> = d
        .iter()
        .map(|d| (d.path.to_string(), d.line, d.column, d.hint.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "MaxRuntimeInSeconds".into(),
                3,
                26,
                Some("write `3600` without quotes".into())
            ),
            (
                "HyperParameters.epochs".into(),
                4,
                33,
                Some("write `\"10\"` (in double quotes)".into())
            ),
            (
                "EnableNetworkIsolation".into(),
                5,
                29,
                Some("write `true` without quotes".into())
            ),
            (
                "Bogus".into(),
                6,
                3,
                Some(
                    "expected one of `RoleArn`, `InputDataConfig`, `HyperParameters`, \
                     `MaxRuntimeInSeconds`, `EnableNetworkIsolation`"
                        .into()
                )
            ),
        ]
    );
}

#[test]
fn a_missing_member_points_at_its_object() {
    let d = deserialize_err("{\n  \"MaxRuntimeInSeconds\": 1\n}");
    let d = only(&d);
    assert_eq!(d.path, JsonPath::root());
    assert_eq!((d.line, d.column), (1, 1));
    assert_eq!(
        d.to_string(),
        "configuration/trainingjob.json:1:1: missing required field `RoleArn`. Hint: add \
         `\"RoleArn\": ...` to the top-level object."
    );
}

#[test]
fn a_wrong_value_is_not_reported_again_as_missing() {
    let d = deserialize_err("{\"RoleArn\": 5}");
    let d = only(&d);
    assert_eq!(d.message, "expected a string, found the number `5`");
}

#[test]
fn wrong_list_elements_are_reported_at_the_element() {
    let d =
        deserialize_err("{\"RoleArn\": \"x\", \"InputDataConfig\": [{\"ChannelName\": \"a\"}, 7]}");
    let d = only(&d);
    assert_eq!(d.path.to_string(), "InputDataConfig[1]");
    assert_eq!((d.line, d.column), (1, 60));
    assert_eq!(
        d.hint.as_deref(),
        Some("write an object: `{\"Key\": value, ...}`")
    );
}

#[test]
fn diagnostics_locate_any_path_or_its_nearest_ancestor() {
    let text = "{\n  \"InputDataConfig\": [\n    {\"ChannelName\": \"train\"}\n  ]\n}";
    let doc = Document::parse(FILE, text).unwrap_or_else(|e| panic!("{e}"));
    let name = JsonPath::root()
        .key("InputDataConfig")
        .index(0)
        .key("ChannelName");
    let d = doc.diagnostic(&name, "bad name", Some("write another".into()));
    assert_eq!((d.line, d.column), (3, 21));
    let d = doc.key_diagnostic(&name, "bad key", None);
    assert_eq!((d.line, d.column), (3, 6));
    let absent = JsonPath::root()
        .key("InputDataConfig")
        .index(0)
        .key("DataSource")
        .key("S3Uri");
    let d = doc.diagnostic(&absent, "missing", None);
    assert_eq!((d.line, d.column), (3, 5));
    assert_eq!(d.path, absent, "the diagnostic keeps the path asked for");
}

#[test]
fn filled_placeholders_deserialize_and_keep_positions() {
    let text = "{\n  \"RoleArn\": \"${RoleArn}\",\n  \"MaxRuntimeInSeconds\": \"${MaxRuntime}\"\n}";
    let mut doc = Document::parse(FILE, text).unwrap_or_else(|e| panic!("{e}"));
    doc.value_mut()["RoleArn"] = "arn:aws:iam::123456789012:role/R".into();
    doc.value_mut()["MaxRuntimeInSeconds"] = 3600.into();
    let config: Config = doc.deserialize().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.max_runtime_in_seconds, Some(3600));
    assert_eq!(config.role_arn, "arn:aws:iam::123456789012:role/R");
    let d = doc.diagnostic(
        &JsonPath::root().key("MaxRuntimeInSeconds"),
        "too long",
        None,
    );
    assert_eq!((d.line, d.column), (3, 26));
}

#[test]
fn valid_files_deserialize() {
    let text =
        r#"{"RoleArn": "r", "InputDataConfig": [{"ChannelName": "train", "ContentType": null}]}"#;
    let doc = Document::parse(FILE, text).unwrap_or_else(|e| panic!("{e}"));
    let config: Config = doc.deserialize().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.input_data_config,
        Some(vec![Channel {
            channel_name: "train".into(),
            content_type: None
        }])
    );
    assert_eq!(doc.file(), FILE);
    assert_eq!(doc.text(), text);
}
