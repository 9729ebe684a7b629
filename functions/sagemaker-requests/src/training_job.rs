//! `configuration/trainingjob.json`: a CreateTrainingJob request as the user wrote it.

use std::collections::HashMap;

use config_file::{Diagnostic, Diagnostics, Document, JsonPath, Segment};

use crate::check::Violation;
use crate::generated::{AlgorithmSpecification, CreateTrainingJobRequest};

/// The longest `MaxRuntimeInSeconds` SageMaker accepts: 28 days.
pub const MAX_RUNTIME_LIMIT_SECONDS: i32 = 28 * 24 * 60 * 60;

/// `MaxRuntimeInSeconds` when the request gives none: 1 day.
pub const DEFAULT_MAX_RUNTIME_SECONDS: i32 = 24 * 60 * 60;

/// Deserializes the request and checks it against the API model and the rules below; every
/// problem comes back as a located diagnostic, in the order of the text.
pub fn load(doc: &Document) -> Result<CreateTrainingJobRequest, Diagnostics> {
    let request: CreateTrainingJobRequest = doc
        .deserialize()
        .map_err(|diagnostics| explain_string_maps(doc, diagnostics))?;
    let mut violations = Vec::new();
    request.check(&mut JsonPath::root(), &mut violations);
    violations.extend(rules(&request));
    if violations.is_empty() {
        return Ok(request);
    }
    let mut diagnostics = Diagnostics(
        violations
            .into_iter()
            .map(|violation| violation.into_diagnostic(doc))
            .collect(),
    );
    diagnostics.sort();
    Err(diagnostics)
}

/// What SageMaker rejects in a CreateTrainingJob request that its API model does not say.
pub fn rules(request: &CreateTrainingJobRequest) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(algorithm) = &request.algorithm_specification {
        one_image_or_algorithm(algorithm, &mut out);
    }
    stopping_condition(request, &mut out);
    channels(request, &mut out);
    out
}

fn root() -> JsonPath {
    JsonPath::root()
}

/// The model's documentation: "You must specify either the algorithm name to the AlgorithmName
/// parameter or the image URI of the algorithm container to the TrainingImage parameter";
/// the two are mutually exclusive.
fn one_image_or_algorithm(algorithm: &AlgorithmSpecification, out: &mut Vec<Violation>) {
    let at = root().key("AlgorithmSpecification");
    match (&algorithm.training_image, &algorithm.algorithm_name) {
        (Some(_), Some(_)) => out.push(Violation::new(
            at.key("AlgorithmName"),
            "`TrainingImage` and `AlgorithmName` are both given; SageMaker takes exactly one",
            Some(
                "keep `TrainingImage` for a container image, or `AlgorithmName` for an algorithm \
                 resource, and remove the other"
                    .into(),
            ),
        )),
        (None, None) => out.push(Violation::new(
            at,
            "neither `TrainingImage` nor `AlgorithmName` is given; SageMaker needs exactly one",
            Some(
                "add `\"TrainingImage\": \"<account>.dkr.ecr.<region>.amazonaws.com/<image>:<tag>\"` \
                 (or `\"AlgorithmName\"` for an algorithm resource)"
                    .into(),
            ),
        )),
        _ => {}
    }
}

fn stopping_condition(request: &CreateTrainingJobRequest, out: &mut Vec<Violation>) {
    let at = root().key("StoppingCondition");
    let condition = request.stopping_condition.as_ref();
    let runtime = condition.and_then(|c| c.max_runtime_in_seconds);
    if let Some(runtime) = runtime.filter(|r| *r > MAX_RUNTIME_LIMIT_SECONDS) {
        out.push(Violation::new(
            at.key("MaxRuntimeInSeconds"),
            format!("`{runtime}` seconds is more than SageMaker's limit of 28 days"),
            Some(format!(
                "write at most {MAX_RUNTIME_LIMIT_SECONDS} (28 days)"
            )),
        ));
    }
    if request.enable_managed_spot_training != Some(true) {
        return;
    }
    let effective_runtime = runtime.unwrap_or(DEFAULT_MAX_RUNTIME_SECONDS);
    let runtime_source = if runtime.is_some() {
        "`MaxRuntimeInSeconds`".to_owned()
    } else {
        format!("the default `MaxRuntimeInSeconds` of {DEFAULT_MAX_RUNTIME_SECONDS}")
    };
    match condition.and_then(|c| c.max_wait_time_in_seconds) {
        None => out.push(Violation::new(
            at.key("MaxWaitTimeInSeconds"),
            "managed spot training (`EnableManagedSpotTraining`: true) needs \
             `StoppingCondition.MaxWaitTimeInSeconds`",
            Some(format!(
                "add `\"MaxWaitTimeInSeconds\": {effective_runtime}` or more to `StoppingCondition` \
                 (at least {runtime_source})"
            )),
        )),
        Some(wait) if wait < effective_runtime => out.push(Violation::new(
            at.key("MaxWaitTimeInSeconds"),
            format!(
                "`{wait}` is less than {runtime_source} ({effective_runtime}); with managed spot \
                 training the wait includes the run"
            ),
            Some(format!("write {effective_runtime} or more")),
        )),
        Some(_) => {}
    }
}

