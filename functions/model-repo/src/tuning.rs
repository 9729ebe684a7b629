//! configuration/tuning.json: a CreateHyperParameterTuningJob request without what the training
//! job already says. The training job definition is derived from trainingjob.json; whatever
//! tuning.json gives in `TrainingJobDefinition` overrides it, member by member.

use std::collections::BTreeSet;

use config_file::{Diagnostic, Diagnostics, Document, JsonPath};
use sagemaker_requests::{
    CreateHyperParameterTuningJobRequest, CreateTrainingJobRequest,
    HyperParameterTrainingJobDefinition, ParameterRanges,
};
use serde_json::{Map, Value};

use crate::Placeholders;
use crate::settings::ACTION_WINDOW_SECONDS;

/// Members of a training request that a tuning job's training definition carries as they are.
const CARRIED: &[&str] = &[
    "RoleArn",
    "InputDataConfig",
    "VpcConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
];
/// The part of AlgorithmSpecification a tuning definition can express.
const CARRIED_ALGORITHM: &[&str] = &[
    "TrainingImage",
    "TrainingInputMode",
    "AlgorithmName",
    "MetricDefinitions",
];
/// Members that belong to the training job alone (the pipeline names and tags the tuning job).
const TRAINING_ONLY: &[&str] = &[
    "TrainingJobName",
    "Tags",
    "HyperParameters",
    "AlgorithmSpecification",
];

/// The tuning request to send, and the training members the tuning API cannot carry (shown to
/// the user in the execution summary rather than dropped unseen).
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    pub request: CreateHyperParameterTuningJobRequest,
    pub not_carried: Vec<String>,
}

/// Reads tuning.json (`text`, at `file`) against the commit's checked training request.
pub fn load(
    file: &str,
    text: &str,
    placeholders: &Placeholders,
    training: &CreateTrainingJobRequest,
) -> Result<Tuning, Diagnostics> {
    let mut doc = Document::parse(file, text)?;
    placeholders.fill(&mut doc)?;
    let training = serde_json::to_value(training).unwrap_or_default();
    let (definition, not_carried) = derive_definition(&training);

    let value = doc.value_mut();
    if value.get("TrainingJobDefinitions").is_none()
        && let Some(root) = value.as_object_mut()
    {
        let given = root
            .remove("TrainingJobDefinition")
            .unwrap_or(Value::Object(Map::new()));
        let mut merged = Value::Object(definition);
        merge(&mut merged, given);
        root.insert("TrainingJobDefinition".into(), merged);
    }
    let tuned = tuned_names(doc.value());
    if let Some(statics) = doc
        .value_mut()
        .pointer_mut("/TrainingJobDefinition/StaticHyperParameters")
        .and_then(Value::as_object_mut)
    {
        statics.retain(|name, _| !tuned.contains(name));
    }

    let request: CreateHyperParameterTuningJobRequest = doc.deserialize()?;
    let mut violations = Vec::new();
    request.check(&mut JsonPath::root(), &mut violations);
    let mut problems: Vec<Diagnostic> = violations
        .into_iter()
        .map(|v| v.into_diagnostic(&doc))
        .collect();
    problems.extend(rules(&doc, &request));
    if problems.is_empty() {
        Ok(Tuning {
            request,
            not_carried,
        })
    } else {
        Err(Diagnostics(problems))
    }
}

/// The training definition trainingjob.json implies, as API JSON.
fn derive_definition(training: &Value) -> (Map<String, Value>, Vec<String>) {
    let mut definition = Map::new();
    let mut not_carried = Vec::new();
    for (key, value) in training.as_object().into_iter().flatten() {
        if value.is_null() {
            continue;
        }
        if CARRIED.contains(&key.as_str()) {
            definition.insert(key.clone(), value.clone());
        } else if !TRAINING_ONLY.contains(&key.as_str()) {
            not_carried.push(key.clone());
        }
    }
    if let Some(algorithm) = training
        .get("AlgorithmSpecification")
        .and_then(Value::as_object)
    {
        let mut carried = Map::new();
        for (key, value) in algorithm.iter().filter(|(_, v)| !v.is_null()) {
            if CARRIED_ALGORITHM.contains(&key.as_str()) {
                carried.insert(key.clone(), value.clone());
            } else {
                not_carried.push(format!("AlgorithmSpecification.{key}"));
            }
        }
        definition.insert("AlgorithmSpecification".into(), Value::Object(carried));
    }
    if let Some(hyperparameters) = training.get("HyperParameters").filter(|v| !v.is_null()) {
        definition.insert("StaticHyperParameters".into(), hyperparameters.clone());
    }
    (definition, not_carried)
}

