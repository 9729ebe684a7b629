//! configuration/evaluation.json: the promotion gate of the model repository.
//!
//! ```json
//! {
//!   "Conditions": [
//!     { "Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9 },
//!     { "Metric": "validation:accuracy", "Source": "Objective", "Operator": ">", "Threshold": 0.85 }
//!   ],
//!   "Regression": [{ "Metric": "test:accuracy", "Direction": "HigherIsBetter", "Tolerance": 0.01 }],
//!   "Inference": { "Environment": { "SAGEMAKER_PROGRAM": "inference.py" } }
//! }
//! ```

use std::collections::HashMap;
use std::fmt;

use config_file::{Diagnostic, Diagnostics, Document, JsonPath};
use serde::Deserialize;

pub const DEFAULT_PATH: &str = "configuration/evaluation.json";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Gate {
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub regression: Vec<Regression>,
    #[serde(default)]
    pub inference: Inference,
}

/// `Metric Operator Threshold`, e.g. `test:accuracy >= 0.9`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Condition {
    pub metric: String,
    #[serde(default)]
    pub source: Source,
    pub operator: Operator,
    pub threshold: f64,
}

/// Where a metric's value comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Source {
    /// The candidate training job's FinalMetricDataList (its MetricDefinitions).
    #[default]
    TrainingJob,
    /// The tuning job's objective value for the candidate.
    Objective,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Operator {
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = ">")]
    Above,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "<")]
    Below,
}

impl Operator {
    /// Whether `value` meets the condition. Reported values are compared as they read (see
    /// [`reported`]), so a metric equal to its threshold is equal to it.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Operator::AtLeast => value >= threshold,
            Operator::Above => value > threshold,
            Operator::AtMost => value <= threshold,
            Operator::Below => value < threshold,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operator::AtLeast => ">=",
            Operator::Above => ">",
            Operator::AtMost => "<=",
            Operator::Below => "<",
        })
    }
}

/// The candidate may fall behind the approved model by at most `Tolerance`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Regression {
    pub metric: String,
    #[serde(default)]
    pub source: Source,
    pub direction: Direction,
    pub tolerance: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// How the registered model is served; defaults come from the candidate training job.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Inference {
    /// Defaults to the training image (SageMaker framework images also serve).
    pub image: Option<String>,
    #[serde(default)]
    pub environment: HashMap<String, String>,
    #[serde(default = "csv")]
    pub content_types: Vec<String>,
    #[serde(default = "csv")]
    pub response_types: Vec<String>,
}

impl Default for Inference {
    fn default() -> Self {
        Inference {
            image: None,
            environment: HashMap::new(),
            content_types: csv(),
            response_types: csv(),
        }
    }
}

fn csv() -> Vec<String> {
    vec!["text/csv".to_owned()]
}

/// Reads and checks the gate file.
pub fn load(file: &str, text: &str) -> Result<Gate, Diagnostics> {
    let doc = Document::parse(file, text)?;
    let gate: Gate = doc.deserialize()?;
    let problems = check(&doc, &gate);
    if problems.is_empty() {
        Ok(gate)
    } else {
        Err(Diagnostics(problems))
    }
}

