//! Choosing the hyperparameter values of a tuning job's training jobs from its
//! `ParameterRanges`. Grid enumerates every combination of the categorical values; every
//! other strategy (Random, Bayesian, Hyperband) is a seeded random search here, which never
//! repeats a combination.

use std::collections::{BTreeMap, BTreeSet};

use sagemaker_requests::ParameterRanges;

/// One set of tuned values, by hyperparameter name.
pub type Combination = BTreeMap<String, String>;

/// Tries to find a combination not drawn yet before concluding the ranges are exhausted.
const FRESH_ATTEMPTS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Logarithmic,
    ReverseLogarithmic,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Range {
    Integer {
        name: String,
        min: i64,
        max: i64,
        scale: Scale,
    },
    Continuous {
        name: String,
        min: f64,
        max: f64,
        scale: Scale,
    },
    Categorical {
        name: String,
        values: Vec<String>,
    },
}

impl Range {
    pub fn name(&self) -> &str {
        match self {
            Range::Integer { name, .. }
            | Range::Continuous { name, .. }
            | Range::Categorical { name, .. } => name,
        }
    }
}

/// `Auto` is linear here: SageMaker decides by itself, and linear is what it starts from.
fn scale(name: &str, scaling: Option<&str>) -> Result<Scale, String> {
    match scaling.unwrap_or("Auto") {
        "Auto" | "Linear" => Ok(Scale::Linear),
        "Logarithmic" => Ok(Scale::Logarithmic),
        "ReverseLogarithmic" => Ok(Scale::ReverseLogarithmic),
        other => Err(format!(
            "ScalingType `{other}` of `{name}` is not Auto, Linear, Logarithmic or ReverseLogarithmic"
        )),
    }
}

fn number<T: std::str::FromStr>(
    name: &str,
    which: &str,
    text: &str,
    kind: &str,
) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{which} `{text}` of `{name}` is not {kind}"))
}

/// The ranges of a tuning job, checked as SageMaker checks them.
pub fn ranges(parameter_ranges: &ParameterRanges) -> Result<Vec<Range>, String> {
    let mut out = Vec::new();
    for r in parameter_ranges.integer_parameter_ranges.iter().flatten() {
        let min: i64 = number(&r.name, "MinValue", &r.min_value, "an integer")?;
        let max: i64 = number(&r.name, "MaxValue", &r.max_value, "an integer")?;
        let scale = scale(&r.name, r.scaling_type.as_deref())?;
        if min > max {
            return Err(format!(
                "MinValue {min} of `{}` is greater than its MaxValue {max}",
                r.name
            ));
        }
        match scale {
            Scale::Logarithmic if min <= 0 => {
                return Err(format!(
                    "Logarithmic scaling of `{}` needs a MinValue greater than 0",
                    r.name
                ));
            }
            Scale::ReverseLogarithmic => {
                return Err(format!(
                    "ReverseLogarithmic scaling of `{}` works only for continuous parameters",
                    r.name
                ));
            }
            _ => {}
        }
        out.push(Range::Integer {
            name: r.name.clone(),
            min,
            max,
            scale,
        });
    }
    for r in parameter_ranges
        .continuous_parameter_ranges
        .iter()
        .flatten()
    {
        let min: f64 = number(&r.name, "MinValue", &r.min_value, "a number")?;
        let max: f64 = number(&r.name, "MaxValue", &r.max_value, "a number")?;
        let scale = scale(&r.name, r.scaling_type.as_deref())?;
        if !min.is_finite() || !max.is_finite() || min > max {
            return Err(format!(
                "MinValue {min} of `{}` must be a number no greater than its MaxValue {max}",
                r.name
            ));
        }
        match scale {
            Scale::Logarithmic if min <= 0.0 => {
                return Err(format!(
                    "Logarithmic scaling of `{}` needs a MinValue greater than 0",
                    r.name
                ));
            }
            Scale::ReverseLogarithmic if !(0.0..1.0).contains(&min) || max >= 1.0 => {
                return Err(format!(
                    "ReverseLogarithmic scaling of `{}` works only for ranges within 0 <= x < 1.0",
                    r.name
                ));
            }
            _ => {}
        }
        out.push(Range::Continuous {
            name: r.name.clone(),
            min,
            max,
            scale,
        });
    }
    for r in parameter_ranges
        .categorical_parameter_ranges
        .iter()
        .flatten()
    {
        if r.values.is_empty() {
            return Err(format!("categorical parameter `{}` has no Values", r.name));
        }
        out.push(Range::Categorical {
            name: r.name.clone(),
            values: r.values.clone(),
        });
    }
    if parameter_ranges
        .auto_parameters
        .as_ref()
        .is_some_and(|a| !a.is_empty())
    {
        return Err("AutoParameters (Autotune) are not supported by the local SageMaker: give explicit ranges".into());
    }
    let mut seen = BTreeSet::new();
    for range in &out {
        if !seen.insert(range.name()) {
            return Err(format!(
                "hyperparameter `{}` has more than one range",
                range.name()
            ));
        }
    }
    if out.is_empty() {
        return Err("ParameterRanges has no range to tune".into());
    }
    Ok(out)
}

