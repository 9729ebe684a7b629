//! Whatever the text, `Document` answers without panicking, and every diagnostic points into
//! the text: a line that exists and a column at most one past that line's end.

use std::collections::HashMap;

use config_file::{Diagnostics, Document, JsonPath};
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Shape {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Count")]
    count: Option<i32>,
    #[serde(rename = "Items")]
    items: Option<Vec<Item>>,
    #[serde(rename = "Map")]
    map: Option<HashMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Item {
    #[serde(rename = "Flag")]
    flag: bool,
}

fn assert_within(text: &str, diagnostics: &Diagnostics) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(!diagnostics.is_empty());
    for d in diagnostics.iter() {
        assert!(
            d.line >= 1 && d.line <= lines.len(),
            "line {} in {text:?}",
            d.line
        );
        let width = lines[d.line - 1].chars().count();
        assert!(
            d.column >= 1 && d.column <= width + 1,
            "column {} in {text:?}",
            d.column
        );
        assert!(!d.to_string().is_empty());
    }
}

fn check(text: &str) {
    match Document::parse("f.json", text) {
        Err(diagnostics) => assert_within(text, &diagnostics),
        Ok(doc) => {
            if let Err(diagnostics) = doc.deserialize::<Shape>() {
                assert_within(text, &diagnostics);
            }
            let anywhere = JsonPath::root().key("Items").index(3).key("Flag");
            let d = doc.diagnostic(&anywhere, "m", None);
            assert_within(text, &Diagnostics(vec![d]));
        }
    }
}

/// JSON values that look like the target shape often enough to reach deserialization errors.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[a-zA-Zé\"\\\\\n ]{0,8}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("Name".to_owned()),
                        Just("Count".to_owned()),
                        Just("Items".to_owned()),
                        Just("Flag".to_owned()),
                        Just("Map".to_owned()),
                        "[a-zA-Z]{1,6}"
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn json_like_text(text in "[{}\\[\\]\",: \n\tA-Za-z0-9.\\-eé\\\\/]{0,64}") {
        check(&text);
    }

    #[test]
    fn pretty_json_with_one_edit(value in json_value(), at in any::<prop::sample::Index>(), edit in "[{}\\[\\],:\"x\n]?") {
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        let mut cut = at.index(text.len() + 1);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let edited = format!("{}{}{}", &text[..cut], edit, &text[cut..]);
        check(&text);
        check(&edited);
    }
}