fn channels(request: &CreateTrainingJobRequest, out: &mut Vec<Violation>) {
    let Some(channels) = &request.input_data_config else {
        return;
    };
    let at = root().key("InputDataConfig");
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (index, channel) in channels.iter().enumerate() {
        let channel_at = at.index(index);
        if let Some(first) = first_index.get(channel.channel_name.as_str()) {
            out.push(Violation::new(
                channel_at.key("ChannelName"),
                format!(
                    "channel name `{}` is already used by InputDataConfig[{first}]",
                    channel.channel_name
                ),
                Some("give every channel its own `ChannelName`".into()),
            ));
        } else {
            first_index.insert(&channel.channel_name, index);
        }
        if let Some(s3) = &channel.data_source.s3_data_source
            && !s3.s3_uri.starts_with("s3://")
        {
            let scheme = s3
                .s3_uri
                .get(..5)
                .filter(|s| s.eq_ignore_ascii_case("s3://"));
            let hint = match (scheme, s3.s3_uri.get(5..)) {
                (Some(_), Some(rest)) => format!("write `s3://{rest}` (lower case)"),
                _ => "write an S3 URI: `s3://<bucket>/<prefix>`".to_owned(),
            };
            out.push(Violation::new(
                channel_at
                    .key("DataSource")
                    .key("S3DataSource")
                    .key("S3Uri"),
                format!("`{}` is not an S3 URI", s3.s3_uri),
                Some(hint),
            ));
        }
    }
}

/// Maps of strings whose values are often written as numbers: say why they must be strings.
const STRING_MAPS: &[(&str, &str)] = &[
    ("HyperParameters", "SageMaker hyperparameters are strings"),
    ("Environment", "environment variables are strings"),
];

fn explain_string_maps(doc: &Document, diagnostics: Diagnostics) -> Diagnostics {
    let refine = |mut diagnostic: Diagnostic| {
        let segments = diagnostic.path.segments();
        let reason = match segments {
            [Segment::Key(map), Segment::Key(_)] => STRING_MAPS
                .iter()
                .find(|(name, _)| name == map)
                .map(|(_, reason)| *reason),
            _ => None,
        };
        let written = diagnostic.path.lookup(doc.value());
        if let (Some(reason), Some(value)) = (reason, written)
            && (value.is_number() || value.is_boolean())
        {
            diagnostic.hint = Some(format!("write `\"{value}\"`: {reason}"));
        }
        diagnostic
    };
    Diagnostics(diagnostics.into_iter().map(refine).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(channels: serde_json::Value) -> CreateTrainingJobRequest {
        let value = json!({
            "RoleArn": "arn:aws:iam::123456789012:role/R",
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
            "InputDataConfig": channels,
        });
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    fn s3_channel(uri: &str) -> serde_json::Value {
        json!([{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}])
    }

    #[test]
    fn an_upper_case_scheme_gets_the_lower_case_uri() {
        let violations = rules(&request(s3_channel("S3://bucket/train/")));
        let hints: Vec<_> = violations.iter().map(|v| v.hint.as_deref()).collect();
        assert_eq!(hints, vec![Some("write `s3://bucket/train/` (lower case)")]);
        assert_eq!(
            violations[0].path.to_string(),
            "InputDataConfig[0].DataSource.S3DataSource.S3Uri"
        );
    }

    #[test]
    fn a_minimal_request_breaks_no_rule() {
        assert_eq!(rules(&request(s3_channel("s3://bucket/train/"))), vec![]);
        assert_eq!(MAX_RUNTIME_LIMIT_SECONDS, 2_419_200);
    }
}