/// Every combination of the categorical values, the first range varying slowest, at most
/// `limit` of them.
pub fn grid(ranges: &[Range], limit: Option<usize>) -> Result<Vec<Combination>, String> {
    let mut combinations = vec![Combination::new()];
    for range in ranges {
        let Range::Categorical { name, values } = range else {
            return Err(format!(
                "the Grid strategy takes only categorical parameters; `{}` is not one",
                range.name()
            ));
        };
        combinations = combinations
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut next = c.clone();
                    next.insert(name.clone(), v.clone());
                    next
                })
            })
            .collect();
    }
    if let Some(limit) = limit {
        combinations.truncate(limit);
    }
    Ok(combinations)
}

/// `count` combinations drawn at random with `seed`, none twice; fewer when the ranges hold
/// fewer.
pub fn random(ranges: &[Range], count: usize, seed: u64) -> Vec<Combination> {
    let mut rng = SplitMix64(seed);
    let mut drawn = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < count {
        let fresh = (0..FRESH_ATTEMPTS)
            .map(|_| draw(ranges, &mut rng))
            .find(|c| !drawn.contains(c));
        let Some(combination) = fresh else { break };
        drawn.insert(combination.clone());
        out.push(combination);
    }
    out
}

fn draw(ranges: &[Range], rng: &mut SplitMix64) -> Combination {
    ranges
        .iter()
        .map(|range| {
            let value = match range {
                Range::Integer {
                    min, max, scale, ..
                } => integer(*min, *max, *scale, rng).to_string(),
                Range::Continuous {
                    min, max, scale, ..
                } => short(continuous(*min, *max, *scale, rng.unit())),
                Range::Categorical { values, .. } => {
                    values[rng.below(values.len() as u64) as usize].clone()
                }
            };
            (range.name().to_owned(), value)
        })
        .collect()
}

fn integer(min: i64, max: i64, scale: Scale, rng: &mut SplitMix64) -> i64 {
    match scale {
        Scale::Logarithmic => {
            // Log-uniform over [min, max + 1), floored: each decade equally likely.
            let (lo, hi) = ((min as f64).ln(), ((max + 1) as f64).ln());
            ((lo + rng.unit() * (hi - lo)).exp().floor() as i64).clamp(min, max)
        }
        _ => {
            let span = max.abs_diff(min) + 1;
            min.saturating_add_unsigned(rng.below(span))
        }
    }
}

fn continuous(min: f64, max: f64, scale: Scale, u: f64) -> f64 {
    match scale {
        Scale::Linear => min + u * (max - min),
        Scale::Logarithmic => (min.ln() + u * (max.ln() - min.ln())).exp(),
        // Dense near 1: 1 - x is log-uniform.
        Scale::ReverseLogarithmic => {
            let (lo, hi) = ((1.0 - max).ln(), (1.0 - min).ln());
            1.0 - (lo + u * (hi - lo)).exp()
        }
    }
}

/// Six significant digits: enough to tune, short enough to read.
fn short(value: f64) -> String {
    let rounded: f64 = format!("{value:.5e}").parse().unwrap_or(value);
    format!("{rounded}")
}

