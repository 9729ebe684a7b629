//! `MetricDefinitions`: regular expressions applied to every line a job prints; the first
//! capture group is the value. The last value of each metric is its final value.

use regex::Regex;
use sagemaker_requests::MetricDefinition;

use crate::protocol::Timestamp;
use crate::state::MetricValue;

/// A definition whose regex does not compile.
#[derive(Debug, thiserror::Error)]
#[error("the Regex of metric `{name}` is not a valid regular expression: {source}")]
pub struct InvalidMetricRegex {
    pub name: String,
    #[source]
    pub source: regex::Error,
}

/// Reads metrics from a job's output.
#[derive(Debug, Clone)]
pub struct MetricScraper {
    definitions: Vec<(String, Regex)>,
    last: Vec<Option<(f64, Timestamp)>>,
}

impl MetricScraper {
    pub fn new(definitions: &[MetricDefinition]) -> Result<Self, InvalidMetricRegex> {
        let definitions = definitions
            .iter()
            .map(|d| {
                Regex::new(&d.regex)
                    .map(|regex| (d.name.clone(), regex))
                    .map_err(|source| InvalidMetricRegex {
                        name: d.name.clone(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let last = vec![None; definitions.len()];
        Ok(Self { definitions, last })
    }

    /// Looks for every metric in one line of output.
    pub fn scan(&mut self, line: &str) {
        for ((_, regex), last) in self.definitions.iter().zip(&mut self.last) {
            let Some(captures) = regex.captures(line) else {
                continue;
            };
            // A regex without a group gives its whole match.
            let text = captures.get(1).or_else(|| captures.get(0));
            let value = text.and_then(|m| m.as_str().trim().parse::<f64>().ok());
            // JSON has no NaN or infinity: such values are not reported.
            if let Some(value) = value.filter(|v| v.is_finite()) {
                *last = Some((value, Timestamp::now()));
            }
        }
    }

    /// The last value of each metric that matched, in definition order.
    pub fn final_metrics(&self) -> Vec<MetricValue> {
        self.definitions
            .iter()
            .zip(&self.last)
            .filter_map(|((name, _), last)| {
                last.map(|(value, timestamp)| MetricValue {
                    name: name.clone(),
                    value,
                    timestamp,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(name: &str, regex: &str) -> MetricDefinition {
        MetricDefinition {
            name: name.into(),
            regex: regex.into(),
        }
    }

    #[test]
    fn the_last_value_of_each_metric_is_final() {
        let mut scraper = MetricScraper::new(&[
            definition("train:accuracy", "train accuracy: ([0-9.]+)"),
            definition("never", "never printed: ([0-9.]+)"),
            definition("loss", "loss=(\\S+)"),
        ])
        .unwrap();
        for line in [
            "epoch 1 loss=0.9",
            "train accuracy: 0.5",
            "epoch 2 loss=nan",
            "train accuracy: 0.75 and more",
            "loss=not-a-number",
        ] {
            scraper.scan(line);
        }
        let metrics: Vec<(String, f64)> = scraper
            .final_metrics()
            .into_iter()
            .map(|m| (m.name, m.value))
            .collect();
        assert_eq!(
            metrics,
            [
                ("train:accuracy".to_owned(), 0.75),
                ("loss".to_owned(), 0.9)
            ]
        );
    }

    #[test]
    fn a_regex_without_a_group_gives_its_match() {
        let mut scraper = MetricScraper::new(&[definition("n", "[0-9]+")]).unwrap();
        scraper.scan("step 42");
        assert_eq!(scraper.final_metrics()[0].value, 42.0);
    }

    #[test]
    fn an_invalid_regex_names_its_metric() {
        let err = MetricScraper::new(&[definition("bad", "(unclosed")]).unwrap_err();
        assert!(
            err.to_string().starts_with("the Regex of metric `bad`"),
            "{err}"
        );
    }
}
