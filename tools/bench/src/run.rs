//! One benchmark run, from the local services to the written report.

use std::path::{Path, PathBuf};

use crate::budget::{self, Check};
use crate::deployment;
use crate::hosting::{self, HostingReport};
use crate::measure::{self, Cold};
use crate::package::{self, Packager};
use crate::report::{self, FunctionReport, Machine, Report, Runs, Side};
use crate::scenario::{FUNCTIONS, Scenario};
use crate::stats::Summary;
use crate::world::{Proxies, World};

/// The Python baseline's venv (tools/bench/venv creates it from tools/requirements/bench.txt).
pub const BASELINE_VENV: &str = ".venv-bench";

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "bench",
    about = "Cold start, warm latency, peak RSS and zip size of the functions, against a Python/boto3 baseline of start-training; the local hosting's endpoint start and InvokeEndpoint overhead; the local pipeline's overhead. Run it through `make bench`."
)]
pub struct Options {
    /// Cold starts per function (a new process each).
    #[arg(long, default_value_t = 20)]
    pub cold_starts: usize,
    /// Warm invocations per function, on one process.
    #[arg(long, default_value_t = 200)]
    pub warm: usize,
    /// Warm invocations through the timing proxies (time in HTTP calls vs the rest).
    #[arg(long, default_value_t = 50)]
    pub breakdown: usize,
    /// Discarded warm invocations before measuring.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Where the report, the zips and the baseline's wrapper go (relative to the workspace).
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
    /// cargo-lambda's output: `<dir>/<arm64|x86_64>/<function>/bootstrap`.
    #[arg(long, default_value = "target/bench/lambda")]
    pub lambda_dir: PathBuf,
    /// An extra variable for every function, e.g. `--env RUST_LOG=debug` (with `--logs`).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Write the log of each function's first cold start into this folder.
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
    /// Runs of the demo pipeline for the local pipeline's overhead (0: not measured).
    #[arg(long, default_value_t = 3)]
    pub pipeline_runs: usize,
    /// The demo's delay before an action is invoked again with its continuation token.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub pipeline_poll: f64,
    /// Only these functions (default: all five).
    #[arg(long = "function", value_parser = FUNCTIONS)]
    pub functions: Vec<String>,
    /// Only these parts of the run (repeatable; default: all three).
    #[arg(long, value_enum)]
    pub only: Vec<Part>,
    /// Endpoint creations for the local hosting's start time (the median is reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    pub endpoint_starts: u16,
    /// InvokeEndpoint requests through the local runtime, and as many straight to the model
    /// server, interleaved (after `--warmup` of each).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub hosting_requests: u32,
}

/// The parts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// The functions against the Python baseline (`--function` picks among them).
    Functions,
    /// The local SageMaker's hosting: endpoint start, InvokeEndpoint overhead.
    Hosting,
    /// The demo pipeline (`--pipeline-runs`).
    Pipeline,
}

impl Options {
    fn runs(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

fn measure_side(cold: &Cold) -> Side {
    Side {
        cold: Summary::of(&cold.cold),
        init: Summary::of(&cold.init),
        peak_rss_bytes: cold.peak_rss_bytes,
        ..Side::default()
    }
}

/// Writes the baseline's handler and its wrapper (`bootstrap`: execs the venv's Python under
/// awslambdaric) into `dir`; returns the wrapper.
fn baseline_bootstrap(root: &Path, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let handler = root.join("tools/bench/baseline/handler.py");
    std::fs::copy(&handler, dir.join("handler.py"))
        .map_err(|e| format!("{}: {e}", handler.display()))?;
    let python = root.join(BASELINE_VENV).join("bin/python");
    if !python.is_file() {
        return Err(format!(
            "{} is missing: run tools/bench/venv (make bench does)",
            python.display()
        ));
    }
    let bootstrap = dir.join("bootstrap");
    let script = format!(
        "#!/bin/sh\n# Written by the bench: the Python/boto3 baseline behind the Lambda Runtime API.\nexec '{}' -m awslambdaric handler.handler\n",
        python.display()
    );
    std::fs::write(&bootstrap, script).map_err(|e| format!("{}: {e}", bootstrap.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", bootstrap.display()))?;
    Ok(bootstrap)
}

fn machine() -> Machine {
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib / 1024.0 / 1024.0)
        });
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib,
        platform: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        date,
    }
}

