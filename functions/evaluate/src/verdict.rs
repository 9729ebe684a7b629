//! The decision: every condition and regression rule applied to the candidate's metrics, and
//! the table that explains it to a person.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::gate::{Direction, Gate, Source};
use crate::metadata::metric_key;

/// What is known of the candidate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    /// FinalMetricDataList of the candidate training job.
    pub metrics: BTreeMap<String, f64>,
    /// The tuning objective (name, value), when tuning ran.
    pub objective: Option<(String, f64)>,
}

impl Candidate {
    fn value(&self, metric: &str, source: Source) -> Option<f64> {
        match source {
            Source::TrainingJob => self.metrics.get(metric).copied(),
            Source::Objective => self
                .objective
                .as_ref()
                .filter(|(name, _)| name == metric)
                .map(|(_, v)| *v),
        }
    }
}

/// The latest Approved model of the group, with the metrics recorded when it was registered.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    pub arn: String,
    /// By metadata key ([`metric_key`]).
    pub metrics: BTreeMap<String, f64>,
}

impl Approved {
    fn value(&self, metric: &str) -> Option<f64> {
        self.metrics.get(&metric_key(metric)).copied()
    }
}

/// The approved model's value of a row's metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Baseline {
    /// No model was approved yet (or the gate has no Regression rules): `-`.
    NoModel,
    /// The approved model recorded no value for the metric: `none`.
    NotRecorded,
    Value(f64),
}

impl Baseline {
    fn cell(self) -> String {
        match self {
            Baseline::NoModel => "-".to_owned(),
            Baseline::NotRecorded => "none".to_owned(),
            Baseline::Value(v) => number(Some(v)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub metric: String,
    pub value: Option<f64>,
    pub condition: String,
    pub threshold: f64,
    pub approved: Baseline,
    pub passed: bool,
    /// Why, when the value alone does not say it.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub rows: Vec<Row>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.passed)
    }

    pub fn word(&self) -> &'static str {
        if self.passed() { "Passed" } else { "Failed" }
    }
}

pub fn evaluate(gate: &Gate, candidate: &Candidate, approved: Option<&Approved>) -> Verdict {
    let approved_value = |metric: &str| match approved.map(|a| a.value(metric)) {
        None => Baseline::NoModel,
        Some(None) => Baseline::NotRecorded,
        Some(Some(v)) => Baseline::Value(v),
    };
    let mut rows = Vec::new();
    for c in &gate.conditions {
        let value = candidate.value(&c.metric, c.source);
        let (passed, note) = match value {
            None => (false, Some(missing(&c.metric, c.source))),
            Some(v) if !v.is_finite() => (false, Some(format!("{v} is not a usable number"))),
            Some(v) => (c.operator.holds(v, c.threshold), None),
        };
        rows.push(Row {
            metric: c.metric.clone(),
            value,
            condition: c.operator.to_string(),
            threshold: c.threshold,
            approved: approved_value(&c.metric),
            passed,
            note,
        });
    }
    for r in &gate.regression {
        let value = candidate.value(&r.metric, r.source);
        let previous = approved_value(&r.metric);
        let condition = match r.direction {
            Direction::HigherIsBetter => "drop <=",
            Direction::LowerIsBetter => "rise <=",
        };
        let (passed, note) = match (value, previous) {
            (None, _) => (false, Some(missing(&r.metric, r.source))),
            (Some(v), _) if !v.is_finite() => (false, Some(format!("{v} is not a usable number"))),
            (Some(_), Baseline::NoModel) => (
                true,
                Some("no approved model yet: nothing to compare".to_owned()),
            ),
            // The documented rule: a baseline that never recorded the metric (a rule added
            // since) cannot be fallen behind; the rule holds from the next approved model on.
            (Some(_), Baseline::NotRecorded) => (
                true,
                Some(
                    "the approved model recorded no value for it: nothing to compare, so the rule \
                     passes (it applies from the next approved model on)"
                        .to_owned(),
                ),
            ),
            (Some(v), Baseline::Value(p)) => {
                let (ahead, behind) = match r.direction {
                    Direction::HigherIsBetter => (p, v),
                    Direction::LowerIsBetter => (v, p),
                };
                let passed = at_most_behind(ahead, behind, r.tolerance);
                (
                    passed,
                    (!passed).then(|| format!("{:.4} behind the approved model", ahead - behind)),
                )
            }
        };
        rows.push(Row {
            metric: r.metric.clone(),
            value,
            condition: condition.to_owned(),
            threshold: r.tolerance,
            approved: previous,
            passed,
            note,
        });
    }
    Verdict { rows }
}

/// `ahead - behind <= tolerance`, decided on the decimals the table shows (values as they read,
/// see [`crate::gate::reported`]) rather than on binary floats: 0.95 - 0.94 is 0.01, not
/// 0.010000000000000009. Numbers beyond a decimal's 28 digits are compared as floats.
fn at_most_behind(ahead: f64, behind: f64, tolerance: f64) -> bool {
    let exact = |x: f64| Decimal::from_str_exact(&x.to_string()).ok();
    match (exact(ahead), exact(behind), exact(tolerance)) {
        (Some(a), Some(b), Some(t)) => a
            .checked_sub(b)
            .map_or(ahead - behind <= tolerance, |gap| gap <= t),
        _ => ahead - behind <= tolerance,
    }
}

fn missing(metric: &str, source: Source) -> String {
    match source {
        Source::TrainingJob => {
            format!("the training job reported no `{metric}`: check its MetricDefinitions")
        }
        Source::Objective => {
            format!("`{metric}` is not the tuning objective (or tuning was skipped)")
        }
    }
}

/// A value as the table shows it: four decimals, NaN and infinities as such, `-` for none.
pub fn number(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        Some(v) => v.to_string(),
        None => "-".to_owned(),
    }
}

