//! The project's own template.yaml, resolved as the local run resolves it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use local_stack::{Stack, StackError, StackInputs, Template};
use serde_json::{Value, json};

const STACK: &str = "sagemaker-cicd";
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn template_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")
}

fn template() -> Template {
    Template::load(&template_path()).expect("template.yaml loads")
}

fn inputs(extra: &[(&str, &str)]) -> StackInputs {
    let mut parameters: BTreeMap<String, String> = [
        ("NotificationEmail", "ml-team@example.com"),
        ("GitHubOwner", "octo-org"),
        ("GitHubRepository", "churn_model.v2"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    parameters.retain(|_, v| v != "<unset>");
    StackInputs {
        stack_name: STACK.into(),
        region: REGION.into(),
        account_id: ACCOUNT.into(),
        parameters,
    }
}

fn resolve(extra: &[(&str, &str)]) -> Result<Stack, StackError> {
    template().resolve(&inputs(extra))
}

fn stack(extra: &[(&str, &str)]) -> Stack {
    resolve(extra).unwrap_or_else(|e| panic!("{e}"))
}

/// The settings the stage's function reads: its PIPELINE_SETTINGS (the stack's) and the
/// action's UserParameters (the run's), which share no key.
fn user_parameters(stack: &Stack, stage: &str) -> Value {
    let action = &stack.pipeline.stage(stage).expect("stage").actions[0];
    let text = &action.configuration["UserParameters"];
    let mut settings: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{stage}: {e}: {text}"));
    let function = stack
        .functions
        .values()
        .find(|f| f.name == action.configuration["FunctionName"])
        .expect("the action's function");
    let stack_settings: Value =
        serde_json::from_str(&function.environment["PIPELINE_SETTINGS"]).expect("JSON");
    for (key, value) in stack_settings.as_object().expect("an object") {
        let previous = settings
            .as_object_mut()
            .expect("an object")
            .insert(key.clone(), value.clone());
        assert_eq!(previous, None, "{stage}: {key} in both");
    }
    settings
}

#[test]
fn default_pipeline_stages_and_actions() {
    let stack = stack(&[]);
    let p = &stack.pipeline;
    assert_eq!(p.logical_id, "Pipeline");
    assert_eq!(p.name, "sagemaker-cicd-pipeline");
    assert_eq!(p.pipeline_type, "V2");
    assert_eq!(p.execution_mode, "SUPERSEDED");
    assert_eq!(p.artifact_bucket, "sagemaker-cicd-artifactbucket");
    let shape: Vec<(&str, &str, Option<&str>, &str, &str)> = p
        .stages
        .iter()
        .flat_map(|s| {
            s.actions.iter().map(move |a| {
                (
                    s.name.as_str(),
                    a.name.as_str(),
                    a.namespace.as_deref(),
                    a.category.as_str(),
                    a.provider.as_str(),
                )
            })
        })
        .collect();
    assert_eq!(
        shape,
        [
            (
                "Source",
                "Source",
                Some("SourceVariables"),
                "Source",
                "CodeStarSourceConnection"
            ),
            (
                "Build",
                "Build",
                Some("BuildVariables"),
                "Build",
                "CodeBuild"
            ),
            (
                "Train",
                "StartTraining",
                Some("TrainVariables"),
                "Invoke",
                "Lambda"
            ),
            (
                "Tune",
                "TrainAndTune",
                Some("TuneVariables"),
                "Invoke",
                "Lambda"
            ),
            (
                "Evaluate",
                "Evaluate",
                Some("EvaluateVariables"),
                "Invoke",
                "Lambda"
            ),
            (
                "DeployStaging",
                "DeployStaging",
                Some("StagingVariables"),
                "Invoke",
                "Lambda"
            ),
            (
                "DeployProduction",
                "DeployProduction",
                Some("ProductionVariables"),
                "Invoke",
                "Lambda"
            ),
        ]
    );
    for stage in &p.stages {
        for a in &stage.actions {
            assert_eq!(
                (a.owner.as_str(), a.version.as_str(), a.run_order),
                ("AWS", "1", 1)
            );
        }
    }

    let source = &p.stages[0].actions[0];
    assert_eq!(source.output_artifacts, ["ModelRepo"]);
    assert_eq!(
        source.configuration["FullRepositoryId"],
        "octo-org/churn_model.v2"
    );
    assert_eq!(source.configuration["BranchName"], "main");
    assert_eq!(source.configuration["OutputArtifactFormat"], "CODE_ZIP");
    // No CodeConnectionArn: the stack's own connection.
    assert!(
        source.configuration["ConnectionArn"]
            .starts_with("arn:aws:codeconnections:us-east-1:123456789012:connection/"),
        "{}",
        source.configuration["ConnectionArn"]
    );

    let build = &p.stages[1].actions[0];
    assert_eq!(build.input_artifacts, ["ModelRepo"]);
    assert_eq!(build.configuration["ProjectName"], "sagemaker-cicd-build");
    let env: Value = serde_json::from_str(&build.configuration["EnvironmentVariables"]).unwrap();
    assert_eq!(env[0]["value"], "#{SourceVariables.CommitId}");
}

#[test]
fn train_user_parameters_are_json_with_stack_values_and_pipeline_variables() {
    let stack = stack(&[]);
    let train = user_parameters(&stack, "Train");
    assert_eq!(train["JobPrefix"], STACK);
    assert_eq!(
        train["RoleArn"],
        "arn:aws:iam::123456789012:role/sagemaker-cicd-SageMakerExecutionRole"
    );
    assert_eq!(train["CommitId"], "#{SourceVariables.CommitId}");
    assert_eq!(train["ExecutionId"], "#{codepipeline.PipelineExecutionId}");
    assert_eq!(
        train["ArtifactBucket"],
        stack.pipeline.artifact_bucket.as_str()
    );
    assert_eq!(train["InstanceType"], "ml.m4.xlarge");
    assert_eq!(train["InstanceCount"], 1);
    assert_eq!(train["VolumeSizeInGB"], 60);
    assert_eq!(train["MaxRuntimeInSeconds"], 86400);
    assert_eq!(
        train["BuildVariables"],
        json!({"SOURCE_DIR_URI": "#{BuildVariables.SOURCE_DIR_URI}"})
    );

    let tune = user_parameters(&stack, "Tune");
    assert_eq!(tune["TrainingJobName"], "#{TrainVariables.TrainingJobName}");
    assert_eq!(tune["StopJobsAtWindowEnd"], true);
    assert_eq!(tune["RoleArn"], train["RoleArn"]);

    let evaluate = user_parameters(&stack, "Evaluate");
    assert_eq!(evaluate["ModelApprovalStatus"], "Approved");
    assert_eq!(evaluate["TuningJobName"], "#{TuneVariables.TuningJobName}");
}

#[test]
fn parameter_overrides_reach_the_pipeline() {
    let arn = "arn:aws:codeconnections:us-east-1:123456789012:connection/0f0e7d6c-1234-4abc-9def-0123456789ab";
    let stack = stack(&[
        ("CodeConnectionArn", arn),
        ("GitHubBranch", "release"),
        ("TrainingInstanceType", "ml.g5.2xlarge"),
        ("TrainingInstanceCount", "2"),
        ("StopJobsAtWindowEnd", "false"),
    ]);
    let source = &stack.pipeline.stages[0].actions[0];
    assert_eq!(source.configuration["ConnectionArn"], arn);
    assert_eq!(source.configuration["BranchName"], "release");
    let train = user_parameters(&stack, "Train");
    assert_eq!(train["InstanceType"], "ml.g5.2xlarge");
    assert_eq!(train["InstanceCount"], 2);
    assert_eq!(
        user_parameters(&stack, "Tune")["StopJobsAtWindowEnd"],
        false
    );
    assert_eq!(stack.parameters["GitHubBranch"], "release");
    assert_eq!(stack.parameters["BuildTimeoutInMinutes"], "30");
}

#[test]
fn manual_approval_adds_the_approval_stage() {
    let default = stack(&[]);
    assert!(default.pipeline.stage("Approval").is_none());

    let stack = stack(&[("ManualApproval", "true")]);
    let names: Vec<&str> = stack
        .pipeline
        .stages
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Source",
            "Build",
            "Train",
            "Tune",
            "Evaluate",
            "DeployStaging",
            "Approval",
            "DeployProduction"
        ]
    );
    let approve = stack
        .pipeline
        .stage("Approval")
        .unwrap()
        .action("ApproveModel")
        .unwrap();
    assert_eq!(
        (approve.category.as_str(), approve.provider.as_str()),
        ("Approval", "Manual")
    );
    assert_eq!(approve.namespace, None);
    assert_eq!(
        approve.configuration["NotificationArn"],
        "arn:aws:sns:us-east-1:123456789012:sagemaker-cicd-notifications"
    );
    assert!(approve.configuration["CustomData"].contains("#{EvaluateVariables.ModelPackageArn}"));
    assert_eq!(
        approve.configuration["ExternalEntityLink"],
        "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/model-registry/sagemaker-cicd-octo-org-churn-model-v2"
    );
    assert_eq!(
        user_parameters(&stack, "Evaluate")["ModelApprovalStatus"],
        "PendingManualApproval"
    );
}