/// One function's measurements: ours, and the baseline where there is one.
async fn measure_function(
    world: &World,
    options: &Options,
    proxies: &Proxies,
    function: &'static str,
    baseline: Option<&Path>,
) -> Result<FunctionReport, String> {
    let endpoints = world.endpoints();
    let codepipeline = &world.codepipeline;
    let mut ours = Scenario::ours(world, function)?.with_env(&options.env);
    if matches!(function, "train-and-tune" | "deploy") {
        // CodePipeline invokes the action again with the token of the previous invocation:
        // take the first one.
        let host = measure::start(&ours, &endpoints).await?;
        let (_, token) = measure::invoke(&host, &ours, codepipeline).await?;
        let token = token.ok_or_else(|| format!("{function} returned no continuation token"))?;
        if function == "deploy" {
            // The first invocation sent CreateEndpoint: the measured ones find it InService.
            let took = deployment::wait_in_service(&world.sagemaker_client()).await?;
            eprintln!(
                "bench: deploy: endpoint {} InService after {:.1} s",
                deployment::ENDPOINT,
                took.as_secs_f64()
            );
        }
        ours = ours.with_continuation_token(&token);
    }
    let python = baseline
        .map(|bootstrap| Scenario::python_start_training(world, bootstrap.to_owned()))
        .transpose()?
        .map(|python| python.with_env(&options.env));
    let mut scenarios = vec![&ours];
    scenarios.extend(python.as_ref());
    // The services' first calls are slow (moto loads a service's backend on first use): prime
    // them, and the page cache, before measuring.
    for scenario in &scenarios {
        measure::prime(scenario, &endpoints, codepipeline, options.warmup).await?;
    }
    let colds = measure::cold_starts(
        &scenarios,
        &endpoints,
        codepipeline,
        options.cold_starts,
        options
            .logs
            .as_ref()
            .map(|dir| world.root.join(dir))
            .as_deref(),
    )
    .await?;

    let mut sides = Vec::new();
    for (scenario, cold) in scenarios.iter().zip(&colds) {
        let mut side = measure_side(cold);
        let warm = measure::warm(
            scenario,
            &endpoints,
            codepipeline,
            options.warmup,
            options.warm,
        )
        .await?;
        side.warm = Summary::of(&warm);
        if options.breakdown > 0 {
            let own = measure::breakdown(
                scenario,
                proxies,
                codepipeline,
                options.warmup,
                options.breakdown,
            )
            .await?;
            // The notes list deploy's calls: they must be the ones measured.
            if function == "deploy"
                && own.http_calls_per_invocation != deployment::HTTP_CALLS as f64
            {
                return Err(format!(
                    "{:.2} HTTP calls per invocation where the scenario makes {}",
                    own.http_calls_per_invocation,
                    deployment::HTTP_CALLS
                ));
            }
            side.own = Some(own);
        }
        sides.push(side);
    }
    let mut sides = sides.into_iter();
    Ok(FunctionReport {
        function: function.to_owned(),
        ours: sides.next().unwrap_or_default(),
        baseline: sides.next(),
    })
}

fn checks(functions: &[FunctionReport]) -> Vec<Check> {
    let mut checks = Vec::new();
    for f in functions {
        let name = f.function.as_str();
        // The cold-start budget is relative to a Python baseline: only where there is one.
        if let (Some(cold), Some(baseline)) = (f.ours.cold, &f.baseline) {
            let base = baseline.cold.map(|c| c.median_ms);
            checks.push(budget::cold_start(
                name,
                cold.median_ms,
                base,
                "the Python baseline",
            ));
        }
        checks.push(budget::peak_rss(name, f.ours.peak_rss_bytes));
        for arch in ["arm64", "x86_64"] {
            let bytes = f.ours.zips.iter().find(|z| z.arch == arch).map(|z| z.bytes);
            checks.push(budget::zip(name, arch, bytes));
        }
        checks.push(budget::warm_share(
            name,
            f.ours.own.as_ref().map(|o| o.own_share),
        ));
    }
    checks
}

