//! The report: what was measured, rendered as a Markdown table (readable in a terminal too) and
//! serialised as JSON.

use serde::Serialize;

use crate::budget::{Check, Verdict};
use crate::stats::Summary;

/// The machine and the run's settings.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_gib: Option<f64>,
    /// `uname -sm`-like: operating system and architecture.
    pub platform: String,
    /// UTC, when the run started.
    pub date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Runs {
    pub cold_starts: usize,
    pub warm_invocations: usize,
    pub breakdown_invocations: usize,
}

/// Time spent outside the HTTP calls during warm invocations.
#[derive(Debug, Clone, Serialize)]
pub struct Own {
    pub invocations: usize,
    /// Median invocation (through the timing proxy, so a little slower than `warm`).
    pub invocation_median_ms: f64,
    /// Median of the invocations' summed service time (each HTTP call, as the proxy saw it).
    pub http_median_ms: f64,
    /// Median of (invocation - its HTTP calls).
    pub own_median_ms: f64,
    /// Median of (invocation - its HTTP calls) / invocation.
    pub own_share: f64,
    pub http_calls_per_invocation: f64,
}

/// A release zip.
#[derive(Debug, Clone, Serialize)]
pub struct Zip {
    /// `arm64`, `x86_64`, or `any` for the Python baseline.
    pub arch: String,
    pub bytes: u64,
    /// What is in it.
    pub contents: String,
}

/// One implementation's measurements.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Side {
    /// Cold start: spawn to the first completed invocation.
    pub cold: Option<Summary>,
    /// Spawn to the first `/next` of each cold start.
    pub init: Option<Summary>,
    pub warm: Option<Summary>,
    /// VmHWM after one cold invocation, the highest of the cold starts.
    pub peak_rss_bytes: Option<u64>,
    pub own: Option<Own>,
    pub zips: Vec<Zip>,
}

impl Side {
    fn zip(&self, arch: &str) -> Option<&Zip> {
        self.zips.iter().find(|z| z.arch == arch)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionReport {
    pub function: String,
    pub ours: Side,
    /// The Python/boto3 implementation, where there is one.
    pub baseline: Option<Side>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub runs: Runs,
    pub functions: Vec<FunctionReport>,
    /// The local SageMaker's endpoint start and its runtime API's overhead.
    pub hosting: Option<crate::hosting::HostingReport>,
    /// The demo pipeline's wall time against its training processes' time.
    pub pipeline: Option<crate::pipeline::PipelineOverhead>,
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
}

/// `12.3 ms`: three significant digits or so.
pub fn ms(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.1} s", value / 1000.0)
    } else if value >= 100.0 {
        format!("{value:.0} ms")
    } else if value >= 10.0 {
        format!("{value:.1} ms")
    } else {
        format!("{value:.2} ms")
    }
}

pub fn bytes(value: u64) -> String {
    const KIB: f64 = 1024.0;
    let v = value as f64;
    if value > 0 && value.is_multiple_of(1 << 20) {
        format!("{} MiB", value >> 20)
    } else if v >= KIB * KIB {
        // Three decimals: a zip 2 KiB under a 4 MiB budget must not read as 4.00.
        format!("{:.3} MiB", v / KIB / KIB)
    } else if v >= KIB {
        format!("{:.1} KiB", v / KIB)
    } else {
        format!("{value} B")
    }
}

/// Ours / baseline: `0.050 = 1/20` below 1, `2.5x` above.
pub fn fraction(ratio: f64) -> String {
    if !ratio.is_finite() || ratio <= 0.0 {
        "-".to_owned()
    } else if ratio < 1.0 {
        format!("{ratio:.3} = 1/{:.0}", 1.0 / ratio)
    } else {
        format!("{ratio:.1}x")
    }
}

pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A Markdown table with padded columns.
pub fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let padded: Vec<String> = cells
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(&mut headers.iter().map(|h| (*h).to_owned()));
    out.push_str(&line(&mut widths.iter().map(|w| "-".repeat(*w))));
    for row in rows {
        let mut cells = (0..columns).map(|i| row.get(i).cloned().unwrap_or_default());
        out.push_str(&line(&mut cells));
    }
    out
}

pub const HEADERS: [&str; 6] = [
    "Function",
    "Metric",
    "Ours (Rust)",
    "Python/boto3 baseline",
    "Ours / baseline",
    "Budget",
];