#[test]
fn image_repository_adds_image_uri_and_the_repository_uri() {
    let default = stack(&[]);
    assert!(
        !default.build_projects["BuildProject"]
            .environment
            .contains_key("IMAGE_REPOSITORY_URI")
    );

    let stack = stack(&[("CreateImageRepository", "true")]);
    for stage in ["Train", "Tune"] {
        assert_eq!(
            user_parameters(&stack, stage)["BuildVariables"],
            json!({
                "SOURCE_DIR_URI": "#{BuildVariables.SOURCE_DIR_URI}",
                "IMAGE_URI": "#{BuildVariables.IMAGE_URI}"
            }),
            "{stage}"
        );
    }
    let project = stack.build_project("sagemaker-cicd-build").unwrap();
    assert_eq!(
        project.environment["IMAGE_REPOSITORY_URI"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-cicd-model"
    );
}

#[test]
fn build_project() {
    let stack = stack(&[("BuildTimeoutInMinutes", "45")]);
    let project = &stack.build_projects["BuildProject"];
    assert_eq!(project.logical_id, "BuildProject");
    assert_eq!(project.name, "sagemaker-cicd-build");
    assert_eq!(project.image, "aws/codebuild/standard:8.0");
    assert_eq!(project.timeout, Duration::from_secs(45 * 60));
    assert_eq!(
        project.environment,
        BTreeMap::from([(
            "ARTIFACT_BUCKET".to_string(),
            stack.pipeline.artifact_bucket.clone()
        )])
    );
    assert_eq!(stack.build_project("BuildProject"), Some(project));
}

#[test]
fn each_lambda_action_names_a_function_and_its_binary() {
    let stack = stack(&[]);
    let mut binaries = Vec::new();
    for stage in &stack.pipeline.stages {
        for action in stage.actions.iter().filter(|a| a.provider == "Lambda") {
            let name = &action.configuration["FunctionName"];
            let f = stack
                .function(name)
                .unwrap_or_else(|| panic!("{}: no function {name}", action.name));
            assert_eq!(stack.function(&f.arn), Some(f));
            assert_eq!(stack.function(&f.logical_id), Some(f));
            // The deploy function runs a smoke test of up to 200 invocations.
            let timeout = if f.binary == "deploy" { 300 } else { 60 };
            assert_eq!(f.timeout, Duration::from_secs(timeout));
            assert_eq!(f.memory_mb, 256);
            assert_eq!(f.architectures, ["arm64"]);
            assert_eq!(f.maximum_retry_attempts, Some(0));
            assert_eq!(f.environment["RUST_LOG"], "info");
            binaries.push(f.binary.as_str());
        }
    }
    assert_eq!(
        binaries,
        [
            "start-training",
            "train-and-tune",
            "evaluate",
            "deploy",
            "deploy"
        ]
    );
    assert_eq!(
        stack.functions["StartTrainingFunction"].arn,
        "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-cicd-StartTrainingFunction"
    );
    assert_eq!(stack.functions.len(), 5);
}

#[test]
fn notify_rule_targets_the_notify_function() {
    let stack = stack(&[]);
    let rule = &stack.event_rules["NotifyRule"];
    assert_eq!(rule.name, "sagemaker-cicd-notify");
    assert_eq!(rule.target_functions, ["NotifyFunction"]);
    assert_eq!(
        rule.event_pattern["detail"]["pipeline"],
        json!(["sagemaker-cicd-pipeline"])
    );
    assert_eq!(
        rule.event_pattern["detail"]["pipeline"][0],
        stack.pipeline.name.as_str()
    );
    assert_eq!(rule.event_pattern["source"], json!(["aws.codepipeline"]));
    assert_eq!(
        rule.event_pattern["detail"]["state"],
        json!(["SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELED"])
    );
    assert_eq!(stack.rules_targeting("NotifyFunction"), [rule]);

    let notify = &stack.functions["NotifyFunction"];
    assert_eq!(notify.binary, "notify");
    assert_eq!(notify.timeout, Duration::from_secs(30));
    assert_eq!(notify.maximum_retry_attempts, Some(2));
    assert_eq!(
        notify.environment["NOTIFICATION_TOPIC_ARN"],
        "arn:aws:sns:us-east-1:123456789012:sagemaker-cicd-notifications"
    );
    assert_eq!(
        notify.environment["ARTIFACT_BUCKET"],
        stack.pipeline.artifact_bucket
    );
}

#[test]
fn parameters_for_help() {
    let params = template().parameters();
    let required: Vec<&str> = params
        .iter()
        .filter(|p| p.is_required())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        required,
        ["NotificationEmail", "GitHubOwner", "GitHubRepository"]
    );
    let manual = params.iter().find(|p| p.name == "ManualApproval").unwrap();
    assert_eq!(manual.allowed_values, ["false", "true"]);
    assert_eq!(manual.default.as_deref(), Some("false"));
    assert!(
        manual
            .description
            .as_deref()
            .unwrap()
            .contains("Approval stage")
    );
    let timeout = params
        .iter()
        .find(|p| p.name == "BuildTimeoutInMinutes")
        .unwrap();
    assert_eq!(
        (
            timeout.param_type.as_str(),
            timeout.min_value,
            timeout.max_value
        ),
        ("Number", Some(5.0), Some(480.0))
    );
}