fn check(doc: &Document, gate: &Gate) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if gate.conditions.is_empty() {
        out.push(doc.diagnostic(
            &JsonPath::root().key("Conditions"),
            "the gate has no Conditions: it would promote any model",
            Some(r#"add one, e.g. {"Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9}"#.to_owned()),
        ));
    }
    for (i, c) in gate.conditions.iter().enumerate() {
        let at = JsonPath::root().key("Conditions").index(i);
        if c.metric.trim().is_empty() {
            out.push(doc.diagnostic(
                &at.key("Metric"),
                "the metric name is empty",
                Some("name a metric of the training job's MetricDefinitions".into()),
            ));
        }
        if !c.threshold.is_finite() {
            out.push(doc.diagnostic(
                &at.key("Threshold"),
                "the threshold is not a finite number",
                Some("write a number such as 0.9".into()),
            ));
        }
    }
    for (i, r) in gate.regression.iter().enumerate() {
        let at = JsonPath::root().key("Regression").index(i);
        if r.metric.trim().is_empty() {
            out.push(doc.diagnostic(
                &at.key("Metric"),
                "the metric name is empty",
                Some("name a metric of the training job's MetricDefinitions".into()),
            ));
        }
        if !r.tolerance.is_finite() || r.tolerance < 0.0 {
            out.push(doc.diagnostic(
                &at.key("Tolerance"),
                format!("the tolerance {} is not a number of 0 or more", r.tolerance),
                Some("write how far the candidate may fall behind, e.g. 0.01 (0 for no regression at all)".into()),
            ));
        }
    }
    for (field, list) in [
        ("ContentTypes", &gate.inference.content_types),
        ("ResponseTypes", &gate.inference.response_types),
    ] {
        if list.is_empty() {
            out.push(doc.diagnostic(
                &JsonPath::root().key("Inference").key(field),
                format!("{field} is empty"),
                Some("list at least one MIME type, e.g. \"text/csv\"".into()),
            ));
        }
    }
    out
}

/// A metric as SageMaker reports it (a 32-bit float) at the value it reads as: the shortest
/// decimal that gives back the same float (0.8, not 0.800000011920929, the float widened), the
/// value the verdict table and the tuning objective's output variable show. Without it, an
/// accuracy of 0.8 would pass `> 0.8` and 0.9 fail `>= 0.9` when read from the training job,
/// and decide the other way read as the tuning objective.
pub fn reported(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference_defaults_when_absent() {
        let gate = load(
            "evaluation.json",
            r#"{"Conditions": [{"Metric": "m", "Operator": ">", "Threshold": 0}]}"#,
        )
        .unwrap();
        assert_eq!(gate.inference, Inference::default());
        assert_eq!(gate.inference.content_types, vec!["text/csv"]);
    }

    #[test]
    fn reads_a_full_gate() {
        let gate = load(
            "evaluation.json",
            r#"{"Conditions": [{"Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.9},
                               {"Metric": "validation:accuracy", "Source": "Objective", "Operator": "<", "Threshold": 1}],
                "Regression": [{"Metric": "test:accuracy", "Direction": "HigherIsBetter", "Tolerance": 0.01}],
                "Inference": {"Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}}"#,
        )
        .unwrap();
        assert_eq!(gate.conditions[1].source, Source::Objective);
        assert_eq!(gate.conditions[1].operator, Operator::Below);
        assert_eq!(gate.regression[0].direction, Direction::HigherIsBetter);
        assert_eq!(gate.inference.content_types, vec!["text/csv"]);
    }

    #[test]
    fn operators_hold_as_written() {
        assert!(Operator::AtLeast.holds(0.9, 0.9) && !Operator::Above.holds(0.9, 0.9));
        assert!(Operator::AtMost.holds(0.9, 0.9) && !Operator::Below.holds(0.9, 0.9));
        assert!(!Operator::AtLeast.holds(f64::NAN, 0.9) && !Operator::Below.holds(f64::NAN, 0.9));
    }

    #[test]
    fn a_reported_metric_equal_to_its_threshold_is_equal_for_every_operator() {
        let thresholds = [
            0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1e-3, 1.1, 12.345, 100.0,
        ];
        for threshold in thresholds {
            let value = reported(threshold as f32);
            assert_eq!(value, threshold, "{threshold} reads back as itself");
            assert!(Operator::AtLeast.holds(value, threshold), ">= {threshold}");
            assert!(!Operator::Above.holds(value, threshold), "> {threshold}");
            assert!(Operator::AtMost.holds(value, threshold), "<= {threshold}");
            assert!(!Operator::Below.holds(value, threshold), "< {threshold}");
            // The same metric read as the tuning objective (its output variable's text).
            let objective: f64 = (threshold as f32).to_string().parse().unwrap();
            assert_eq!(objective, value);
        }
        assert!(reported(f32::NAN).is_nan());
        assert_eq!(reported(f32::INFINITY), f64::INFINITY);
    }
}