/// Objects merge member by member; anything else given replaces what was derived.
fn merge(base: &mut Value, given: Value) {
    match (base, given) {
        (Value::Object(base), Value::Object(given)) => {
            for (key, value) in given {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, given) => *base = given,
    }
}

/// Names of the hyperparameters tuned by any range, wherever the ranges are given.
fn tuned_names(request: &Value) -> BTreeSet<String> {
    let range_sets = [
        request.pointer("/HyperParameterTuningJobConfig/ParameterRanges"),
        request.pointer("/TrainingJobDefinition/HyperParameterRanges"),
    ];
    range_sets
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|ranges| ranges.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|range| range.get("Name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// What SageMaker would refuse, or what could never finish within the pipeline.
fn rules(doc: &Document, request: &CreateHyperParameterTuningJobRequest) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let config = &request.hyper_parameter_tuning_job_config;
    let config_path = JsonPath::root().key("HyperParameterTuningJobConfig");
    let mut problem = |path: JsonPath, message: String, hint: &str| {
        out.push(doc.diagnostic(&path, message, Some(hint.to_owned())));
    };

    // The objective must be a metric the training container emits.
    let definition = request.training_job_definition.as_ref();
    if request.autotune.is_none() {
        match &config.hyper_parameter_tuning_job_objective {
            None => problem(
                config_path.clone(),
                "HyperParameterTuningJobObjective is missing".into(),
                r#"add "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"}"#,
            ),
            Some(objective) => {
                if let Some(names) = definition.and_then(metric_names)
                    && !names.contains(&objective.metric_name)
                {
                    let known = names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    problem(
                        config_path
                            .key("HyperParameterTuningJobObjective")
                            .key("MetricName"),
                        format!(
                            "the objective `{}` is not among the MetricDefinitions of the training job ({known})",
                            objective.metric_name
                        ),
                        "name one of them, or add a MetricDefinition for it to trainingjob.json",
                    );
                }
            }
        }
    }

    let limits = &config.resource_limits;
    let limits_path = config_path.key("ResourceLimits");
    if limits.max_parallel_training_jobs < 1 {
        problem(
            limits_path.key("MaxParallelTrainingJobs"),
            "MaxParallelTrainingJobs must be at least 1".into(),
            "write 1 or more",
        );
    }
    if let Some(max) = limits.max_number_of_training_jobs {
        if max < 1 {
            problem(
                limits_path.key("MaxNumberOfTrainingJobs"),
                "MaxNumberOfTrainingJobs must be at least 1".into(),
                "write 1 or more",
            );
        } else if limits.max_parallel_training_jobs > max {
            problem(
                limits_path.key("MaxParallelTrainingJobs"),
                format!(
                    "MaxParallelTrainingJobs ({}) is more than MaxNumberOfTrainingJobs ({max})",
                    limits.max_parallel_training_jobs
                ),
                "run at most as many jobs in parallel as in total",
            );
        }
    }
    if let Some(runtime) = limits.max_runtime_in_seconds
        && i64::from(runtime) > ACTION_WINDOW_SECONDS
    {
        problem(
            limits_path.key("MaxRuntimeInSeconds"),
            format!(
                "MaxRuntimeInSeconds is {runtime} s, longer than the 24 hours CodePipeline waits for an action"
            ),
            "write at most 86400, or leave it out: the pipeline then limits tuning to what is left of the window",
        );
    }

    let strategy = config.strategy.as_str();
    let ranges = [
        (
            config_path.key("ParameterRanges"),
            config.parameter_ranges.as_ref(),
        ),
        (
            JsonPath::root()
                .key("TrainingJobDefinition")
                .key("HyperParameterRanges"),
            definition.and_then(|d| d.hyper_parameter_ranges.as_ref()),
        ),
    ];
    let mut any_range = false;
    for (path, ranges) in ranges.iter().filter_map(|(p, r)| r.map(|r| (p, r))) {
        any_range |= !range_names(ranges).is_empty();
        check_ranges(path, ranges, strategy, &mut problem);
    }
    if !any_range && request.autotune.is_none() && request.training_job_definitions.is_none() {
        problem(
            config_path.clone(),
            "no ParameterRanges: there is nothing to tune".into(),
            r#"add "ParameterRanges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}]}, or delete tuning.json to skip tuning"#,
        );
    }
    if strategy == "Grid" && limits.max_number_of_training_jobs.is_some() {
        problem(
            limits_path.key("MaxNumberOfTrainingJobs"),
            "the Grid strategy runs every combination: MaxNumberOfTrainingJobs must not be given"
                .into(),
            "remove MaxNumberOfTrainingJobs",
        );
    }
    if strategy != "Hyperband"
        && config
            .strategy_config
            .as_ref()
            .is_some_and(|c| c.hyperband_strategy_config.is_some())
    {
        problem(
            config_path.key("StrategyConfig"),
            format!("HyperbandStrategyConfig is given but the strategy is {strategy}"),
            r#"write "Strategy": "Hyperband", or remove StrategyConfig"#,
        );
    }
    if strategy == "Hyperband"
        && config
            .training_job_early_stopping_type
            .as_deref()
            .is_some_and(|t| t != "Off")
    {
        problem(
            config_path.key("TrainingJobEarlyStoppingType"),
            "Hyperband stops jobs itself: TrainingJobEarlyStoppingType must be Off".into(),
            r#"write "Off" or remove it"#,
        );
    }
    out
}

fn metric_names(definition: &HyperParameterTrainingJobDefinition) -> Option<Vec<String>> {
    // A built-in algorithm emits its own metrics and lists none here: nothing to check against.
    let metrics = definition
        .algorithm_specification
        .metric_definitions
        .as_ref()?;
    (!metrics.is_empty()).then(|| metrics.iter().map(|m| m.name.clone()).collect())
}

fn range_names(ranges: &ParameterRanges) -> Vec<&str> {
    let integer = ranges
        .integer_parameter_ranges
        .iter()
        .flatten()
        .map(|r| r.name.as_str());
    let continuous = ranges
        .continuous_parameter_ranges
        .iter()
        .flatten()
        .map(|r| r.name.as_str());
    let categorical = ranges
        .categorical_parameter_ranges
        .iter()
        .flatten()
        .map(|r| r.name.as_str());
    integer.chain(continuous).chain(categorical).collect()
}

fn check_ranges(
    path: &JsonPath,
    ranges: &ParameterRanges,
    strategy: &str,
    problem: &mut impl FnMut(JsonPath, String, &str),
) {
    let mut seen = BTreeSet::new();
    for name in range_names(ranges) {
        if !seen.insert(name) {
            problem(
                path.clone(),
                format!("`{name}` has more than one range"),
                "give each hyperparameter one range",
            );
        }
    }
    let numeric = [
        (
            "IntegerParameterRanges",
            true,
            ranges
                .integer_parameter_ranges
                .iter()
                .flatten()
                .map(|r| (&r.min_value, &r.max_value, &r.scaling_type))
                .collect::<Vec<_>>(),
        ),
        (
            "ContinuousParameterRanges",
            false,
            ranges
                .continuous_parameter_ranges
                .iter()
                .flatten()
                .map(|r| (&r.min_value, &r.max_value, &r.scaling_type))
                .collect(),
        ),
    ];
    for (kind, integer, list) in numeric {
        for (i, (min, max, scaling)) in list.into_iter().enumerate() {
            let at = path.key(kind).index(i);
            if strategy == "Grid" {
                problem(
                    at.clone(),
                    format!("the Grid strategy takes only categorical ranges, not {kind}"),
                    "list the values in CategoricalParameterRanges",
                );
            }
            let parse = |text: &str| -> Option<f64> {
                if integer {
                    text.trim().parse::<i64>().ok().map(|v| v as f64)
                } else {
                    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
                }
            };
            let what = if integer {
                "a whole number"
            } else {
                "a finite number"
            };
            let (lo, hi) = (parse(min), parse(max));
            if lo.is_none() {
                problem(
                    at.key("MinValue"),
                    format!("MinValue `{min}` is not {what}"),
                    "write the number as a string, e.g. \"2\"",
                );
            }
            if hi.is_none() {
                problem(
                    at.key("MaxValue"),
                    format!("MaxValue `{max}` is not {what}"),
                    "write the number as a string, e.g. \"8\"",
                );
            }
            let (Some(lo), Some(hi)) = (lo, hi) else {
                continue;
            };
            if lo > hi {
                problem(
                    at.key("MinValue"),
                    format!("MinValue {min} is above MaxValue {max}"),
                    "swap them",
                );
            }
            match scaling.as_deref() {
                Some("Logarithmic") if lo <= 0.0 => {
                    problem(
                        at.key("ScalingType"),
                        "Logarithmic scaling needs MinValue above 0".into(),
                        "raise MinValue or use Linear",
                    );
                }
                Some("ReverseLogarithmic") if integer => {
                    problem(
                        at.key("ScalingType"),
                        "ReverseLogarithmic scaling is only for continuous ranges".into(),
                        "use Linear or Logarithmic",
                    );
                }
                Some("ReverseLogarithmic") if !(0.0..1.0).contains(&lo) || hi >= 1.0 => {
                    problem(
                        at.key("ScalingType"),
                        "ReverseLogarithmic scaling needs 0 <= MinValue and MaxValue < 1".into(),
                        "use Linear or Logarithmic",
                    );
                }
                _ => {}
            }
        }
    }
    for (i, range) in ranges
        .categorical_parameter_ranges
        .iter()
        .flatten()
        .enumerate()
    {
        let at = path
            .key("CategoricalParameterRanges")
            .index(i)
            .key("Values");
        let unique: BTreeSet<&String> = range.values.iter().collect();
        if range.values.is_empty() {
            problem(
                at,
                format!("`{}` has no values", range.name),
                "list at least one value",
            );
        } else if unique.len() != range.values.len() {
            problem(
                at,
                format!("`{}` lists a value twice", range.name),
                "list each value once",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    fn settings() -> Settings {
        pipeline_core::params::parse(Some(
            r#"{"ExecutionId":"e","CommitId":"abc","JobPrefix":"p","RoleArn":"arn:aws:iam::123456789012:role/r","ArtifactBucket":"b",
                "BuildVariables":{"SOURCE_DIR_URI":"s3://b/src.tar.gz"}}"#,
        ))
        .unwrap()
    }

    fn training() -> CreateTrainingJobRequest {
        let text = include_str!("../../../examples/model-repo/configuration/trainingjob.json");
        crate::training::load(
            "trainingjob.json",
            text,
            &Placeholders::from_settings(&settings(), "p-x"),
        )
        .unwrap()
    }

    fn tuning(text: &str) -> Result<Tuning, Diagnostics> {
        load(
            "configuration/tuning.json",
            text,
            &Placeholders::from_settings(&settings(), "p-x"),
            &training(),
        )
    }

    const MINIMAL: &str = r#"{
  "HyperParameterTuningJobConfig": {
    "Strategy": "Bayesian",
    "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
    "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
    "ParameterRanges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}]}
  }
}"#;

    #[test]
    fn derives_the_definition_from_training() {
        let tuning = tuning(MINIMAL).unwrap();
        let def = tuning.request.training_job_definition.unwrap();
        assert_eq!(def.role_arn, "arn:aws:iam::123456789012:role/r");
        assert_eq!(
            def.algorithm_specification
                .metric_definitions
                .as_ref()
                .unwrap()
                .len(),
            3
        );
        let statics = def.static_hyper_parameters.unwrap();
        assert!(
            !statics.contains_key("max_depth"),
            "tuned hyperparameters are not static"
        );
        assert_eq!(statics["n_estimators"], "100");
        assert_eq!(statics["sagemaker_submit_directory"], "s3://b/src.tar.gz");
        assert_eq!(def.input_data_config.unwrap().len(), 3);
        assert!(tuning.not_carried.is_empty(), "{:?}", tuning.not_carried);
    }

    #[test]
    fn tuning_json_overrides_member_by_member() {
        let text = MINIMAL.replacen(
            "\"HyperParameterTuningJobConfig\"",
            r#""TrainingJobDefinition": {"ResourceConfig": {"InstanceType": "ml.c5.xlarge"}, "StaticHyperParameters": {"n_estimators": "300"}},
               "HyperParameterTuningJobConfig""#,
            1,
        );
        let def = tuning(&text)
            .unwrap()
            .request
            .training_job_definition
            .unwrap();
        let resources = def.resource_config.unwrap();
        assert_eq!(resources.instance_type.as_deref(), Some("ml.c5.xlarge"));
        assert_eq!(
            resources.volume_size_in_gb,
            Some(60),
            "the rest of ResourceConfig is kept"
        );
        assert_eq!(def.static_hyper_parameters.unwrap()["n_estimators"], "300");
    }

    #[test]
    fn unknown_objective_names_the_metrics() {
        let err = tuning(&MINIMAL.replace("validation:accuracy", "validation:auc")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(
                "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName"
            ),
            "{text}"
        );
        assert!(text.contains("`validation:accuracy`"), "{text}");
    }
}