impl Verdict {
    /// An aligned plain-text table, one row per rule, with the reasons below it.
    pub fn table(&self) -> String {
        let header = [
            "Metric",
            "Value",
            "Condition",
            "Threshold",
            "Approved",
            "Result",
        ];
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.metric.clone(),
                    if r.value.is_none() {
                        "missing".to_owned()
                    } else {
                        number(r.value)
                    },
                    r.condition.clone(),
                    number(Some(r.threshold)),
                    r.approved.cell(),
                    if r.passed {
                        "pass".to_owned()
                    } else {
                        "FAIL".to_owned()
                    },
                ]
            })
            .collect();
        let widths: Vec<usize> = (0..6)
            .map(|i| {
                cells
                    .iter()
                    .map(|c| c[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cols: &[String]| {
            cols.iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let mut out = vec![line(&header.map(str::to_owned))];
        out.extend(cells.iter().map(|c| line(c)));
        let notes: Vec<String> = self
            .rows
            .iter()
            .filter_map(|r| r.note.as_ref().map(|n| format!("- {}: {n}", r.metric)))
            .collect();
        if !notes.is_empty() {
            out.push(String::new());
            out.extend(notes);
        }
        out.join("\n")
    }

    /// One line for an output variable: `test:accuracy=0.9310 >= 0.9000 pass; ...`.
    pub fn summary_line(&self) -> String {
        self.rows
            .iter()
            .map(|r| {
                let value = if r.value.is_none() {
                    "missing".to_owned()
                } else {
                    number(r.value)
                };
                let result = if r.passed { "pass" } else { "FAIL" };
                format!(
                    "{}={value} {} {} {result}",
                    r.metric,
                    r.condition,
                    number(Some(r.threshold))
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::{Condition, Inference, Operator, Regression};

    fn gate(op: Operator, threshold: f64) -> Gate {
        Gate {
            conditions: vec![Condition {
                metric: "test:accuracy".into(),
                source: Source::TrainingJob,
                operator: op,
                threshold,
            }],
            regression: vec![],
            inference: Inference::default(),
        }
    }

    fn candidate(value: f64) -> Candidate {
        Candidate {
            metrics: [("test:accuracy".to_owned(), value)].into(),
            objective: None,
        }
    }

    #[test]
    fn each_operator_passes_and_fails() {
        for (op, pass, fail) in [
            (Operator::AtLeast, 0.9, 0.89),
            (Operator::Above, 0.91, 0.9),
            (Operator::AtMost, 0.9, 0.91),
            (Operator::Below, 0.89, 0.9),
        ] {
            assert!(
                evaluate(&gate(op, 0.9), &candidate(pass), None).passed(),
                "{op} {pass}"
            );
            assert!(
                !evaluate(&gate(op, 0.9), &candidate(fail), None).passed(),
                "{op} {fail}"
            );
        }
    }

    #[test]
    fn missing_nan_and_infinite_metrics_fail_with_their_own_message() {
        let v = evaluate(&gate(Operator::AtLeast, 0.9), &Candidate::default(), None);
        assert!(!v.passed());
        assert!(
            v.table().contains("missing") && v.table().contains("reported no `test:accuracy`"),
            "{}",
            v.table()
        );
        for bad in [f64::NAN, f64::INFINITY] {
            let v = evaluate(&gate(Operator::AtMost, 0.9), &candidate(bad), None);
            assert!(!v.passed(), "{bad}");
            assert!(v.table().contains("not a usable number"), "{}", v.table());
        }
    }

    #[test]
    fn regression_against_the_approved_model() {
        let mut g = gate(Operator::AtLeast, 0.5);
        g.regression.push(Regression {
            metric: "test:accuracy".into(),
            source: Source::TrainingJob,
            direction: Direction::HigherIsBetter,
            tolerance: 0.01,
        });
        let approved = Approved {
            arn: "arn".into(),
            metrics: [(metric_key("test:accuracy"), 0.95)].into(),
        };
        assert!(evaluate(&g, &candidate(0.945), Some(&approved)).passed());
        let v = evaluate(&g, &candidate(0.93), Some(&approved));
        assert!(!v.passed());
        assert!(
            v.table().contains("0.0200 behind the approved model"),
            "{}",
            v.table()
        );
        // The first model ever has nothing to regress from.
        let v = evaluate(&g, &candidate(0.6), None);
        assert!(
            v.passed() && v.table().contains("no approved model yet"),
            "{}",
            v.table()
        );
        // Lower is better: a loss may rise by the tolerance.
        g.regression[0].direction = Direction::LowerIsBetter;
        assert!(!evaluate(&g, &candidate(0.97), Some(&approved)).passed());
    }

    #[test]
    fn regression_at_its_tolerance_is_decided_on_the_decimals_shown() {
        let rule = |direction| Gate {
            regression: vec![Regression {
                metric: "test:accuracy".into(),
                source: Source::TrainingJob,
                direction,
                tolerance: 0.01,
            }],
            ..gate(Operator::AtLeast, 0.0)
        };
        for (approved, higher_ok, higher_fail, lower_ok, lower_fail) in [
            (0.95, 0.94, 0.9399, 0.96, 0.9601),
            (0.3, 0.29, 0.2899, 0.31, 0.3101),
            (0.7, 0.69, 0.6899, 0.71, 0.7101),
            (12.345, 12.335, 12.3349, 12.355, 12.3551),
        ] {
            let a = Approved {
                arn: "arn".into(),
                metrics: [(metric_key("test:accuracy"), approved)].into(),
            };
            let decide = |d, v| evaluate(&rule(d), &candidate(v), Some(&a)).passed();
            assert!(
                decide(Direction::HigherIsBetter, higher_ok),
                "{approved} -> {higher_ok}"
            );
            assert!(
                !decide(Direction::HigherIsBetter, higher_fail),
                "{approved} -> {higher_fail}"
            );
            assert!(
                decide(Direction::LowerIsBetter, lower_ok),
                "{approved} -> {lower_ok}"
            );
            assert!(
                !decide(Direction::LowerIsBetter, lower_fail),
                "{approved} -> {lower_fail}"
            );
        }
    }

    #[test]
    fn a_baseline_without_the_metric_is_shown_and_passes_by_the_documented_rule() {
        let mut g = gate(Operator::AtLeast, 0.5);
        g.regression.push(Regression {
            metric: "test:f1".into(),
            source: Source::TrainingJob,
            direction: Direction::HigherIsBetter,
            tolerance: 0.0,
        });
        let approved = Approved {
            arn: "arn".into(),
            metrics: [(metric_key("test:accuracy"), 0.95)].into(),
        };
        let c = Candidate {
            metrics: [
                ("test:accuracy".to_owned(), 0.9),
                ("test:f1".to_owned(), 0.8),
            ]
            .into(),
            objective: None,
        };
        let v = evaluate(&g, &c, Some(&approved));
        let table = v.table();
        assert!(v.passed(), "{table}");
        let row = table.lines().find(|l| l.starts_with("test:f1")).unwrap();
        assert!(row.contains(" none "), "{table}");
        assert!(
            table.contains("- test:f1: the approved model recorded no value for it"),
            "{table}"
        );
    }

    #[test]
    fn objective_source_reads_the_tuning_objective() {
        let mut g = gate(Operator::AtLeast, 0.9);
        g.conditions[0].source = Source::Objective;
        g.conditions[0].metric = "validation:accuracy".into();
        let c = Candidate {
            metrics: BTreeMap::new(),
            objective: Some(("validation:accuracy".into(), 0.93)),
        };
        assert!(evaluate(&g, &c, None).passed());
        assert!(!evaluate(&g, &Candidate::default(), None).passed());
    }

    #[test]
    fn the_table_is_aligned() {
        let approved = Approved {
            arn: "arn".into(),
            metrics: [(metric_key("test:accuracy"), 0.95)].into(),
        };
        let table = evaluate(
            &gate(Operator::AtLeast, 0.9),
            &candidate(0.931),
            Some(&approved),
        )
        .table();
        assert_eq!(
            table,
            "Metric         Value   Condition  Threshold  Approved  Result\n\
             test:accuracy  0.9310  >=         0.9000     0.9500    pass"
        );
    }
}