/// The cold starts of the functions without a baseline, against the Python start-training's:
/// a reference, not a budget (they make other calls).
fn cold_reference(functions: &[FunctionReport]) -> Option<String> {
    let python = functions.iter().find_map(|f| {
        f.baseline
            .as_ref()
            .filter(|_| f.function == "start-training")
    })?;
    let python_cold = python.cold?.median_ms;
    let calls = |side: &Side| {
        side.own.as_ref().map_or_else(
            || "?".to_owned(),
            |o| format!("{:.0}", o.http_calls_per_invocation),
        )
    };
    let others: Vec<String> = functions
        .iter()
        .filter(|f| f.baseline.is_none())
        .filter_map(|f| {
            let cold = f.ours.cold?.median_ms;
            Some(format!(
                "{} {} ({}, {} HTTP calls)",
                f.function,
                report::ms(cold),
                report::fraction(cold / python_cold),
                calls(&f.ours)
            ))
        })
        .collect();
    (!others.is_empty()).then(|| {
        format!(
            "Reference, not a budget (no Python version of them): cold-start medians against the Python start-training's {} ({} HTTP calls): {}.",
            report::ms(python_cold),
            calls(python),
            others.join("; ")
        )
    })
}

/// The local hosting's setup ([`hosting_note`] adds the profile it ran in).
const HOSTING_NOTE: &str = "Local hosting: the sample's model (examples/model-repo/src/train.py, 10 trees, on the sample's data) served in script mode by its own inference.py (SAGEMAKER_PROGRAM; SAGEMAKER_SUBMIT_DIRECTORY an s3:// sourcedir.tar.gz in moto), one serverless variant, the local SageMaker's model server (serving/serve.py under python3). Endpoint start: the CreateEndpoint call to the DescribeEndpoint (polled every 10 ms) that reads InService; each endpoint is deleted before the next starts. Invocations: one penguin as text/csv (Accept text/csv), through the local runtime API with aws-sdk-sagemakerruntime and straight to the model server's /invocations with a keep-alive HTTP client, alternating, every pair of answers checked equal; the overhead is the runtime's median minus the direct median.";

/// [`HOSTING_NOTE`] and the profile the local SageMaker ran in: it runs inside the bench.
fn hosting_note() -> String {
    let profile = if cfg!(debug_assertions) {
        "a dev build (unoptimised), so the overhead is an upper bound of an optimised build's"
    } else {
        "a release build (optimised), as make bench runs it"
    };
    format!(
        "{HOSTING_NOTE} The local SageMaker and both clients run inside the bench process, here {profile}."
    )
}

fn notes(
    machine: &Machine,
    functions: &[FunctionReport],
    hosting: bool,
    pipeline: bool,
) -> Vec<String> {
    let mut notes = vec![format!(
        "{} cores: absolute times are indications on a shared machine; what is compared ran in the same run, against the same local services.",
        machine.cores
    )];
    if !functions.is_empty() {
        notes.extend(function_notes(functions));
    }
    if hosting {
        notes.push(hosting_note());
    }
    if pipeline {
        notes.push("Local pipeline: `target/release/sagemaker-cicd run examples/model-repo` (Source, Build with the sample's unit tests and uploads, Train, Tune with 10 tuning jobs 2 at a time, Evaluate, the email), wall time against the time its training processes ran (the union of their intervals: tuning runs two side by side); the rest is the pipeline's own: moto's start, the build, the functions, the polling delay between continuation-token invocations.".to_owned());
    }
    notes
}

/// deploy's scenario, and the calls of one of its invocations.
fn deploy_note() -> String {
    format!(
        "deploy: DeployStaging's invocation that finds its endpoint InService on the deployment's config (events/deploy/staging.json with the continuation token of the bench's first, unmeasured invocation, which created the model, the endpoint config and the endpoint {endpoint} from a model package Approved in moto's Model Registry). The model: a model.tar.gz with a tiny script-mode inference.py (every CSV row answered `female,0.5`), served by the local SageMaker's model server on the sample's serverless staging variant. The source: the sample repository with the smoke test of its configuration/deployment.json run once (its Latency repetitions left out): one InvokeEndpoint of the sample's five penguins, held to its record count and regex. {calls} HTTP calls per invocation: GetObject of the source (moto), DescribeEndpoint, the smoke test's InvokeEndpoint (the local SageMaker's runtime API and the model server behind it), the clean-up's ListEndpointConfigs (forwarded by the local SageMaker to moto, which has none of its configs, so nothing is deleted), and PutJobSuccessResult (DeployStatus Deployed).",
        endpoint = deployment::ENDPOINT,
        calls = deployment::HTTP_CALLS,
    )
}

