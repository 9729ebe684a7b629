//! Order statistics of measured durations.

use std::time::Duration;

use serde::Serialize;

/// Median, p90 and p99 of a sample, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// How many values were measured.
    pub n: usize,
    pub min_ms: f64,
    /// The middle value; the mean of the two middle values for an even count.
    pub median_ms: f64,
    /// Nearest-rank percentiles: the smallest value with at least p% of the sample at or below it.
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    /// `None` for an empty sample.
    pub fn of(values: &[Duration]) -> Option<Summary> {
        let mut ms: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        Summary::of_ms(&mut ms)
    }

    /// Of values already in milliseconds (sorted in place).
    pub fn of_ms(values: &mut [f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        Some(Summary {
            n: values.len(),
            min_ms: values[0],
            median_ms: median(values),
            p90_ms: percentile(values, 90.0),
            p99_ms: percentile(values, 99.0),
            max_ms: values[values.len() - 1],
        })
    }
}

/// The median of a sorted, non-empty sample.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The nearest-rank `p`th percentile (0 < p <= 100) of a sorted, non-empty sample: the value at
/// rank ceil(p/100 * n).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn empty_sample_has_no_summary() {
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn one_value_is_every_statistic() {
        let s = Summary::of(&ms(&[7])).unwrap();
        assert_eq!(
            (s.n, s.min_ms, s.median_ms, s.p90_ms, s.p99_ms, s.max_ms),
            (1, 7.0, 7.0, 7.0, 7.0, 7.0)
        );
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(Summary::of(&ms(&[3, 1, 2])).unwrap().median_ms, 2.0);
        assert_eq!(Summary::of(&ms(&[4, 1, 3, 2])).unwrap().median_ms, 2.5);
    }

    #[test]
    fn nearest_rank_percentiles() {
        // 1..=20: p90 is the 18th value, p99 the 20th.
        let values: Vec<u64> = (1..=20).rev().collect();
        let s = Summary::of(&ms(&values)).unwrap();
        assert_eq!((s.p90_ms, s.p99_ms), (18.0, 20.0));
        assert_eq!((s.min_ms, s.max_ms, s.median_ms), (1.0, 20.0, 10.5));
        // 1..=200: p99 is the 198th value, p90 the 180th.
        let values: Vec<u64> = (1..=200).collect();
        let s = Summary::of(&ms(&values)).unwrap();
        assert_eq!((s.p90_ms, s.p99_ms), (180.0, 198.0));
        // 1..=10: p99 is the maximum, p90 the 9th.
        let values: Vec<u64> = (1..=10).collect();
        let s = Summary::of(&ms(&values)).unwrap();
        assert_eq!((s.p90_ms, s.p99_ms), (9.0, 10.0));
    }

    #[test]
    fn percentile_bounds() {
        let sorted = [1.0, 2.0, 3.0];
        assert_eq!(percentile(&sorted, 0.1), 1.0);
        assert_eq!(percentile(&sorted, 100.0), 3.0);
    }

    #[test]
    fn sub_millisecond_precision() {
        let s = Summary::of(&[Duration::from_micros(1500)]).unwrap();
        assert!((s.median_ms - 1.5).abs() < 1e-9);
    }
}
