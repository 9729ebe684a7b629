//! The budgets of issue #9, checked against one run's measurements.
//!
//! A budget is a claim the README makes; the benchmark reports the rows over it and does not fail
//! (timings on a shared machine are indications, ratios within one run are the evidence).

use serde::Serialize;

/// A cold start's median is at most this fraction of the Python baseline's.
pub const COLD_START_MAX_FRACTION: f64 = 0.1;
/// Peak RSS (VmHWM) of one cold invocation: 32 MiB.
pub const PEAK_RSS_MAX_BYTES: u64 = 32 * 1024 * 1024;
/// Each release zip: 4 MiB.
pub const ZIP_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// "Dominated by the SDK round trip": at most this share of the median warm invocation is spent
/// outside the HTTP calls (the services' own time, measured on the wire).
pub const WARM_OWN_SHARE_MAX: f64 = 0.5;
/// What the local SageMaker's runtime API adds to an invocation, at the median: InvokeEndpoint
/// through it minus the same request straight to the model server (issue 14).
pub const HOSTING_OVERHEAD_MAX_MS: f64 = 1.0;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Within,
    Over,
    NotMeasured,
}

impl Verdict {
    fn from_within(within: bool) -> Verdict {
        if within {
            Verdict::Within
        } else {
            Verdict::Over
        }
    }

    /// As the table shows it.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Within => "ok",
            Verdict::Over => "OVER BUDGET",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// One budget applied to one function.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub function: String,
    pub budget: String,
    /// What was measured, as the table shows it.
    pub measured: String,
    pub verdict: Verdict,
}

/// Cold start median against the baseline's (`None`: no baseline was measured).
pub fn cold_start(function: &str, ours_ms: f64, baseline_ms: Option<f64>, against: &str) -> Check {
    let (measured, verdict) = match baseline_ms {
        Some(base) if base > 0.0 => (
            format!(
                "{} vs {} ({})",
                crate::report::ms(ours_ms),
                crate::report::ms(base),
                crate::report::fraction(ours_ms / base)
            ),
            Verdict::from_within(ours_ms <= base * COLD_START_MAX_FRACTION),
        ),
        _ => (crate::report::ms(ours_ms), Verdict::NotMeasured),
    };
    Check {
        function: function.to_owned(),
        budget: format!("cold start median <= 1/10 of {against}"),
        measured,
        verdict,
    }
}

pub fn peak_rss(function: &str, bytes: Option<u64>) -> Check {
    Check {
        function: function.to_owned(),
        budget: format!("peak RSS <= {}", crate::report::bytes(PEAK_RSS_MAX_BYTES)),
        measured: bytes.map_or_else(|| "-".to_owned(), crate::report::bytes),
        verdict: bytes.map_or(Verdict::NotMeasured, |b| {
            Verdict::from_within(b <= PEAK_RSS_MAX_BYTES)
        }),
    }
}

pub fn zip(function: &str, arch: &str, bytes: Option<u64>) -> Check {
    Check {
        function: function.to_owned(),
        budget: format!("{arch} zip <= {}", crate::report::bytes(ZIP_MAX_BYTES)),
        measured: bytes.map_or_else(|| "-".to_owned(), crate::report::bytes),
        verdict: bytes.map_or(Verdict::NotMeasured, |b| {
            Verdict::from_within(b <= ZIP_MAX_BYTES)
        }),
    }
}

/// `own_share`: the median share of a warm invocation spent outside the HTTP calls.
pub fn warm_share(function: &str, own_share: Option<f64>) -> Check {
    Check {
        function: function.to_owned(),
        budget: format!(
            "warm: share outside HTTP calls <= {}",
            crate::report::percent(WARM_OWN_SHARE_MAX)
        ),
        measured: own_share.map_or_else(|| "-".to_owned(), crate::report::percent),
        verdict: own_share.map_or(Verdict::NotMeasured, |s| {
            Verdict::from_within(s <= WARM_OWN_SHARE_MAX)
        }),
    }
}

