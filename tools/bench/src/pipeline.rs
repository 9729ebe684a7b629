//! The local pipeline's own overhead: the demo (`sagemaker-cicd run examples/model-repo`) timed
//! end to end, against the time its training processes ran. Tuning runs jobs side by side, so the
//! training time that counts is the union of their intervals (when at least one ran), not their
//! sum; the rest of the wall time is the pipeline's: Source, Build, the functions, polling delays.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::stats::median;

/// One demo run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PipelineRun {
    pub wall_s: f64,
    /// When at least one training process ran.
    pub training_busy_s: f64,
    /// Every training process's own time, added up.
    pub training_sum_s: f64,
    pub training_jobs: usize,
}

impl PipelineRun {
    pub fn overhead_s(&self) -> f64 {
        (self.wall_s - self.training_busy_s).max(0.0)
    }
}

/// Medians over the runs.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineOverhead {
    pub runs: Vec<PipelineRun>,
    pub poll_s: f64,
    pub wall_median_s: f64,
    pub training_busy_median_s: f64,
    pub training_sum_median_s: f64,
    pub overhead_median_s: f64,
}

impl PipelineOverhead {
    pub fn of(runs: Vec<PipelineRun>, poll_s: f64) -> Option<PipelineOverhead> {
        if runs.is_empty() {
            return None;
        }
        let med = |f: &dyn Fn(&PipelineRun) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            median(&v)
        };
        Some(PipelineOverhead {
            wall_median_s: med(&|r| r.wall_s),
            training_busy_median_s: med(&|r| r.training_busy_s),
            training_sum_median_s: med(&|r| r.training_sum_s),
            overhead_median_s: med(&|r| r.overhead_s()),
            runs,
            poll_s,
        })
    }
}

/// The length of the union of `[start, end]` intervals.
pub fn union_seconds(intervals: &mut [(f64, f64)]) -> f64 {
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for &(start, end) in intervals.iter().filter(|(s, e)| e > s) {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(0.0, |(s, e)| e - s)
}

/// A run from `sagemaker-cicd run --json`'s report of one execution.
pub fn run_of(execution: &Value) -> Result<PipelineRun, String> {
    if execution["status"] != "Succeeded" {
        return Err(format!(
            "the demo pipeline did not succeed: {}",
            execution["status"]
        ));
    }
    let wall_s = execution["seconds"]
        .as_f64()
        .ok_or("no `seconds` in the report")?;
    let jobs = execution["trainingJobs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut intervals: Vec<(f64, f64)> = jobs
        .iter()
        .filter_map(|j| Some((j["started"].as_f64()?, j["ended"].as_f64()?)))
        .collect();
    Ok(PipelineRun {
        wall_s,
        training_busy_s: union_seconds(&mut intervals),
        training_sum_s: jobs.iter().filter_map(|j| j["seconds"].as_f64()).sum(),
        training_jobs: jobs.len(),
    })
}

/// Runs the demo `runs` times with the release CLI.
pub async fn measure(root: &Path, runs: usize, poll_s: f64) -> Result<PipelineOverhead, String> {
    let cli = root.join("target/release/sagemaker-cicd");
    if !cli.is_file() {
        return Err(format!(
            "{} is missing: run `cargo build --release -p sagemaker-cicd` (make bench does)",
            cli.display()
        ));
    }
    let mut measured = Vec::new();
    for _ in 0..runs {
        let out = tokio::process::Command::new(&cli)
            .arg("run")
            .arg(root.join("examples/model-repo"))
            .args(["--json", "--poll", &poll_s.to_string(), "--project"])
            .arg(root)
            .stderr(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("cannot run {}: {e}", cli.display()))?;
        let report: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("sagemaker-cicd run --json printed no JSON: {e}"))?;
        measured.push(run_of(&report["executions"][0])?);
    }
    PipelineOverhead::of(measured, poll_s).ok_or_else(|| "no runs".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overlapping_intervals_count_once() {
        assert_eq!(union_seconds(&mut []), 0.0);
        assert_eq!(
            union_seconds(&mut [(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)]),
            4.0
        );
        assert_eq!(union_seconds(&mut [(5.0, 6.0), (0.0, 10.0)]), 10.0);
        assert_eq!(union_seconds(&mut [(1.0, 1.0), (3.0, 2.0)]), 0.0);
    }

    #[test]
    fn a_report_gives_wall_busy_and_overhead() {
        let execution = json!({
            "status": "Succeeded",
            "seconds": 10.0,
            "trainingJobs": [
                {"started": 100.0, "ended": 101.5, "seconds": 1.5},
                {"started": 102.0, "ended": 104.0, "seconds": 2.0},
                {"started": 103.0, "ended": 105.0, "seconds": 2.0},
            ],
        });
        let run = run_of(&execution).unwrap();
        assert_eq!(run.training_busy_s, 4.5);
        assert_eq!(run.training_sum_s, 5.5);
        assert_eq!(run.overhead_s(), 5.5);
        assert!(run_of(&json!({"status": "Failed"})).is_err());
        let overhead = PipelineOverhead::of(
            vec![
                run,
                run,
                PipelineRun {
                    wall_s: 12.0,
                    ..run
                },
            ],
            1.0,
        )
        .unwrap();
        assert_eq!(overhead.wall_median_s, 10.0);
        assert_eq!(overhead.overhead_median_s, 5.5);
    }
}