impl Report {
    fn verdict(&self, function: &str, budget_prefix: &str) -> String {
        self.checks
            .iter()
            .filter(|c| c.function == function && c.budget.starts_with(budget_prefix))
            .map(|c| match c.verdict {
                Verdict::NotMeasured => String::new(),
                _ => c.verdict.label().to_owned(),
            })
            .next()
            .unwrap_or_default()
    }

    /// The table's rows: one per function and metric.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for f in &self.functions {
            let name = f.function.as_str();
            let base = f.baseline.as_ref();
            let mut row = |metric: &str,
                           ours: Option<f64>,
                           theirs: Option<f64>,
                           fmt: &dyn Fn(f64) -> String,
                           budget: String| {
                let ratio = match (ours, theirs) {
                    (Some(o), Some(t)) if t > 0.0 => fraction(o / t),
                    _ => String::new(),
                };
                rows.push(vec![
                    name.to_owned(),
                    metric.to_owned(),
                    ours.map_or_else(|| "-".to_owned(), fmt),
                    theirs.map_or_else(|| "-".to_owned(), fmt),
                    ratio,
                    budget,
                ]);
            };
            let pick = |side: Option<&Side>, get: &dyn Fn(&Side) -> Option<f64>| side.and_then(get);
            let ours = Some(&f.ours);
            let cold_median = |s: &Side| s.cold.map(|c| c.median_ms);
            row(
                "cold start, median",
                pick(ours, &cold_median),
                pick(base, &cold_median),
                &ms,
                self.verdict(name, "cold start"),
            );
            let cold_p90 = |s: &Side| s.cold.map(|c| c.p90_ms);
            row(
                "cold start, p90",
                pick(ours, &cold_p90),
                pick(base, &cold_p90),
                &ms,
                String::new(),
            );
            let init = |s: &Side| s.init.map(|c| c.median_ms);
            row(
                "  of which init (spawn to first /next), median",
                pick(ours, &init),
                pick(base, &init),
                &ms,
                String::new(),
            );
            let warm_median = |s: &Side| s.warm.map(|c| c.median_ms);
            row(
                "warm invocation, median",
                pick(ours, &warm_median),
                pick(base, &warm_median),
                &ms,
                String::new(),
            );
            let warm_p99 = |s: &Side| s.warm.map(|c| c.p99_ms);
            row(
                "warm invocation, p99",
                pick(ours, &warm_p99),
                pick(base, &warm_p99),
                &ms,
                String::new(),
            );
            let own_ms = |s: &Side| s.own.as_ref().map(|o| o.own_median_ms);
            row(
                "warm: outside HTTP calls, median",
                pick(ours, &own_ms),
                pick(base, &own_ms),
                &ms,
                String::new(),
            );
            let share = |s: &Side| s.own.as_ref().map(|o| o.own_share);
            row(
                "warm: outside HTTP calls, share",
                pick(ours, &share),
                pick(base, &share),
                &percent,
                self.verdict(name, "warm"),
            );
            let calls = |s: &Side| s.own.as_ref().map(|o| o.http_calls_per_invocation);
            row(
                "warm: HTTP calls per invocation",
                pick(ours, &calls),
                pick(base, &calls),
                &|v| format!("{v:.0}"),
                String::new(),
            );
            let rss = |s: &Side| s.peak_rss_bytes.map(|b| b as f64);
            row(
                "peak RSS, one cold invocation",
                pick(ours, &rss),
                pick(base, &rss),
                &|v| bytes(v as u64),
                self.verdict(name, "peak RSS"),
            );
            for arch in ["arm64", "x86_64"] {
                let ours_zip = f.ours.zip(arch).map(|z| z.bytes as f64);
                let vendored =
                    base.and_then(|b| b.zips.iter().find(|z| z.contents.contains("boto3")));
                let handler_only =
                    base.and_then(|b| b.zips.iter().find(|z| !z.contents.contains("boto3")));
                let ratio = match (ours_zip, vendored) {
                    (Some(o), Some(v)) if v.bytes > 0 => fraction(o / v.bytes as f64),
                    _ => String::new(),
                };
                let theirs = match (handler_only, vendored) {
                    (Some(h), Some(v)) => format!(
                        "{} with boto3 ({} handler only)",
                        bytes(v.bytes),
                        bytes(h.bytes)
                    ),
                    (Some(h), None) => format!("{} handler only", bytes(h.bytes)),
                    (None, Some(v)) => bytes(v.bytes),
                    (None, None) => "-".to_owned(),
                };
                rows.push(vec![
                    name.to_owned(),
                    format!("release zip, {arch}"),
                    ours_zip.map_or_else(|| "-".to_owned(), |b| bytes(b as u64)),
                    theirs,
                    ratio,
                    self.verdict(name, &format!("{arch} zip")),
                ]);
            }
        }
        if let Some(h) = &self.hosting {
            rows.extend(self.hosting_rows(h));
        }
        if let Some(p) = &self.pipeline {
            let seconds = |s: f64| format!("{s:.1} s");
            let runs = p.runs.len();
            for (metric, value) in [
                (
                    format!("demo wall time, median of {runs}"),
                    seconds(p.wall_median_s),
                ),
                (
                    "  training processes running (union)".to_owned(),
                    seconds(p.training_busy_median_s),
                ),
                (
                    "  training processes' own time, summed".to_owned(),
                    seconds(p.training_sum_median_s),
                ),
                (
                    format!("  pipeline overhead (wall - union; poll {:.1} s)", p.poll_s),
                    seconds(p.overhead_median_s),
                ),
            ] {
                rows.push(vec![
                    "local pipeline".to_owned(),
                    metric,
                    value,
                    "-".to_owned(),
                    String::new(),
                    String::new(),
                ]);
            }
        }
        rows
    }

    /// The local hosting's rows; the budget's verdict on the overhead's.
    fn hosting_rows(&self, h: &crate::hosting::HostingReport) -> Vec<Vec<String>> {
        let name = crate::hosting::NAME;
        let row = |metric: String, value: String, budget: String| {
            vec![
                name.to_owned(),
                metric,
                value,
                "-".to_owned(),
                String::new(),
                budget,
            ]
        };
        let starts = h.endpoint_starts_s.len();
        vec![
            row(
                format!("endpoint start to InService, median of {starts}"),
                format!("{:.2} s", h.endpoint_start_median_s),
                String::new(),
            ),
            row(
                "InvokeEndpoint via the local runtime, median".to_owned(),
                ms(h.runtime.median_ms),
                String::new(),
            ),
            row(
                "InvokeEndpoint via the local runtime, p99".to_owned(),
                ms(h.runtime.p99_ms),
                String::new(),
            ),
            row(
                "model server /invocations direct, median".to_owned(),
                ms(h.direct.median_ms),
                String::new(),
            ),
            row(
                "model server /invocations direct, p99".to_owned(),
                ms(h.direct.p99_ms),
                String::new(),
            ),
            row(
                "  runtime overhead (runtime - direct), median".to_owned(),
                ms(h.overhead_median_ms),
                self.verdict(name, "InvokeEndpoint overhead"),
            ),
        ]
    }

    pub fn over_budget(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Over)
            .collect()
    }

    /// The whole report as Markdown.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::from("# make bench\n\n");
        out.push_str(&format!(
            "{} · {} cores{} · {}",
            m.date,
            m.cores,
            m.memory_gib
                .map(|g| format!(", {g:.0} GiB"))
                .unwrap_or_default(),
            m.platform,
        ));
        if !self.functions.is_empty() {
            out.push_str(&format!(
                " · {} cold starts, {} warm invocations ({} through the timing proxy) per function",
                self.runs.cold_starts, self.runs.warm_invocations, self.runs.breakdown_invocations,
            ));
        }
        if let Some(h) = &self.hosting {
            out.push_str(&format!(
                " · {} InvokeEndpoint requests through the local runtime and {} direct, after {} of each",
                h.runtime.n, h.direct.n, h.warmup
            ));
        }
        out.push_str("\n\n");
        out.push_str(
            "Absolute times are indications (a shared, noisy machine); the ratios compare both \
             implementations measured in the same run, against the same local services.\n\n",
        );
        out.push_str(&render_table(&HEADERS, &self.rows()));
        out.push_str("\n## Budgets\n\n");
        let rows: Vec<Vec<String>> = self
            .checks
            .iter()
            .map(|c| {
                vec![
                    c.function.clone(),
                    c.budget.clone(),
                    c.measured.clone(),
                    c.verdict.label().to_owned(),
                ]
            })
            .collect();
        out.push_str(&render_table(
            &["Function", "Budget", "Measured", "Verdict"],
            &rows,
        ));
        let over = self.over_budget();
        out.push('\n');
        if over.is_empty() {
            out.push_str("Every measured row is within its budget.\n");
        } else {
            for c in over {
                out.push_str(&format!(
                    "OVER BUDGET: {}: {} (measured {})\n",
                    c.function, c.budget, c.measured
                ));
            }
        }
        if !self.notes.is_empty() {
            out.push_str("\n## Notes\n\n");
            for note in &self.notes {
                out.push_str(&format!("- {note}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::budget;

    #[test]
    fn formats() {
        assert_eq!(ms(0.4567), "0.46 ms");
        assert_eq!(ms(12.34), "12.3 ms");
        assert_eq!(ms(456.7), "457 ms");
        assert_eq!(ms(12_345.0), "12.3 s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 + 512 * 1024), "3.500 MiB");
        assert_eq!(bytes(4_192_398), "3.998 MiB");
        assert_eq!(bytes(32 << 20), "32 MiB");
        assert_eq!(fraction(0.05), "0.050 = 1/20");
        assert_eq!(fraction(2.5), "2.5x");
        assert_eq!(fraction(0.0), "-");
        assert_eq!(fraction(f64::NAN), "-");
        assert_eq!(percent(0.1234), "12.3%");
    }

    #[test]
    fn table_columns_are_padded() {
        let table = render_table(
            &["a", "bbb"],
            &[vec!["long cell".into(), "x".into()], vec!["y".into()]],
        );
        assert_eq!(
            table,
            "| a         | bbb |\n\
             | --------- | --- |\n\
             | long cell | x   |\n\
             | y         |     |\n"
        );
    }

    fn summary(median: f64) -> Summary {
        Summary {
            n: 20,
            min_ms: median / 2.0,
            median_ms: median,
            p90_ms: median * 1.5,
            p99_ms: median * 2.0,
            max_ms: median * 3.0,
        }
    }

    fn report(ours_cold: f64, rss: u64) -> Report {
        let ours = Side {
            cold: Some(summary(ours_cold)),
            init: Some(summary(ours_cold / 2.0)),
            warm: Some(summary(4.0)),
            peak_rss_bytes: Some(rss),
            own: Some(Own {
                invocations: 50,
                invocation_median_ms: 5.0,
                http_median_ms: 4.0,
                own_median_ms: 1.0,
                own_share: 0.2,
                http_calls_per_invocation: 3.0,
            }),
            zips: vec![
                Zip {
                    arch: "arm64".into(),
                    bytes: 3 << 20,
                    contents: "bootstrap".into(),
                },
                Zip {
                    arch: "x86_64".into(),
                    bytes: 5 << 20,
                    contents: "bootstrap".into(),
                },
            ],
        };
        let baseline = Side {
            cold: Some(summary(500.0)),
            zips: vec![
                Zip {
                    arch: "any".into(),
                    bytes: 4096,
                    contents: "handler.py".into(),
                },
                Zip {
                    arch: "any".into(),
                    bytes: 15 << 20,
                    contents: "handler.py + boto3".into(),
                },
            ],
            ..Side::default()
        };
        let checks = vec![
            budget::cold_start(
                "start-training",
                ours_cold,
                Some(500.0),
                "the Python baseline",
            ),
            budget::peak_rss("start-training", Some(rss)),
            budget::zip("start-training", "arm64", Some(3 << 20)),
            budget::zip("start-training", "x86_64", Some(5 << 20)),
            budget::warm_share("start-training", Some(0.2)),
            budget::hosting_overhead(Some((3.0, 1.5))),
        ];
        Report {
            machine: Machine {
                cores: 2,
                memory_gib: Some(24.0),
                platform: "Linux x86_64".into(),
                date: "2026-11-26 07:00 UTC".into(),
            },
            runs: Runs {
                cold_starts: 20,
                warm_invocations: 200,
                breakdown_invocations: 50,
            },
            functions: vec![FunctionReport {
                function: "start-training".into(),
                ours,
                baseline: Some(baseline),
            }],
            hosting: crate::hosting::HostingReport::of(
                &[Duration::from_millis(900), Duration::from_millis(1100)],
                &[Duration::from_millis(3)],
                &[Duration::from_micros(1500)],
                5,
            ),
            pipeline: crate::pipeline::PipelineOverhead::of(
                vec![crate::pipeline::PipelineRun {
                    wall_s: 9.0,
                    training_busy_s: 4.0,
                    training_sum_s: 6.0,
                    training_jobs: 11,
                }],
                1.0,
            ),
            checks,
            notes: vec!["a note".into()],
        }
    }

    #[test]
    fn the_local_pipeline_rows_show_wall_time_training_and_overhead() {
        let rows = report(20.0, 10 << 20).rows();
        let pipeline: Vec<&Vec<String>> =
            rows.iter().filter(|r| r[0] == "local pipeline").collect();
        assert_eq!(pipeline.len(), 4, "{rows:#?}");
        assert_eq!(pipeline[0][2], "9.0 s");
        assert_eq!(pipeline[1][2], "4.0 s");
        assert_eq!(pipeline[3][2], "5.0 s");
    }

    #[test]
    fn the_local_hosting_rows_show_the_start_both_latencies_and_the_overhead_verdict() {
        let rows = report(20.0, 10 << 20).rows();
        let hosting: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "local hosting").collect();
        assert_eq!(hosting.len(), 6, "{rows:#?}");
        assert_eq!(hosting[0][1], "endpoint start to InService, median of 2");
        assert_eq!(hosting[0][2], "1.00 s");
        assert_eq!(hosting[1][2], "3.00 ms");
        assert_eq!(hosting[3][2], "1.50 ms");
        assert_eq!(hosting[5][2], "1.50 ms");
        assert_eq!(hosting[5][5], "OVER BUDGET");
        let text = report(20.0, 10 << 20).markdown();
        assert!(
            text.contains(
                "1 InvokeEndpoint requests through the local runtime and 1 direct, after 5 of each"
            ),
            "{text}"
        );
        assert!(
            text.contains("OVER BUDGET: local hosting: InvokeEndpoint overhead over the model server, median <= 1 ms (measured 1.50 ms (3.00 ms through the runtime, 1.50 ms direct))"),
            "{text}"
        );
    }

    #[test]
    fn rows_show_ours_the_baseline_the_ratio_and_the_verdict() {
        let report = report(20.0, 10 << 20);
        let rows = report.rows();
        let find = |metric: &str| {
            rows.iter()
                .find(|r| r[1] == metric)
                .unwrap_or_else(|| panic!("no row {metric}: {rows:#?}"))
                .clone()
        };
        assert_eq!(
            find("cold start, median"),
            [
                "start-training",
                "cold start, median",
                "20.0 ms",
                "500 ms",
                "0.040 = 1/25",
                "ok"
            ]
        );
        assert_eq!(find("warm invocation, median")[3], "-");
        assert_eq!(find("warm invocation, median")[4], "");
        assert_eq!(find("warm: outside HTTP calls, share")[2], "20.0%");
        assert_eq!(find("warm: outside HTTP calls, share")[5], "ok");
        assert_eq!(find("peak RSS, one cold invocation")[2], "10 MiB");
        assert_eq!(find("warm: HTTP calls per invocation")[2], "3");
        let arm = find("release zip, arm64");
        assert_eq!(arm[3], "15 MiB with boto3 (4.0 KiB handler only)");
        assert_eq!(arm[4], "0.200 = 1/5");
        assert_eq!(arm[5], "ok");
        assert_eq!(find("release zip, x86_64")[5], "OVER BUDGET");
    }

    #[test]
    fn markdown_names_every_row_over_budget() {
        let text = report(60.0, 40 << 20).markdown();
        assert!(text.contains("2 cores"), "{text}");
        assert!(text.contains("Absolute times are indications"), "{text}");
        assert!(
            text.contains("OVER BUDGET: start-training: cold start median <= 1/10 of the Python baseline (measured 60.0 ms vs 500 ms (0.120 = 1/8))"),
            "{text}"
        );
        assert!(
            text.contains("OVER BUDGET: start-training: peak RSS <= 32 MiB (measured 40 MiB)"),
            "{text}"
        );
        assert!(
            text.contains("OVER BUDGET: start-training: x86_64 zip"),
            "{text}"
        );
        assert!(!text.contains("Every measured row is within"), "{text}");
        assert!(text.contains("- a note\n"), "{text}");
        let fine = report(20.0, 10 << 20);
        // The x86_64 zip and the hosting overhead of the fixture.
        assert_eq!(fine.over_budget().len(), 2);
    }

    #[test]
    fn json_has_the_measurements() {
        let json = serde_json::to_value(report(20.0, 1 << 20)).unwrap();
        assert_eq!(json["functions"][0]["ours"]["cold"]["median_ms"], 20.0);
        assert_eq!(json["checks"][0]["verdict"], "within");
        assert_eq!(json["machine"]["cores"], 2);
    }
}
