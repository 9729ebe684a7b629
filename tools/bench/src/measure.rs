//! The measurements: cold starts (a new process each), warm invocations on one process, and the
//! split of warm invocations into HTTP calls and the rest (through timing proxies).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lambda_host::{Invocation, LambdaHost};

use crate::codepipeline::BenchCodePipeline;
use crate::report::Own;
use crate::scenario::Scenario;
use crate::stats;
use crate::world::{Endpoints, Proxies};

/// Invocation numbers: every event of the run gets its own job id.
static INVOCATIONS: AtomicU64 = AtomicU64::new(1);

/// One invocation on `host`, checked: the function did its job.
pub async fn invoke(
    host: &LambdaHost,
    scenario: &Scenario,
    codepipeline: &BenchCodePipeline,
) -> Result<(Invocation, Option<String>), String> {
    let n = INVOCATIONS.fetch_add(1, Ordering::Relaxed);
    let (event, id) = scenario.event(n);
    codepipeline.expect(&event);
    let invocation = host.invoke(event).await.map_err(|e| {
        format!(
            "{} ({}): the invocation broke: {e}",
            scenario.function,
            scenario.implementation.label()
        )
    })?;
    match scenario.check(codepipeline, &id, &invocation) {
        Ok(output) => Ok((invocation, output)),
        Err(problem) => Err(format!(
            "{} ({}): {problem}\nlast log lines:\n{}",
            scenario.function,
            scenario.implementation.label(),
            tail(&host.logs(), 30)
        )),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub async fn start(scenario: &Scenario, endpoints: &Endpoints) -> Result<LambdaHost, String> {
    LambdaHost::start(scenario.spec(endpoints))
        .await
        .map_err(|e| {
            format!(
                "{}: cannot start {}: {e}",
                scenario.function,
                scenario.binary.display()
            )
        })
}

/// A process that runs `1 + count` invocations, unmeasured: the services and the page cache
/// are warm afterwards.
pub async fn prime(
    scenario: &Scenario,
    endpoints: &Endpoints,
    codepipeline: &BenchCodePipeline,
    count: usize,
) -> Result<(), String> {
    let host = start(scenario, endpoints).await?;
    for _ in 0..=count {
        invoke(&host, scenario, codepipeline).await?;
    }
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct Cold {
    /// Spawn to the first completed invocation.
    pub cold: Vec<Duration>,
    /// Spawn to the first `/next`.
    pub init: Vec<Duration>,
    /// The highest VmHWM after the first invocation.
    pub peak_rss_bytes: Option<u64>,
}

/// `count` cold starts of each scenario, interleaved (a, b, a, b, ...) so that both see the same
/// moments of a noisy machine.
pub async fn cold_starts(
    scenarios: &[&Scenario],
    endpoints: &Endpoints,
    codepipeline: &BenchCodePipeline,
    count: usize,
    logs: Option<&Path>,
) -> Result<Vec<Cold>, String> {
    let mut out = vec![Cold::default(); scenarios.len()];
    for round in 0..count {
        for (scenario, cold) in scenarios.iter().zip(out.iter_mut()) {
            let host = start(scenario, endpoints).await?;
            let (invocation, _) = invoke(&host, scenario, codepipeline).await?;
            let init = invocation.init.ok_or_else(|| {
                format!(
                    "{}: the first invocation was not a cold start",
                    scenario.function
                )
            })?;
            cold.cold.push(init + invocation.duration);
            cold.init.push(init);
            cold.peak_rss_bytes = cold.peak_rss_bytes.max(invocation.peak_rss_bytes);
            if round == 0
                && let Some(dir) = logs
            {
                let file = dir.join(format!("{}.log", scenario.file_name()));
                std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(&file, host.logs()))
                    .map_err(|e| format!("{}: {e}", file.display()))?;
            }
            drop(host);
        }
        progress(scenarios, "cold starts", round + 1, count);
    }
    Ok(out)
}

fn progress(scenarios: &[&Scenario], what: &str, done: usize, count: usize) {
    if done == count || done.is_multiple_of(10) {
        let names: Vec<String> = scenarios
            .iter()
            .map(|s| format!("{} ({})", s.function, s.implementation.label()))
            .collect();
        eprintln!("bench: {}: {what} {done}/{count}", names.join(", "));
    }
}

/// `count` invocations on one warm process, after a cold one and `warmup` discarded ones.
pub async fn warm(
    scenario: &Scenario,
    endpoints: &Endpoints,
    codepipeline: &BenchCodePipeline,
    warmup: usize,
    count: usize,
) -> Result<Vec<Duration>, String> {
    let host = start(scenario, endpoints).await?;
    for _ in 0..=warmup {
        invoke(&host, scenario, codepipeline).await?;
    }
    let mut durations = Vec::with_capacity(count);
    for i in 0..count {
        let (invocation, _) = invoke(&host, scenario, codepipeline).await?;
        durations.push(invocation.duration);
        if (i + 1).is_multiple_of(100) || i + 1 == count {
            progress(&[scenario], "warm invocations", i + 1, count);
        }
    }
    Ok(durations)
}

/// Warm invocations with every endpoint behind a timing proxy: per invocation, the time in
/// HTTP calls (as the proxies saw the services answer) and the rest.
pub async fn breakdown(
    scenario: &Scenario,
    proxies: &Proxies,
    codepipeline: &BenchCodePipeline,
    warmup: usize,
    count: usize,
) -> Result<Own, String> {
    let host = start(scenario, proxies.endpoints()).await?;
    for _ in 0..=warmup {
        invoke(&host, scenario, codepipeline).await?;
    }
    let mut invocations = Vec::with_capacity(count);
    let mut http = Vec::with_capacity(count);
    let mut own = Vec::with_capacity(count);
    let mut shares = Vec::with_capacity(count);
    let mut calls = 0usize;
    proxies.take();
    for _ in 0..count {
        let (invocation, _) = invoke(&host, scenario, codepipeline).await?;
        let took = proxies.take();
        calls += took.len();
        let in_http: Duration = took.iter().sum();
        let rest = invocation.duration.saturating_sub(in_http);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        invocations.push(ms(invocation.duration));
        http.push(ms(in_http));
        own.push(ms(rest));
        shares.push(if invocation.duration.is_zero() {
            0.0
        } else {
            rest.as_secs_f64() / invocation.duration.as_secs_f64()
        });
    }
    progress(
        &[scenario],
        "warm invocations through the timing proxies",
        count,
        count,
    );
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        if values.is_empty() {
            0.0
        } else {
            stats::median(values)
        }
    };
    Ok(Own {
        invocations: count,
        invocation_median_ms: median(&mut invocations),
        http_median_ms: median(&mut http),
        own_median_ms: median(&mut own),
        own_share: median(&mut shares),
        http_calls_per_invocation: if count == 0 {
            0.0
        } else {
            calls as f64 / count as f64
        },
    })
}
