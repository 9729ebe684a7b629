//! `sagemaker-cicd run` end to end, as a user runs it: the pipeline of template.yaml on the
//! sample model repository and on broken copies of it, against moto, the local SageMaker and the
//! local CodePipeline, with the functions' own binaries (the debug builds next to this CLI)
//! behind the Lambda Runtime API.
//!
//! The functions' binaries are those of the last `cargo build`/`cargo test` of the workspace:
//! `cargo test --workspace` (make test) builds them; `cargo test -p sagemaker-cicd` alone does not.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A copy of the sample model repository, to change.
fn sample_copy(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("run-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&project_root().join("examples/model-repo"), &dir);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "__pycache__" {
                copy_dir(&path, &to.join(name));
            }
        } else {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

fn edit(repo: &Path, file: &str, from: &str, to: &str) {
    let path = repo.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Tuning skipped (faster): no tuning.json, and no gate condition on the tuning objective.
fn without_tuning(repo: &Path) {
    std::fs::remove_file(repo.join("configuration/tuning.json")).unwrap();
    edit(
        repo,
        "configuration/evaluation.json",
        r#",
    { "Metric": "validation:accuracy", "Source": "Objective", "Operator": ">=", "Threshold": 0.8 }"#,
        "",
    );
}

/// Runs the pipeline on `repos` (one execution each); returns the exit code and the executions.
fn run(repos: &[&Path], extra: &[&str]) -> (i32, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_sagemaker-cicd"))
        .arg("run")
        .args(repos)
        .args(["--json", "--poll", "0.2", "--project"])
        .arg(project_root())
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    let executions = report["executions"].as_array().cloned().unwrap_or_default();
    (out.status.code().unwrap_or(-1), executions)
}

fn action<'a>(execution: &'a Value, name: &str) -> &'a Value {
    execution["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["action"] == name))
        .unwrap_or_else(|| panic!("no action {name} in {execution:#}"))
}

fn statuses(execution: &Value) -> Vec<(String, String)> {
    execution["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn only_email(execution: &Value) -> (String, String) {
    let emails = execution["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 1, "one email per execution: {emails:#?}");
    (
        emails[0]["subject"].as_str().unwrap().to_owned(),
        emails[0]["body"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn the_sample_is_built_trained_tuned_gated_registered_and_emailed() {
    let repo = sample_copy("happy");
    let (code, executions) = run(&[&repo], &[]);
    let execution = &executions[0];
    assert_eq!(code, 0, "{execution:#}");
    assert_eq!(execution["status"], "Succeeded");
    let expected: Vec<(String, String)> = [
        "Source",
        "Build",
        "StartTraining",
        "TrainAndTune",
        "Evaluate",
        "DeployStaging",
        "DeployProduction",
    ]
    .iter()
    .map(|a| (a.to_string(), "Succeeded".to_string()))
    .collect();
    assert_eq!(statuses(execution), expected);

    let build = &action(execution, "Build")["variables"];
    assert!(
        build["SOURCE_DIR_URI"]
            .as_str()
            .unwrap()
            .ends_with("/sourcedir.tar.gz"),
        "{build}"
    );
    let tune = action(execution, "TrainAndTune");
    assert!(
        tune["invocations"].as_u64().unwrap() > 1,
        "followed with tokens: {tune}"
    );
    assert_ne!(tune["variables"]["TuningJobName"], "", "{tune}");
    let evaluate = action(execution, "Evaluate");
    assert_eq!(evaluate["variables"]["Verdict"], "Passed", "{evaluate}");
    assert!(
        evaluate["variables"]["ModelPackageArn"]
            .as_str()
            .unwrap()
            .contains(":model-package/sagemaker-cicd-local-"),
        "{evaluate}"
    );
    assert!(
        evaluate["summary"].as_str().unwrap().contains("(Approved)"),
        "{evaluate}"
    );
    // The training job and the tuning job's ten.
    assert_eq!(
        execution["trainingJobs"].as_array().unwrap().len(),
        11,
        "{execution:#}"
    );

    // Deployed: staging passed its smoke test through the model's own inference code, then
    // production.
    let staging = action(execution, "DeployStaging");
    assert!(
        staging["summary"]
            .as_str()
            .unwrap()
            .contains("smoke test passed: 1 request(s), 10 invocation(s), all 200"),
        "{staging}"
    );
    let production = &action(execution, "DeployProduction")["variables"];
    assert_eq!(production["DeployStatus"], "Deployed", "{production}");
    assert_eq!(production["EndpointName"], "sagemaker-cicd-production");
    // The run asks the production endpoint with the smoke test's first penguin.
    let answer = &execution["answer"];
    assert_eq!(answer["endpoint"], "sagemaker-cicd-production", "{answer}");
    assert_eq!(answer["request"], "Gentoo,Biscoe,45,15.4,220,5050");
    let (sex, probability) = answer["response"]
        .as_str()
        .unwrap()
        .split_once(',')
        .unwrap_or_default();
    assert!(
        ["male", "female"].contains(&sex) && probability.parse::<f64>().is_ok(),
        "{answer}"
    );

    let (subject, body) = only_email(execution);
    assert!(subject.starts_with("SUCCEEDED: local/"), "{subject}");
    assert!(body.contains("Evaluate"), "{body}");
    assert!(
        body.contains("  Production  Succeeded: Endpoint sagemaker-cicd-production is InService"),
        "{body}"
    );
    let _ = std::fs::remove_dir_all(repo);
}

#[test]
fn a_smoke_test_that_fails_stops_before_production() {
    let repo = sample_copy("failing-smoke-test");
    without_tuning(&repo);
    edit(
        &repo,
        "configuration/deployment.json",
        r#""BodyRegex": "^((male|female),[0-9.]+\\n)+$""#,
        r#""BodyRegex": "^(cat|dog),""#,
    );
    let (code, executions) = run(&[&repo], &[]);
    let execution = &executions[0];
    assert_eq!(code, 1, "{execution:#}");
    let staging = action(execution, "DeployStaging");
    assert_eq!(staging["status"], "Failed", "{staging}");
    let error = staging["error"].as_str().unwrap();
    assert!(
        error.contains("smoke test of staging endpoint sagemaker-cicd-staging failed")
            && error.contains("does not match BodyRegex `^(cat|dog),`")
            && error.contains("male,"),
        "{error}"
    );
    assert!(
        execution["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["action"] != "DeployProduction"),
        "{execution:#}"
    );
    let (subject, body) = only_email(execution);
    assert!(subject.starts_with("FAILED in DeployStaging"), "{subject}");
    assert!(
        body.contains(
            "Failed: The smoke test of staging endpoint sagemaker-cicd-staging failed, so the \
             model goes no further: tests/smoke/penguins.csv: the answer does not match BodyRegex"
        ),
        "{body}"
    );
    let _ = std::fs::remove_dir_all(repo);
}

#[test]
fn a_canary_whose_alarm_fires_is_rolled_back_and_the_email_says_why() {
    use std::io::{BufRead, BufReader};

    let first = sample_copy("canary-first");
    without_tuning(&first);
    let second = sample_copy("canary-second");
    without_tuning(&second);
    // Time to set the alarm while the canary bakes.
    edit(
        &second,
        "configuration/deployment.json",
        r#""WaitIntervalInSeconds": 10"#,
        r#""WaitIntervalInSeconds": 120"#,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_sagemaker-cicd"))
        .arg("run")
        .args([&first, &second])
        .args(["--json", "--poll", "0.2", "--project"])
        .arg(project_root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let mut moto = None;
    let mut progress = Vec::new();
    let mut fired = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split(" (moto) at ").nth(1) {
            moto = rest.split(';').next().map(str::to_owned);
        }
        // The second execution's update: a quarter of the traffic on the canary, baking.
        if !fired
            && line.contains("DeployProduction")
            && line.contains("25% of traffic on the new fleet")
        {
            let set = Command::new(project_root().join(".venv/bin/aws"))
                .args(["cloudwatch", "set-alarm-state", "--alarm-name"])
                .arg("sagemaker-cicd-production-5xx")
                .args([
                    "--state-value",
                    "ALARM",
                    "--state-reason",
                    "Threshold Crossed: 4 errors",
                ])
                .env(
                    "AWS_ENDPOINT_URL",
                    moto.as_deref().expect("the run names moto first"),
                )
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .output()
                .unwrap();
            assert!(
                set.status.success(),
                "{}",
                String::from_utf8_lossy(&set.stderr)
            );
            fired = true;
        }
        progress.push(line);
    }
    let status = child.wait().unwrap();
    let stdout = reader.join().unwrap();
    assert!(fired, "the canary never baked:\n{}", progress.join("\n"));
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let executions = report["executions"].as_array().unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(executions[0]["status"], "Succeeded", "{:#}", executions[0]);
    let second = &executions[1];
    let production = action(second, "DeployProduction");
    assert_eq!(production["status"], "Failed", "{production}");
    let error = production["error"].as_str().unwrap();
    assert!(
        error.contains("was rolled back")
            && error.contains("CloudWatch alarm sagemaker-cicd-production-5xx")
            && error.contains("Threshold Crossed: 4 errors")
            && error.contains("Alarms in ALARM: sagemaker-cicd-production-5xx."),
        "{error}"
    );
    assert!(
        progress
            .iter()
            .any(|l| l.contains("DeployProduction") && l.contains("RollingBack")),
        "{}",
        progress.join("\n")
    );
    let (subject, body) = only_email(second);
    assert!(
        subject.starts_with("FAILED in DeployProduction"),
        "{subject}"
    );
    assert!(
        body.contains("Production  Failed: The deployment of sagemaker-cicd-production-")
            && body.contains("was rolled back"),
        "{body}"
    );
}

#[test]
fn a_failing_training_script_fails_tune_with_the_scripts_reason() {
    let repo = sample_copy("failing-script");
    edit(
        &repo,
        "configuration/trainingjob.json",
        r#""max_features": "all""#,
        r#""max_features": "2.5""#,
    );
    without_tuning(&repo);
    let (code, executions) = run(&[&repo], &[]);
    let execution = &executions[0];
    assert_eq!(code, 1);
    assert_eq!(execution["status"], "Failed");
    assert_eq!(action(execution, "StartTraining")["status"], "Succeeded");
    let tune = action(execution, "TrainAndTune");
    assert_eq!(tune["status"], "Failed", "{tune}");
    let error = tune["error"].as_str().unwrap();
    assert!(
        error.contains("max_features must be sqrt, log2, all or a fraction"),
        "{error}"
    );
    let (subject, body) = only_email(execution);
    assert!(subject.starts_with("FAILED in Tune"), "{subject}");
    assert!(body.contains("max_features"), "{body}");
    let _ = std::fs::remove_dir_all(repo);
}

#[test]
fn a_gate_that_fails_stops_at_evaluate_with_the_metric_table() {
    let repo = sample_copy("strict-gate");
    edit(
        &repo,
        "configuration/evaluation.json",
        r#"{ "Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.8 }"#,
        r#"{ "Metric": "test:accuracy", "Operator": ">=", "Threshold": 0.999 }"#,
    );
    without_tuning(&repo);
    let (code, executions) = run(&[&repo], &[]);
    let execution = &executions[0];
    assert_eq!(code, 1);
    let evaluate = action(execution, "Evaluate");
    assert_eq!(evaluate["status"], "Failed", "{evaluate}");
    let error = evaluate["error"].as_str().unwrap();
    assert!(error.contains("test:accuracy"), "{error}");
    assert!(
        error.contains("0.9990") && error.contains("FAIL"),
        "{error}"
    );
    let (subject, _) = only_email(execution);
    assert!(subject.starts_with("FAILED in Evaluate"), "{subject}");
    let _ = std::fs::remove_dir_all(repo);
}

#[test]
fn a_malformed_trainingjob_json_fails_train_at_once_naming_the_field() {
    let repo = sample_copy("malformed");
    edit(
        &repo,
        "configuration/trainingjob.json",
        r#""RoleArn""#,
        r#""roleArn""#,
    );
    let (code, executions) = run(&[&repo], &[]);
    let execution = &executions[0];
    assert_eq!(code, 1);
    let train = action(execution, "StartTraining");
    assert_eq!(train["status"], "Failed", "{train}");
    assert_eq!(train["invocations"], 1);
    let error = train["error"].as_str().unwrap();
    assert!(
        error.contains("configuration/trainingjob.json") && error.contains("roleArn"),
        "{error}"
    );
    assert!(execution["trainingJobs"].as_array().unwrap().is_empty());
    assert!(!statuses(execution).iter().any(|(a, _)| a == "TrainAndTune"));
    let _ = std::fs::remove_dir_all(repo);
}

#[test]
fn a_duplicate_delivery_of_the_train_job_starts_one_training_job() {
    let repo = sample_copy("duplicate");
    without_tuning(&repo);
    let (code, executions) = run(&[&repo], &["--duplicate-delivery", "StartTraining"]);
    let execution = &executions[0];
    assert_eq!(code, 0, "{execution:#}");
    let train = action(execution, "StartTraining");
    assert_eq!(train["invocations"], 1, "{train}");
    assert_eq!(
        train["refusedResults"], 1,
        "the second delivery reported too, and was refused: {train}"
    );
    let jobs = execution["trainingJobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(
        jobs[0]["name"],
        action(execution, "StartTraining")["variables"]["TrainingJobName"]
    );
    let _ = std::fs::remove_dir_all(repo);
}

#[test]
fn with_manual_approval_approving_the_run_approves_the_package() {
    let repo = sample_copy("manual-approval");
    without_tuning(&repo);
    let (code, executions) = run(&[&repo, &repo], &["--parameter", "ManualApproval=true"]);
    assert_eq!(code, 0, "{:#}", executions[0]);
    let first = &executions[0];
    let evaluate = action(first, "Evaluate");
    assert!(
        evaluate["summary"]
            .as_str()
            .unwrap()
            .contains("(PendingManualApproval)"),
        "{evaluate}"
    );
    // Staging took the waiting package; the run's (locally granted) Approval came after it.
    let order: Vec<&str> = first["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert_eq!(
        &order[5..],
        ["DeployStaging", "ApproveModel", "DeployProduction"]
    );
    // DeployProduction approved it: the next run is gated against it, the latest Approved.
    let package = evaluate["variables"]["ModelPackageArn"].as_str().unwrap();
    let next = action(&executions[1], "Evaluate")["summary"]
        .as_str()
        .unwrap();
    assert!(next.contains(&format!("against {package}")), "{next}");
    let _ = std::fs::remove_dir_all(repo);
}

#[test]
fn a_second_run_is_gated_against_the_model_the_first_approved() {
    let good = sample_copy("first");
    without_tuning(&good);
    // A much weaker model: one shallow tree.
    let worse = sample_copy("second");
    without_tuning(&worse);
    edit(
        &worse,
        "configuration/trainingjob.json",
        r#""max_depth": "5""#,
        r#""max_depth": "1""#,
    );
    edit(
        &worse,
        "configuration/trainingjob.json",
        r#""n_estimators": "100""#,
        r#""n_estimators": "1""#,
    );
    edit(
        &worse,
        "configuration/evaluation.json",
        r#""Threshold": 0.8"#,
        r#""Threshold": 0.5"#,
    );
    let (code, executions) = run(&[&good, &good, &worse], &[]);
    assert_eq!(code, 1);
    assert_eq!(executions.len(), 3);
    let first = &executions[0];
    assert_eq!(first["status"], "Succeeded", "{first:#}");
    let approved = action(first, "Evaluate")["variables"]["ModelPackageArn"].clone();
    // The same model again: within the tolerance of the approved one.
    let second = &executions[1];
    assert_eq!(second["status"], "Succeeded", "{second:#}");
    let summary = action(second, "Evaluate")["summary"].as_str().unwrap();
    assert!(summary.contains(approved.as_str().unwrap()), "{summary}");
    // A worse one fails the regression rule against the latest approved model.
    let third = action(&executions[2], "Evaluate");
    assert_eq!(third["status"], "Failed", "{third}");
    let error = third["error"].as_str().unwrap();
    assert!(error.contains("behind the approved model"), "{error}");
    let _ = std::fs::remove_dir_all(good);
    let _ = std::fs::remove_dir_all(worse);
}

/// Every process below `pid` (children, grandchildren, ...), from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            parents.push((child, ppid));
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// Alive and not a zombie waiting to be reaped by init.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat[stat.rfind(')').map_or(0, |i| i + 1)..]
            .trim_start()
            .starts_with('Z')
    })
}

/// The child's exit status, waited for until `deadline` (after a Ctrl-C).
fn exit_status_by(
    child: &mut std::process::Child,
    deadline: std::time::Instant,
) -> std::process::ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running after Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// None of `pids` runs any more (after a moment for the kernel to reap them).
fn assert_none_running(pids: Vec<u32>) {
    std::thread::sleep(std::time::Duration::from_millis(500));
    let left: Vec<u32> = pids.into_iter().filter(|p| running(*p)).collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_no_process_behind() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};

    let repo = sample_copy("interrupted");
    // A training job that runs until it is stopped (only under SageMaker: the build's unit
    // tests call main() too).
    edit(
        &repo,
        "src/train.py",
        "def main(argv=None):\n",
        "def main(argv=None):\n    if os.environ.get(\"SM_CURRENT_HOST\"):\n        time.sleep(600)\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_sagemaker-cicd"))
        .arg("run")
        .arg(&repo)
        .args(["--poll", "0.2", "--project"])
        .arg(project_root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    // Wait until the training job runs (the Tune action reports it).
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|e| panic!("no training job in time ({e}): {seen:#?}"));
        seen.push(line.clone());
        if line.contains("TrainAndTune: InProgress - Training job") {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let before = descendants(pid);
    assert!(
        before.len() >= 3,
        "moto, functions and a training job: {before:?}"
    );
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let status = exit_status_by(&mut child, deadline);
    assert_eq!(status.code(), Some(130));
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("Interrupted")), "{rest:#?}");
    assert_none_running(before);
    let _ = std::fs::remove_dir_all(repo);
}

#[test]
fn services_start_alone_serve_the_aws_cli_and_stop_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let mut child = Command::new(env!("CARGO_BIN_EXE_sagemaker-cicd"))
        .args(["services", "--json", "--project"])
        .arg(project_root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let env: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
    for name in [
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SAGEMAKER",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        "AWS_ENDPOINT_URL_CODEPIPELINE",
    ] {
        let url = env[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}: {env}"));
        let authority = url.strip_prefix("http://").unwrap();
        assert!(
            TcpStream::connect(authority).is_ok(),
            "{name} {url} does not answer"
        );
    }
    // The README's AWS CLI walk-through, as it is: the sample served on a local endpoint.
    let mut script = Command::new(project_root().join("examples/serve-with-aws-cli.sh"));
    for (name, value) in env.as_object().into_iter().flatten() {
        script.env(name, value.as_str().unwrap_or_default());
    }
    let venv_bin = project_root().join(".venv/bin");
    let path = std::env::var("PATH").unwrap_or_default();
    script.env("PATH", format!("{}:{path}", venv_bin.display()));
    let output = script.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer = stdout.lines().last().unwrap_or_default();
    let (sex, probability) = answer.split_once(',').unwrap_or_default();
    assert!(
        ["male", "female"].contains(&sex) && probability.parse::<f64>().is_ok(),
        "{stdout}"
    );

    let before = descendants(pid);
    assert!(
        before.len() >= 2,
        "moto and the model server run below the CLI"
    );
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = exit_status_by(&mut child, deadline);
    assert!(status.success(), "{status}");
    assert_none_running(before);
}

#[test]
fn without_a_gate_file_require_gate_false_registers_for_review() {
    let repo = sample_copy("no-gate");
    without_tuning(&repo);
    std::fs::remove_file(repo.join("configuration/evaluation.json")).unwrap();
    let (code, executions) = run(&[&repo], &["--parameter", "RequireGate=false"]);
    let execution = &executions[0];
    // Registered for review, without the gate file's Inference (no SAGEMAKER_PROGRAM): the
    // staging endpoint cannot serve it, and says why.
    assert_eq!(code, 1, "{execution:#}");
    let staging = action(execution, "DeployStaging");
    assert!(
        staging["error"]
            .as_str()
            .unwrap()
            .contains("give the container SAGEMAKER_PROGRAM"),
        "{staging}"
    );
    let evaluate = action(execution, "Evaluate");
    assert_eq!(evaluate["variables"]["Verdict"], "Unchecked", "{evaluate}");
    assert!(
        evaluate["summary"]
            .as_str()
            .unwrap()
            .contains("PendingManualApproval"),
        "{evaluate}"
    );
    // The default (RequireGate=true): no gate file, no promotion.
    let (code, executions) = run(&[&repo], &[]);
    assert_eq!(code, 1);
    let evaluate = action(&executions[0], "Evaluate");
    assert_eq!(evaluate["errorCode"], "ConfigurationError", "{evaluate}");
    assert!(
        evaluate["error"].as_str().unwrap().contains("RequireGate"),
        "{evaluate}"
    );
    let _ = std::fs::remove_dir_all(repo);
}

#[test]
fn a_failing_unit_test_fails_the_build_with_the_test_output() {
    let repo = sample_copy("failing-unit-test");
    edit(
        &repo,
        "tests/test_forest.py",
        "self.assertEqual(model.accuracy(ROWS, LABELS), 1.0)",
        "self.assertEqual(model.accuracy(ROWS, LABELS), 2.0)",
    );
    let (code, executions) = run(&[&repo], &[]);
    let execution = &executions[0];
    assert_eq!(code, 1);
    let build = action(execution, "Build");
    assert_eq!(build["status"], "Failed", "{build}");
    let error = build["error"].as_str().unwrap();
    assert!(error.contains("phase PRE_BUILD"), "{error}");
    assert!(error.contains("test_it_learns_a_threshold"), "{error}");
    assert!(execution["trainingJobs"].as_array().unwrap().is_empty());
    let (subject, _) = only_email(execution);
    assert!(subject.starts_with("FAILED in Build"), "{subject}");
    let _ = std::fs::remove_dir_all(repo);
}

/// A run abandoned while Tune follows its tuning job: the execution is Stopped, the Tune action
/// Abandoned, Notify stops the tuning job the run left running (its training jobs with it) and
/// the email says which; no process of the run remains.
#[test]
fn a_run_abandoned_mid_tuning_leaves_no_job_running_and_the_email_says_which() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};

    let repo = sample_copy("abandoned");
    // The tuning job's training jobs (named <tuning job>-NNN-<hash>) run until stopped; the
    // Train stage's job and the build's unit tests do not.
    edit(
        &repo,
        "src/train.py",
        "def main(argv=None):\n",
        "def main(argv=None):\n    import re\n    if re.search(r\"-\\d{3}-[0-9a-f]{8}$\", os.environ.get(\"TRAINING_JOB_NAME\", \"\")):\n        time.sleep(600)\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_sagemaker-cicd"))
        .arg("run")
        .arg(&repo)
        .args(["--json", "--poll", "0.2", "--project"])
        .arg(project_root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let report = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(240);
    let (mut endpoint, mut execution, mut seen) = (None, None, Vec::new());
    // Wait until the Tune action follows the tuning job's training jobs.
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|e| panic!("no tuning job in time ({e}): {seen:#?}"));
        seen.push(line.clone());
        if let Some(at) = line.split("CodePipeline at ").nth(1) {
            endpoint = Some(at.trim().to_owned());
        }
        if let Some(rest) = line.split(", execution ").nth(1) {
            execution = rest.split(',').next().map(|id| id.trim().to_owned());
        }
        if line.contains("TrainAndTune: InProgress")
            && line.contains(" - Tuning job ")
            && !line.contains(" 0 running")
        {
            break;
        }
    }
    let (endpoint, execution) = (
        endpoint.expect("endpoint"),
        execution.expect("execution id"),
    );
    let training = descendants(pid);
    let aws = project_root().join(".venv/bin/aws");
    let stopped = Command::new(&aws)
        .args([
            "codepipeline",
            "stop-pipeline-execution",
            "--endpoint-url",
            &endpoint,
        ])
        .args([
            "--region",
            "us-east-1",
            "--pipeline-name",
            "sagemaker-cicd-pipeline",
        ])
        .args([
            "--pipeline-execution-id",
            &execution,
            "--abandon",
            "--reason",
            "not this one",
        ])
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .output()
        .unwrap();
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );

    let status = exit_status_by(&mut child, deadline);
    assert_eq!(status.code(), Some(1), "a run that did not succeed");
    let report: Value = serde_json::from_str(&report.join().unwrap()).unwrap();
    let run = &report["executions"][0];
    assert_eq!(run["status"], "Stopped", "{run:#}");
    assert_eq!(
        action(run, "TrainAndTune")["status"],
        "Abandoned",
        "{run:#}"
    );
    let (subject, body) = only_email(run);
    assert!(subject.starts_with("STOPPED"), "{subject}");
    let left = body
        .split("JOBS LEFT RUNNING\n\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no JOBS LEFT RUNNING in {body}"));
    assert!(
        left.starts_with("  Stopped the tuning job sagemaker-cicd-"),
        "{body}"
    );
    assert!(body.contains("not this one"), "the reason: {body}");
    assert_none_running(training);
    let _ = std::fs::remove_dir_all(repo);
}