fn function_notes(functions: &[FunctionReport]) -> Vec<String> {
    let mut notes = vec![
        "Ours and the baseline ran in the same run, cold starts interleaved.".to_owned(),
        "Cold start: process spawn to the first completed invocation (init + first invoke, client construction and config loading included), through the Lambda Runtime API of lambda-host; a new process each time. Warm: /next to /response on one process.".to_owned(),
        "Ours: the native x86_64 release binaries (`cargo build --release`: opt-level s, LTO, panic=abort). Baseline: tools/bench/baseline/handler.py (boto3 1.44.5) under awslambdaric 4.2.2, both pinned in tools/requirements/bench.txt.".to_owned(),
        "Services: moto (S3, SNS, the Model Registry; SageMaker CreateTrainingJob for start-training, so that no training process starts per invocation), the local SageMaker (train-and-tune polls an InProgress training job, with a continuation token; evaluate reads a completed one; deploy follows its staging endpoint and smoke-tests it through the runtime API; what it does not serve, the Model Registry and ListEndpointConfigs, it forwards to moto through a proxy that sends its CloudWatch calls, the endpoint's invocation metrics, to a second moto instead, as storing them keeps a moto busy for 150 to 300 ms once a second), and the local run's CodePipeline API (local-codepipeline: every job registered before its invocation must report exactly one result, a second is refused and counted; notify reads a sample five-stage execution through GetPipelineExecution and ListActionExecutions). Every invocation is a new CodePipeline job (notify: a new pipeline execution).".to_owned(),
        "Outside HTTP calls: warm invocations with every endpoint behind a timing proxy; the proxy times each call from the request to the service's complete answer; the rest is the function's code, the SDK's serialisation and signing, and the loopback. Against real AWS endpoints each call takes tens of milliseconds instead of the local services' few, so the share there is smaller still.".to_owned(),
        "Zips: `bootstrap` built by cargo-lambda (`cargo lambda build --release --arm64|--x86-64`), zipped as `sam deploy` does (Python zipfile, deflate at zlib's default level 6). The baseline's ratio is against the zip with boto3 vendored; Lambda's Python runtime ships a boto3, so the handler alone is enough when its boto3 will do.".to_owned(),
    ];
    if functions.iter().any(|f| f.function == "deploy") {
        notes.push(deploy_note());
    }
    notes.extend(cold_reference(functions));
    if functions.iter().all(|f| f.ours.zips.is_empty()) {
        notes.push("No zip sizes: no cargo-lambda builds were found under the lambda directory (make bench builds them).".to_owned());
    }
    notes
}

pub async fn run(options: Options) -> Result<(), String> {
    let root = test_support::workspace_root();
    let out = root.join(&options.out);
    let machine = machine();
    eprintln!("bench: {} cores", machine.cores);
    let mut broken = Vec::new();
    let functions: Vec<&'static str> = FUNCTIONS
        .into_iter()
        .filter(|_| options.runs(Part::Functions))
        .filter(|f| options.functions.is_empty() || options.functions.iter().any(|o| o == f))
        .collect();
    let reports = if functions.is_empty() {
        Vec::new()
    } else {
        measure_functions(&root, &out, &options, &functions, &mut broken).await?
    };
    let hosting = if options.runs(Part::Hosting) {
        measure_hosting(&root, &out, &options, &mut broken).await
    } else {
        None
    };
    let pipeline = if options.pipeline_runs == 0 || !options.runs(Part::Pipeline) {
        None
    } else {
        eprintln!(
            "bench: the demo pipeline, {} runs (sagemaker-cicd run examples/model-repo)",
            options.pipeline_runs
        );
        match crate::pipeline::measure(&root, options.pipeline_runs, options.pipeline_poll).await {
            Ok(overhead) => Some(overhead),
            Err(error) => {
                broken.push(format!("local pipeline: {error}"));
                None
            }
        }
    };

    let mut checks = checks(&reports);
    if options.runs(Part::Hosting) {
        let medians = hosting
            .as_ref()
            .map(|h| (h.runtime.median_ms, h.direct.median_ms));
        checks.push(budget::hosting_overhead(medians));
    }
    let report = Report {
        notes: notes(&machine, &reports, hosting.is_some(), pipeline.is_some()),
        checks,
        machine,
        runs: Runs {
            cold_starts: options.cold_starts,
            warm_invocations: options.warm,
            breakdown_invocations: options.breakdown,
        },
        functions: reports,
        hosting,
        pipeline,
    };
    write_report(&root, &out, &report)?;
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the benchmark itself broke:\n{}",
            broken.join("\n")
        ))
    }
}