/// A seed from a name (FNV-1a), for tuning jobs without a RandomSeed.
pub fn seed_from(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SplitMix64: small, and the same numbers from the same seed on every platform and version,
/// which is what makes a local tuning job reproducible.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n), for n > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use sagemaker_requests::{
        CategoricalParameterRange, ContinuousParameterRange, IntegerParameterRange,
    };

    use super::*;

    fn parameter_ranges() -> ParameterRanges {
        ParameterRanges {
            integer_parameter_ranges: Some(vec![IntegerParameterRange {
                name: "max_depth".into(),
                min_value: "2".into(),
                max_value: "12".into(),
                scaling_type: None,
            }]),
            continuous_parameter_ranges: Some(vec![ContinuousParameterRange {
                name: "eta".into(),
                min_value: "0.001".into(),
                max_value: "0.5".into(),
                scaling_type: Some("Logarithmic".into()),
            }]),
            categorical_parameter_ranges: Some(vec![CategoricalParameterRange {
                name: "criterion".into(),
                values: vec!["gini".into(), "entropy".into()],
            }]),
            auto_parameters: None,
        }
    }

    #[test]
    fn random_search_is_reproducible_and_within_the_ranges() {
        let ranges = ranges(&parameter_ranges()).unwrap();
        let a = random(&ranges, 50, 7);
        assert_eq!(a, random(&ranges, 50, 7));
        assert_ne!(a, random(&ranges, 50, 8));
        for c in &a {
            let depth: i64 = c["max_depth"].parse().unwrap();
            let eta: f64 = c["eta"].parse().unwrap();
            assert!((2..=12).contains(&depth), "{c:?}");
            assert!((0.001..=0.5).contains(&eta), "{c:?}");
            assert!(["gini", "entropy"].contains(&c["criterion"].as_str()));
        }
        let depths: BTreeSet<&str> = a.iter().map(|c| c["max_depth"].as_str()).collect();
        assert!(depths.len() > 5, "a random search explores: {depths:?}");
    }

    #[test]
    fn random_search_stops_when_the_ranges_are_exhausted() {
        let ranges = vec![
            Range::Integer {
                name: "a".into(),
                min: 1,
                max: 3,
                scale: Scale::Linear,
            },
            Range::Categorical {
                name: "b".into(),
                values: vec!["x".into(), "y".into()],
            },
        ];
        let drawn = random(&ranges, 10, 1);
        assert_eq!(drawn.len(), 6);
        assert_eq!(drawn.iter().collect::<BTreeSet<_>>().len(), 6);
    }

    #[test]
    fn grid_takes_every_combination_of_categorical_values() {
        let ranges = vec![
            Range::Categorical {
                name: "a".into(),
                values: vec!["1".into(), "2".into()],
            },
            Range::Categorical {
                name: "b".into(),
                values: vec!["x".into(), "y".into(), "z".into()],
            },
        ];
        let all = grid(&ranges, None).unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(
            all[0],
            Combination::from([("a".into(), "1".into()), ("b".into(), "x".into())])
        );
        assert_eq!(all[1]["b"], "y");
        assert_eq!(grid(&ranges, Some(4)).unwrap().len(), 4);
        let numeric = vec![Range::Integer {
            name: "n".into(),
            min: 1,
            max: 2,
            scale: Scale::Linear,
        }];
        assert!(
            grid(&numeric, None)
                .unwrap_err()
                .contains("only categorical")
        );
    }

    #[test]
    fn ranges_are_checked_as_sagemaker_checks_them() {
        let mut bad = parameter_ranges();
        bad.integer_parameter_ranges.as_mut().unwrap()[0].min_value = "20".into();
        assert!(
            ranges(&bad)
                .unwrap_err()
                .contains("greater than its MaxValue")
        );
        let mut bad = parameter_ranges();
        bad.continuous_parameter_ranges.as_mut().unwrap()[0].min_value = "0".into();
        assert!(ranges(&bad).unwrap_err().contains("Logarithmic"));
        let mut bad = parameter_ranges();
        bad.categorical_parameter_ranges.as_mut().unwrap()[0].name = "max_depth".into();
        assert!(ranges(&bad).unwrap_err().contains("more than one range"));
        let mut bad = parameter_ranges();
        bad.integer_parameter_ranges.as_mut().unwrap()[0].max_value = "twelve".into();
        assert!(ranges(&bad).unwrap_err().contains("not an integer"));
    }

    #[test]
    fn scales_cover_their_range() {
        for u in [0.0, 0.25, 0.5, 0.999_999] {
            let v = continuous(0.9, 0.999, Scale::ReverseLogarithmic, u);
            assert!((0.9..=0.999).contains(&v), "{v}");
            let v = continuous(1e-4, 1.0, Scale::Logarithmic, u);
            assert!((1e-4..=1.0).contains(&v), "{v}");
        }
        let mut rng = SplitMix64(3);
        for _ in 0..1000 {
            assert!((1..=1000).contains(&integer(1, 1000, Scale::Logarithmic, &mut rng)));
            assert!((-5..=5).contains(&integer(-5, 5, Scale::Linear, &mut rng)));
        }
        assert_eq!(short(0.123_456_789), "0.123457");
        assert_eq!(short(0.000_012_345_678), "0.0000123457");
    }
}