#[test]
fn a_bad_value_is_named() {
    let e = resolve(&[("ManualApproval", "maybe")]).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, StackError::InvalidParameter { .. }), "{text}");
    assert!(text.contains("template.yaml:"), "{text}");
    assert!(
        text.contains("ManualApproval") && text.contains("\"maybe\""),
        "{text}"
    );
    assert!(text.contains("AllowedValues: false, true"), "{text}");

    let text = resolve(&[("NotificationEmail", "not-an-email")])
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("NotificationEmail") && text.contains("must be an email address"),
        "{text}"
    );
    let text = resolve(&[("BuildTimeoutInMinutes", "1")])
        .unwrap_err()
        .to_string();
    assert!(text.contains("MinValue 5"), "{text}");
}

#[test]
fn an_unknown_parameter_is_named_with_the_known_ones() {
    let e = resolve(&[("ManualAproval", "true")]).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("\"ManualAproval\""), "{text}");
    assert!(text.contains("did you mean ManualApproval"), "{text}");
    assert!(text.contains("NotificationEmail, GitHubOwner"), "{text}");
}

#[test]
fn a_missing_parameter_is_named_with_how_to_pass_it() {
    let e = resolve(&[("GitHubOwner", "<unset>")]).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(&e, StackError::MissingParameters { names, .. } if names == &["GitHubOwner"]),
        "{text}"
    );
    assert!(text.contains("GitHubOwner=<value>"), "{text}");

    let e = template()
        .resolve(&StackInputs {
            stack_name: STACK.into(),
            region: REGION.into(),
            account_id: ACCOUNT.into(),
            parameters: BTreeMap::new(),
        })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("NotificationEmail, GitHubOwner, GitHubRepository"),
        "{e}"
    );
}