/// The functions, ours and the baseline, against the local services; then their zips.
async fn measure_functions(
    root: &Path,
    out: &Path,
    options: &Options,
    functions: &[&'static str],
    broken: &mut Vec<String>,
) -> Result<Vec<FunctionReport>, String> {
    let lambda_dir = root.join(&options.lambda_dir);
    for function in functions {
        let binary = crate::scenario::release_binary(root, function);
        if !binary.is_file() {
            return Err(format!(
                "{} is missing: run `cargo build --release -p {function}` (make bench does)",
                binary.display()
            ));
        }
    }
    let bootstrap = if functions.contains(&"start-training") {
        Some(baseline_bootstrap(root, &out.join("baseline"))?)
    } else {
        None
    };
    eprintln!(
        "bench: {} cold starts, {} warm invocations ({} through the timing proxies) per function",
        options.cold_starts, options.warm, options.breakdown
    );

    let world = World::start(root, &out.join("work")).await?;
    let proxies = Proxies::start(&world.endpoints()).await?;
    let mut reports = Vec::new();
    for function in functions {
        let baseline = bootstrap
            .as_deref()
            .filter(|_| *function == "start-training");
        match measure_function(&world, options, &proxies, function, baseline).await {
            Ok(report) => reports.push(report),
            Err(error) => {
                eprintln!("bench: {function}: {error}");
                broken.push(format!("{function}: {error}"));
            }
        }
    }
    drop(proxies);
    world.shutdown().await;

    let packager = Packager {
        python: root.join(BASELINE_VENV).join("bin/python"),
        sam_zip: root.join("tools/bench/sam_zip.py"),
        out: out.join("zips"),
    };
    for report in &mut reports {
        for arch in ["arm64", "x86_64"] {
            match packager.ours(&lambda_dir, &report.function, arch) {
                Ok(zip) => report.ours.zips.extend(zip),
                Err(error) => broken.push(format!("{}: {error}", report.function)),
            }
        }
        if let Some(baseline) = report.baseline.as_mut() {
            let site = package::site_packages(&root.join(BASELINE_VENV))
                .ok_or("no site-packages in .venv-bench")?;
            match packager.baseline(&out.join("baseline/handler.py"), &site) {
                Ok(zips) => baseline.zips = zips,
                Err(error) => broken.push(format!("baseline zip: {error}")),
            }
        }
    }
    Ok(reports)
}

/// The local hosting; a failure is noted in `broken` (its budget then shows as not measured).
async fn measure_hosting(
    root: &Path,
    out: &Path,
    options: &Options,
    broken: &mut Vec<String>,
) -> Option<HostingReport> {
    let counts = hosting::Counts {
        endpoint_starts: options.endpoint_starts.into(),
        requests: options.hosting_requests as usize,
        warmup: options.warmup,
    };
    eprintln!(
        "bench: {}: {} endpoint starts, {} InvokeEndpoint requests through the local runtime and as many direct",
        hosting::NAME,
        counts.endpoint_starts,
        counts.requests
    );
    match hosting::measure(root, &out.join("work/hosting"), counts).await {
        Ok(report) => Some(report),
        Err(error) => {
            eprintln!("bench: {}: {error}", hosting::NAME);
            broken.push(format!("{}: {error}", hosting::NAME));
            None
        }
    }
}

/// Prints the Markdown and writes `report.md` and `report.json` into `out`.
fn write_report(root: &Path, out: &Path, report: &Report) -> Result<(), String> {
    let markdown = report.markdown();
    println!("{markdown}");
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let md_path = out.join("report.md");
    let json_path = out.join("report.json");
    std::fs::write(&md_path, &markdown).map_err(|e| format!("{}: {e}", md_path.display()))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(&json_path, json).map_err(|e| format!("{}: {e}", json_path.display()))?;
    eprintln!(
        "bench: wrote {} and {}",
        relative(root, &md_path),
        relative(root, &json_path)
    );
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Verdict;
    use crate::report::Own;

    fn side(cold_ms: f64, calls: f64) -> Side {
        let mut sample = [cold_ms];
        Side {
            cold: Summary::of_ms(&mut sample),
            peak_rss_bytes: Some(10 << 20),
            own: Some(Own {
                invocations: 1,
                invocation_median_ms: 1.0,
                http_median_ms: 0.5,
                own_median_ms: 0.5,
                own_share: 0.5,
                http_calls_per_invocation: calls,
            }),
            ..Side::default()
        }
    }

    fn functions() -> Vec<FunctionReport> {
        vec![
            FunctionReport {
                function: "start-training".into(),
                ours: side(20.0, 3.0),
                baseline: Some(side(300.0, 3.0)),
            },
            FunctionReport {
                function: "evaluate".into(),
                ours: side(40.0, 7.0),
                baseline: None,
            },
        ]
    }

    #[test]
    fn the_cold_start_budget_needs_a_baseline() {
        let checks = checks(&functions());
        let cold: Vec<&Check> = checks
            .iter()
            .filter(|c| c.budget.starts_with("cold start"))
            .collect();
        assert_eq!(cold.len(), 1, "{checks:#?}");
        assert_eq!(cold[0].function, "start-training");
        assert_eq!(cold[0].verdict, Verdict::Within);
        // Every function gets RSS, two zips (not measured here) and the warm share.
        assert_eq!(checks.len(), 1 + 2 * 4);
        assert!(
            checks
                .iter()
                .filter(|c| c.budget.contains("zip"))
                .all(|c| c.verdict == Verdict::NotMeasured)
        );
    }

    #[test]
    fn the_others_cold_starts_are_a_reference() {
        assert_eq!(
            cold_reference(&functions()).unwrap(),
            "Reference, not a budget (no Python version of them): cold-start medians against the Python start-training's 300 ms (3 HTTP calls): evaluate 40.0 ms (0.133 = 1/8, 7 HTTP calls)."
        );
        assert_eq!(cold_reference(&functions()[1..]), None);
    }

    #[test]
    fn only_picks_the_parts_of_the_run() {
        use clap::Parser;
        let all = Options::try_parse_from(["bench"]).unwrap();
        assert!(
            [Part::Functions, Part::Hosting, Part::Pipeline]
                .iter()
                .all(|&p| all.runs(p))
        );
        assert_eq!((all.endpoint_starts, all.hosting_requests), (3, 500));
        let hosting = Options::try_parse_from(["bench", "--only", "hosting"]).unwrap();
        assert!(hosting.runs(Part::Hosting));
        assert!(!hosting.runs(Part::Functions) && !hosting.runs(Part::Pipeline));
        let two =
            Options::try_parse_from(["bench", "--only", "hosting", "--only", "pipeline"]).unwrap();
        assert!(two.runs(Part::Pipeline) && !two.runs(Part::Functions));
        assert!(Options::try_parse_from(["bench", "--only", "zips"]).is_err());
        assert!(Options::try_parse_from(["bench", "--hosting-requests", "0"]).is_err());
    }

    #[test]
    fn notes_are_of_the_parts_that_ran() {
        let machine = Machine {
            cores: 2,
            memory_gib: None,
            platform: "linux x86_64".into(),
            date: String::new(),
        };
        let hosting_only = notes(&machine, &[], true, false);
        assert_eq!(hosting_only.len(), 2, "{hosting_only:#?}");
        assert!(hosting_only[1].starts_with("Local hosting:"));
        let everything = notes(&machine, &functions(), true, true);
        assert!(
            everything
                .iter()
                .any(|n| n.starts_with("Ours and the baseline"))
        );
        assert!(everything.iter().any(|n| n.starts_with("Local pipeline:")));
        assert!(!everything.iter().any(|n| n.starts_with("deploy:")));
        let mut with_deploy = functions();
        with_deploy.push(FunctionReport {
            function: "deploy".into(),
            ours: side(30.0, 5.0),
            baseline: None,
        });
        let notes = notes(&machine, &with_deploy, false, false);
        let deploy = notes.iter().find(|n| n.starts_with("deploy:")).unwrap();
        assert!(deploy.contains("5 HTTP calls per invocation"), "{deploy}");
        assert!(deploy.contains("sagemaker-cicd-staging"), "{deploy}");
    }

    #[test]
    fn env_options_are_key_value() {
        assert_eq!(
            parse_env("RUST_LOG=debug=1").unwrap(),
            ("RUST_LOG".to_owned(), "debug=1".to_owned())
        );
        assert!(parse_env("=x").is_err());
        assert!(parse_env("novalue").is_err());
    }
}
