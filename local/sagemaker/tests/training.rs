//! Training jobs over HTTP with the real aws-sdk-sagemaker client, S3 on moto.

mod support;

use std::time::{Duration, Instant};

use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{SecondaryStatus, TrainingJobStatus};
use serde_json::{Value, json};
use support::{BUCKET, Harness, alive, create_training, pid_in, put_train_data, request, untar};

const LIMIT: Duration = Duration::from_secs(60);

fn steps(
    job: &aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput,
) -> Vec<String> {
    job.secondary_status_transitions()
        .iter()
        .map(|t| {
            t.status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default()
        })
        .collect()
}

fn metrics(
    job: &aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput,
) -> Vec<(String, f32)> {
    job.final_metric_data_list()
        .iter()
        .map(|m| {
            (
                m.metric_name().unwrap_or_default().to_owned(),
                m.value().unwrap_or(f32::NAN),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_under_the_training_contract_and_uploads_its_model() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    h.put("data/train/nested/part-1.csv", b"x,y\n3,4\n".to_vec())
        .await;
    let script = r#"
import json, os, sys
env = {k: v for k, v in os.environ.items() if k.startswith("SM_") or k.startswith("TRAINING_JOB")}
config = os.path.join(env["SM_INPUT_CONFIG_DIR"])
files = sorted(os.path.relpath(os.path.join(d, f), env["SM_CHANNEL_TRAIN"])
               for d, _, fs in os.walk(env["SM_CHANNEL_TRAIN"]) for f in fs)
report = {
    "argv": sys.argv[1:], "cwd": os.getcwd(), "env": env, "files": files,
    "hyperparameters": json.load(open(os.path.join(config, "hyperparameters.json"))),
    "resourceconfig": json.load(open(os.path.join(config, "resourceconfig.json"))),
    "inputdataconfig": json.load(open(os.path.join(config, "inputdataconfig.json"))),
    "helper": __import__("helper").VALUE,
}
print("REPORT " + json.dumps(report))
for step in range(3):
    print(f"step {step} loss={1.0 / (step + 1):.4f}")
with open(os.path.join(env["SM_MODEL_DIR"], "model.txt"), "w") as f:
    f.write("weights")
with open(os.path.join(env["SM_OUTPUT_DATA_DIR"], "report.json"), "w") as f:
    f.write("{}")
"#;
    let code = h
        .put_code(
            "code/contract.tar.gz",
            &[("train.py", script), ("helper.py", "VALUE = 42\n")],
        )
        .await;
    let mut body = request("contract-job", &code, "train.py");
    body["HyperParameters"]["max_depth"] = json!("5");
    body["HyperParameters"]["criterion"] = json!("\"gini\"");
    body["Environment"] = json!({"MY_SETTING": "on"});
    let arn = create_training(&h.client, body).await.unwrap();
    assert_eq!(
        arn,
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/contract-job"
    );

    let job = h.wait_for_training("contract-job", LIMIT).await;
    let log = h.log("contract-job");
    assert_eq!(
        job.training_job_status(),
        Some(&TrainingJobStatus::Completed),
        "{log}"
    );
    assert_eq!(
        steps(&job),
        [
            "Starting",
            "Downloading",
            "Training",
            "Uploading",
            "Completed"
        ]
    );
    assert!(
        job.secondary_status_transitions()
            .iter()
            .all(|t| t.end_time().is_some())
    );
    assert_eq!(metrics(&job), [("train:loss".to_owned(), 0.3333)]);
    assert!(job.training_start_time().is_some() && job.training_end_time().is_some());

    let report: Value = log
        .lines()
        .find_map(|l| l.strip_prefix("REPORT "))
        .map(|r| serde_json::from_str(r).unwrap())
        .unwrap_or_else(|| panic!("no report in the log:\n{log}"));
    assert_eq!(
        report["argv"],
        json!(["--criterion", "gini", "--max_depth", "5"])
    );
    let opt_ml = h.sagemaker.training_job_dir("contract-job").join("opt/ml");
    assert_eq!(
        report["cwd"],
        json!(opt_ml.join("code").display().to_string())
    );
    assert_eq!(report["files"], json!(["nested/part-1.csv", "part-0.csv"]));
    assert_eq!(report["helper"], 42);
    let env = &report["env"];
    assert_eq!(
        env["SM_MODEL_DIR"],
        json!(opt_ml.join("model").display().to_string())
    );
    assert_eq!(env["SM_CHANNELS"], r#"["train"]"#);
    assert_eq!(env["SM_HP_MAX_DEPTH"], "5");
    assert_eq!(env["SM_HP_CRITERION"], "gini");
    assert_eq!(env["SM_CURRENT_HOST"], "algo-1");
    assert_eq!(env["TRAINING_JOB_NAME"], "contract-job");
    assert_eq!(report["hyperparameters"]["max_depth"], "5");
    assert_eq!(
        report["resourceconfig"]["current_instance_type"],
        "ml.m5.large"
    );
    assert_eq!(
        report["inputdataconfig"]["train"]["TrainingInputMode"],
        "File"
    );

    let model_uri = job
        .model_artifacts()
        .and_then(|m| m.s3_model_artifacts())
        .unwrap();
    assert_eq!(
        model_uri,
        format!("s3://{BUCKET}/models/contract-job/output/model.tar.gz")
    );
    let model = untar(&h.get("models/contract-job/output/model.tar.gz").await);
    assert_eq!(model, [("model.txt".to_owned(), b"weights".to_vec())]);
    let output = untar(&h.get("models/contract-job/output/output.tar.gz").await);
    assert_eq!(output[0].0, "report.json");

    let described = job.hyper_parameters().unwrap();
    assert_eq!(described["max_depth"], "5");
    assert_eq!(job.environment().unwrap()["MY_SETTING"], "on");
    let owner = aws_sdk_sagemaker::types::Tag::builder()
        .key("owner")
        .value("me")
        .build();
    h.client
        .add_tags()
        .resource_arn(&arn)
        .tags(owner)
        .send()
        .await
        .unwrap();
    let tags = h
        .client
        .list_tags()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let tags: Vec<_> = tags
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags, [("team", "tests"), ("owner", "me")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_that_exits_non_zero_fails_with_the_end_of_its_stderr() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let script =
        "import sys\nprint('loss=0.5')\nraise SystemExit('bad hyperparameter: max_depth')\n";
    let code = h
        .put_code("code/exit.tar.gz", &[("train.py", script)])
        .await;
    create_training(&h.client, request("exits-non-zero", &code, "train.py"))
        .await
        .unwrap();
    let job = h.wait_for_training("exits-non-zero", LIMIT).await;
    assert_eq!(job.training_job_status(), Some(&TrainingJobStatus::Failed));
    assert_eq!(job.secondary_status(), Some(&SecondaryStatus::Failed));
    assert_eq!(
        steps(&job),
        ["Starting", "Downloading", "Training", "Failed"]
    );
    let reason = job.failure_reason().unwrap();
    assert!(
        reason.starts_with("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n"),
        "{reason}"
    );
    assert!(reason.contains("bad hyperparameter: max_depth"), "{reason}");
    assert!(reason.ends_with("train.py\", exit code: 1"), "{reason}");
    // The SDK fills a missing required member with an empty value.
    let model = job.model_artifacts().and_then(|m| m.s3_model_artifacts());
    assert!(model.is_none_or(str::is_empty), "{model:?}");
    assert_eq!(metrics(&job), [("train:loss".to_owned(), 0.5)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failure_file_is_the_failure_reason() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let script = "import os, sys\nopen(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'w').write('ValueError: column `y` is empty')\nsys.exit(2)\n";
    let code = h
        .put_code("code/failure.tar.gz", &[("train.py", script)])
        .await;
    create_training(&h.client, request("writes-failure", &code, "train.py"))
        .await
        .unwrap();
    let job = h.wait_for_training("writes-failure", LIMIT).await;
    assert_eq!(job.training_job_status(), Some(&TrainingJobStatus::Failed));
    assert_eq!(
        job.failure_reason(),
        Some("ValueError: column `y` is empty")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_runtime_exceeded_kills_the_process() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let script = "import os, time\nprint(f'pid={os.getpid()}', flush=True)\ntime.sleep(600)\n";
    let code = h
        .put_code("code/sleep.tar.gz", &[("train.py", script)])
        .await;
    let mut body = request("runs-too-long", &code, "train.py");
    body["StoppingCondition"]["MaxRuntimeInSeconds"] = json!(2);
    let started = Instant::now();
    create_training(&h.client, body).await.unwrap();
    let job = h
        .wait_for_training("runs-too-long", Duration::from_secs(30))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(job.training_job_status(), Some(&TrainingJobStatus::Stopped));
    assert_eq!(
        job.secondary_status(),
        Some(&SecondaryStatus::MaxRuntimeExceeded)
    );
    let last = job.secondary_status_transitions().last().unwrap();
    assert_eq!(
        last.status_message(),
        Some("Training job runtime exceeded MaxRuntimeInSeconds provided")
    );
    let pid = pid_in(&h.log("runs-too-long")).expect("the script printed its pid");
    assert!(!alive(pid), "process {pid} outlived its job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_name_is_resource_in_use() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let code = h
        .put_code("code/ok.tar.gz", &[("train.py", "print('loss=1')\n")])
        .await;
    create_training(&h.client, request("only-once", &code, "train.py"))
        .await
        .unwrap();
    let err = create_training(&h.client, request("only-once", &code, "train.py"))
        .await
        .unwrap_err();
    let service_error = err.as_service_error().expect("a service error");
    assert!(service_error.is_resource_in_use(), "{err:?}");
    assert!(
        service_error
            .message()
            .unwrap()
            .contains("training-job/only-once"),
        "{service_error:?}"
    );
    // Names are unique regardless of case, as their lower-case ARNs are.
    let err = create_training(&h.client, request("Only-Once", &code, "train.py"))
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_resource_in_use());
    h.wait_for_training("only-once", LIMIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_the_job_and_keeps_what_it_saved_in_its_grace_period() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let script = r#"
import os, signal, sys, time
def save_and_exit(signum, frame):
    open(os.path.join(os.environ["SM_MODEL_DIR"], "checkpoint.txt"), "w").write("partial")
    print("saved on SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, save_and_exit)
print(f"pid={os.getpid()}", flush=True)
time.sleep(600)
"#;
    let code = h
        .put_code("code/stop.tar.gz", &[("train.py", script)])
        .await;
    create_training(&h.client, request("to-stop", &code, "train.py"))
        .await
        .unwrap();
    h.wait_until("to-stop", LIMIT, |_| pid_in(&h.log("to-stop")).is_some())
        .await;
    let pid = pid_in(&h.log("to-stop")).unwrap();

    h.client
        .stop_training_job()
        .training_job_name("to-stop")
        .send()
        .await
        .unwrap();
    let stopping = h.describe_training("to-stop").await;
    assert!(
        matches!(
            stopping.training_job_status(),
            Some(TrainingJobStatus::Stopping | TrainingJobStatus::Stopped)
        ),
        "{stopping:?}"
    );
    let job = h.wait_for_training("to-stop", LIMIT).await;
    assert_eq!(job.training_job_status(), Some(&TrainingJobStatus::Stopped));
    assert_eq!(
        steps(&job),
        ["Starting", "Downloading", "Training", "Stopping", "Stopped"]
    );
    assert!(!alive(pid), "process {pid} outlived its stopped job");
    assert!(h.log("to-stop").contains("saved on SIGTERM"));
    let model = untar(&h.get("models/to-stop/output/model.tar.gz").await);
    assert_eq!(model, [("checkpoint.txt".to_owned(), b"partial".to_vec())]);

    let err = h
        .client
        .stop_training_job()
        .training_job_name("to-stop")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metric_whose_regex_never_matches_is_left_out() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let code = h
        .put_code(
            "code/metrics.tar.gz",
            &[("train.py", "print('loss=0.25')\nprint('loss=0.125')\n")],
        )
        .await;
    let mut body = request("quiet-metric", &code, "train.py");
    body["AlgorithmSpecification"]["MetricDefinitions"] = json!([
        {"Name": "validation:auc", "Regex": "validation auc: ([0-9.]+)"},
        {"Name": "train:loss", "Regex": "loss=([0-9.]+)"}
    ]);
    create_training(&h.client, body).await.unwrap();
    let job = h.wait_for_training("quiet-metric", LIMIT).await;
    assert_eq!(
        job.training_job_status(),
        Some(&TrainingJobStatus::Completed)
    );
    assert_eq!(metrics(&job), [("train:loss".to_owned(), 0.125)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_jobs_and_invalid_requests_are_validation_exceptions() {
    let h = Harness::start().await;
    let err = h
        .client
        .describe_training_job()
        .training_job_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(err.message(), Some("Requested resource not found."));
    let err = h
        .client
        .list_tags()
        .resource_arn("arn:aws:sagemaker:us-east-1:123456789012:training-job/nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = h
        .client
        .stop_training_job()
        .training_job_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));

    let mut body = request("bad-regex", "s3://artifacts/code.tar.gz", "train.py");
    body["AlgorithmSpecification"]["MetricDefinitions"] =
        json!([{"Name": "m", "Regex": "(unclosed"}]);
    let err = create_training(&h.client, body).await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(
        err.message().unwrap().contains("Regex of metric `m`"),
        "{err:?}"
    );

    let mut body = request("bad-runtime", "s3://artifacts/code.tar.gz", "train.py");
    body["StoppingCondition"]["MaxRuntimeInSeconds"] = json!(0);
    let err = create_training(&h.client, body).await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(
        err.message()
            .unwrap()
            .contains("StoppingCondition.MaxRuntimeInSeconds"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_channel_or_program_fails_the_job_with_a_client_error() {
    let h = Harness::start().await;
    let code = h
        .put_code("code/ok.tar.gz", &[("train.py", "print('loss=1')\n")])
        .await;
    create_training(&h.client, request("no-data", &code, "train.py"))
        .await
        .unwrap();
    let job = h.wait_for_training("no-data", LIMIT).await;
    assert_eq!(job.training_job_status(), Some(&TrainingJobStatus::Failed));
    let reason = job.failure_reason().unwrap();
    assert!(
        reason.starts_with(
            "ClientError: No S3 objects found under S3 URL \"s3://artifacts/data/train/\""
        ),
        "{reason}"
    );
    assert_eq!(steps(&job), ["Starting", "Downloading", "Failed"]);

    put_train_data(&h).await;
    create_training(&h.client, request("no-program", &code, "missing.py"))
        .await
        .unwrap();
    let job = h.wait_for_training("no-program", LIMIT).await;
    assert_eq!(job.training_job_status(), Some(&TrainingJobStatus::Failed));
    assert!(
        job.failure_reason().unwrap().contains("missing.py"),
        "{job:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_image_runs_its_command_with_train() {
    let entry = support::WorkDir::new();
    let entrypoint = entry.0.join("entrypoint.py");
    std::fs::write(
        &entrypoint,
        "import os, sys\nprint(f'loss=0.5 argv={sys.argv[1:]} cwd={os.getcwd()}')\nopen('model/m', 'w').write('x')\n",
    )
    .unwrap();
    let rule = format!("*my-algorithm*=python3 {}", entrypoint.display());
    let h = Harness::start_with(|settings| {
        let mut images = local_sagemaker::ImageCommands::default();
        images.push(rule.parse().unwrap());
        settings.with_images(images)
    })
    .await;
    put_train_data(&h).await;
    let mut body = request("custom-image", "unused", "unused");
    body["AlgorithmSpecification"]["TrainingImage"] =
        json!("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algorithm:2");
    body["HyperParameters"] = json!({"alpha": "1"});
    create_training(&h.client, body).await.unwrap();
    let job = h.wait_for_training("custom-image", LIMIT).await;
    let log = h.log("custom-image");
    assert_eq!(
        job.training_job_status(),
        Some(&TrainingJobStatus::Completed),
        "{log}"
    );
    let opt_ml = h.sagemaker.training_job_dir("custom-image").join("opt/ml");
    assert!(
        log.contains(&format!("argv=['train'] cwd={}", opt_ml.display())),
        "{log}"
    );

    // Outside script mode, an image without a rule has nothing to run.
    let mut body = request("unmapped-image", "unused", "unused");
    body["HyperParameters"] = json!({"alpha": "1"});
    create_training(&h.client, body).await.unwrap();
    let job = h.wait_for_training("unmapped-image", LIMIT).await;
    assert_eq!(job.training_job_status(), Some(&TrainingJobStatus::Failed));
    assert!(job.failure_reason().unwrap().contains("--image"), "{job:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_training_jobs_filters_sorts_and_pages() {
    let h = Harness::start().await;
    put_train_data(&h).await;
    let code = h
        .put_code("code/ok.tar.gz", &[("train.py", "print('loss=1')\n")])
        .await;
    for name in ["list-c", "list-a", "list-b", "other"] {
        create_training(&h.client, request(name, &code, "train.py"))
            .await
            .unwrap();
    }
    for name in ["list-c", "list-a", "list-b", "other"] {
        h.wait_for_training(name, LIMIT).await;
    }
    let page = h
        .client
        .list_training_jobs()
        .name_contains("LIST")
        .sort_by(aws_sdk_sagemaker::types::SortBy::Name)
        .sort_order(aws_sdk_sagemaker::types::SortOrder::Descending)
        .max_results(2)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = page
        .training_job_summaries()
        .iter()
        .map(|s| s.training_job_name().unwrap())
        .collect();
    assert_eq!(names, ["list-c", "list-b"]);
    let rest = h
        .client
        .list_training_jobs()
        .name_contains("LIST")
        .sort_by(aws_sdk_sagemaker::types::SortBy::Name)
        .sort_order(aws_sdk_sagemaker::types::SortOrder::Descending)
        .max_results(2)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let names: Vec<_> = rest
        .training_job_summaries()
        .iter()
        .map(|s| s.training_job_name().unwrap())
        .collect();
    assert_eq!((names, rest.next_token()), (vec!["list-a"], None));
    let all = h
        .client
        .list_training_jobs()
        .status_equals(TrainingJobStatus::Completed)
        .send()
        .await
        .unwrap();
    assert_eq!(all.training_job_summaries().len(), 4);
    // CreationTime ascending is the default order.
    assert_eq!(
        all.training_job_summaries()[0].training_job_name(),
        Some("list-c")
    );
}