#[test]
fn stack_inputs_are_checked() {
    let t = template();
    let mut bad = inputs(&[]);
    bad.stack_name = "1-stack".into();
    assert!(
        t.resolve(&bad)
            .unwrap_err()
            .to_string()
            .contains("stack name")
    );
    let mut bad = inputs(&[]);
    bad.account_id = "1234".into();
    assert!(
        t.resolve(&bad)
            .unwrap_err()
            .to_string()
            .contains("12 digits")
    );
    let mut bad = inputs(&[]);
    bad.region = "US East".into();
    assert!(t.resolve(&bad).unwrap_err().to_string().contains("region"));
}

#[test]
fn resolution_is_deterministic() {
    assert_eq!(stack(&[]), stack(&[]));
}

#[test]
fn a_missing_file_is_named() {
    let e = Template::load(&template_path().with_file_name("no-such-template.yaml")).unwrap_err();
    assert!(matches!(e, StackError::Read { .. }));
    assert!(e.to_string().contains("no-such-template.yaml"), "{e}");
}

#[test]
fn the_production_alarms_are_resolved_for_the_local_cloudwatch() {
    let stack = stack(&[("ProductionErrorAlarmThreshold", "3")]);
    let names: Vec<&str> = stack.alarms.values().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "sagemaker-cicd-production-5xx",
            "sagemaker-cicd-production-latency"
        ]
    );
    let errors = stack
        .alarms
        .values()
        .find(|a| a.name.ends_with("-5xx"))
        .unwrap();
    assert_eq!(errors.properties["MetricName"], "Invocation5XXErrors");
    assert_eq!(errors.properties["Namespace"], "AWS/SageMaker");
    // A parameter is a string; the local run reads numbers from either.
    assert_eq!(errors.properties["Threshold"], "3");
    assert_eq!(
        errors.properties["Dimensions"][0]["Value"],
        "sagemaker-cicd-production"
    );
    // The Deploy action names the same alarms.
    let production = stack.pipeline.stage("DeployProduction").unwrap();
    let parameters = &production.actions[0].configuration["UserParameters"];
    assert!(
        parameters.contains(
            r#""Alarms":["sagemaker-cicd-production-5xx","sagemaker-cicd-production-latency"]"#
        ),
        "{parameters}"
    );
}