/// `medians`: InvokeEndpoint through the local runtime and straight to the model server, in ms.
pub fn hosting_overhead(medians: Option<(f64, f64)>) -> Check {
    let ms = crate::report::ms;
    Check {
        function: crate::hosting::NAME.to_owned(),
        budget: format!(
            "InvokeEndpoint overhead over the model server, median <= {HOSTING_OVERHEAD_MAX_MS} ms"
        ),
        measured: medians.map_or_else(
            || "-".to_owned(),
            |(runtime, direct)| {
                format!(
                    "{} ({} through the runtime, {} direct)",
                    ms(runtime - direct),
                    ms(runtime),
                    ms(direct)
                )
            },
        ),
        verdict: medians.map_or(Verdict::NotMeasured, |(runtime, direct)| {
            Verdict::from_within(runtime - direct <= HOSTING_OVERHEAD_MAX_MS)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_start_is_within_at_exactly_a_tenth() {
        assert_eq!(
            cold_start("f", 50.0, Some(500.0), "b").verdict,
            Verdict::Within
        );
        assert_eq!(
            cold_start("f", 50.1, Some(500.0), "b").verdict,
            Verdict::Over
        );
        assert_eq!(
            cold_start("f", 5.0, None, "b").verdict,
            Verdict::NotMeasured
        );
        assert_eq!(
            cold_start("f", 5.0, Some(0.0), "b").verdict,
            Verdict::NotMeasured
        );
        let check = cold_start("start-training", 20.0, Some(400.0), "the Python baseline");
        assert_eq!(check.measured, "20.0 ms vs 400 ms (0.050 = 1/20)");
        assert_eq!(
            check.budget,
            "cold start median <= 1/10 of the Python baseline"
        );
    }

    #[test]
    fn rss_budget_is_32_mib() {
        assert_eq!(peak_rss("f", Some(32 << 20)).verdict, Verdict::Within);
        assert_eq!(peak_rss("f", Some((32 << 20) + 1)).verdict, Verdict::Over);
        assert_eq!(peak_rss("f", None).verdict, Verdict::NotMeasured);
        assert_eq!(peak_rss("f", None).measured, "-");
    }

    #[test]
    fn zip_budget_is_4_mib_per_architecture() {
        let check = zip("notify", "arm64", Some(3 << 20));
        assert_eq!(check.verdict, Verdict::Within);
        assert_eq!(check.budget, "arm64 zip <= 4 MiB");
        assert_eq!(check.measured, "3 MiB");
        assert_eq!(zip("f", "x86_64", Some(5 << 20)).verdict, Verdict::Over);
    }

    #[test]
    fn warm_share_budget() {
        assert_eq!(warm_share("f", Some(0.5)).verdict, Verdict::Within);
        assert_eq!(warm_share("f", Some(0.51)).verdict, Verdict::Over);
        assert_eq!(warm_share("f", None).verdict, Verdict::NotMeasured);
        assert_eq!(warm_share("f", Some(0.123)).measured, "12.3%");
    }

    #[test]
    fn hosting_overhead_budget_is_1_ms_at_the_median() {
        let check = hosting_overhead(Some((2.5, 1.5)));
        assert_eq!(check.verdict, Verdict::Within);
        assert_eq!(check.function, "local hosting");
        assert_eq!(
            check.budget,
            "InvokeEndpoint overhead over the model server, median <= 1 ms"
        );
        assert_eq!(
            check.measured,
            "1.00 ms (2.50 ms through the runtime, 1.50 ms direct)"
        );
        assert_eq!(hosting_overhead(Some((2.51, 1.5))).verdict, Verdict::Over);
        assert_eq!(hosting_overhead(None).verdict, Verdict::NotMeasured);
    }

    #[test]
    fn labels() {
        assert_eq!(Verdict::Over.label(), "OVER BUDGET");
        assert_eq!(Verdict::Within.label(), "ok");
    }
}
