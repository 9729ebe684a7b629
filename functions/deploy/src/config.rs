//! configuration/deployment.json: where the approved model goes, and what proves it serves.
//!
//! ```json
//! {
//!   "Staging": { "Variant": { "ServerlessConfig": { "MemorySizeInMB": 2048, "MaxConcurrency": 5 } } },
//!   "SmokeTest": {
//!     "Requests": [{ "Body": "tests/smoke/penguins.csv", "ContentType": "text/csv", "Accept": "text/csv" }],
//!     "SameRecordCount": true,
//!     "BodyRegex": "^(male|female),",
//!     "Latency": { "P95Milliseconds": 500, "Invocations": 20 }
//!   },
//!   "Production": {
//!     "Variant": { "InstanceType": "ml.m5.large", "InitialInstanceCount": 2 },
//!     "DeploymentConfig": {
//!       "BlueGreenUpdatePolicy": {
//!         "TrafficRoutingConfiguration": {
//!           "Type": "CANARY", "WaitIntervalInSeconds": 300,
//!           "CanarySize": { "Type": "CAPACITY_PERCENT", "Value": 10 }
//!         }
//!       }
//!     }
//!   }
//! }
//! ```
//!
//! The nested parts are the SageMaker API's own shapes (the generated mirrors), checked against
//! the API model; every problem is reported with its file, line, column and JSON path.

use config_file::{Diagnostic, Diagnostics, Document, JsonPath};
use sagemaker_requests::{
    CapacitySize, DataCaptureConfig, DeploymentConfig, ProductionVariantServerlessConfig, Violation,
};
use serde::Deserialize;

pub const DEFAULT_PATH: &str = "configuration/deployment.json";

/// InvokeEndpoint's payload limit: a smoke-test body larger than this cannot be sent.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// At most this many invocations per smoke-test request (one Lambda invocation runs them all).
pub const MAX_INVOCATIONS: u32 = 200;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Deployment {
    #[serde(default)]
    pub staging: Staging,
    pub smoke_test: Option<SmokeTest>,
    /// No Production: the pipeline ends at the staging endpoint.
    pub production: Option<Production>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Staging {
    /// Default: serverless (2048 MB, concurrency 5), which costs nothing at rest.
    #[serde(default)]
    pub variant: Variant,
    pub data_capture_config: Option<DataCaptureConfig>,
}

/// The part of a ProductionVariant that is the user's (the pipeline names the variant and its
/// model): instances or serverless.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Variant {
    pub instance_type: Option<String>,
    pub initial_instance_count: Option<i32>,
    pub serverless_config: Option<ProductionVariantServerlessConfig>,
    pub container_startup_health_check_timeout_in_seconds: Option<i32>,
    pub model_data_download_timeout_in_seconds: Option<i32>,
}

impl Variant {
    /// Serverless when no instances are given.
    pub fn serverless(&self) -> Option<ProductionVariantServerlessConfig> {
        match (&self.serverless_config, &self.instance_type) {
            (Some(config), _) => Some(config.clone()),
            (None, None) => Some(default_serverless()),
            (None, Some(_)) => None,
        }
    }

    pub fn instances(&self) -> i32 {
        match self.serverless() {
            Some(_) => 0,
            None => self.initial_instance_count.unwrap_or(1),
        }
    }
}

fn default_serverless() -> ProductionVariantServerlessConfig {
    ProductionVariantServerlessConfig {
        memory_size_in_mb: 2048,
        max_concurrency: 5,
        provisioned_concurrency: None,
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SmokeTest {
    pub requests: Vec<SmokeRequest>,
    /// The answer has as many records (CSV lines, JSON array items, JSON Lines) as the request.
    #[serde(default)]
    pub same_record_count: bool,
    /// A regular expression every answer must match.
    pub body_regex: Option<String>,
    pub latency: Option<Latency>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SmokeRequest {
    /// A file of the repository, sent as the body.
    pub body: String,
    pub content_type: String,
    pub accept: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Latency {
    /// The 95th percentile of the invocations' round trips must be at most this.
    pub p95_milliseconds: f64,
    /// Invocations of each request to measure (1 to 200; default 20).
    #[serde(default = "default_invocations")]
    pub invocations: u32,
}

fn default_invocations() -> u32 {
    20
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Production {
    pub variant: Variant,
    /// UpdateEndpoint's DeploymentConfig; the stack's alarms are added to its rollback alarms.
    pub deployment_config: Option<DeploymentConfig>,
}

/// Parses and checks deployment.json (`text`, at `file`). `body_size` tells the size of a
/// repository file, `None` when it does not exist.
pub fn load(
    file: &str,
    text: &str,
    mut body_size: impl FnMut(&str) -> Option<usize>,
) -> Result<Deployment, Diagnostics> {
    let doc = Document::parse(file, text)?;
    let deployment: Deployment = doc.deserialize()?;
    let mut violations = Vec::new();
    let root = JsonPath::root();
    let staging = root.key("Staging");
    variant(
        &deployment.staging.variant,
        &staging.key("Variant"),
        &mut violations,
    );
    if let Some(capture) = &deployment.staging.data_capture_config {
        capture.check(&mut staging.key("DataCaptureConfig"), &mut violations);
    }
    if let Some(smoke) = &deployment.smoke_test {
        smoke_test(
            smoke,
            &root.key("SmokeTest"),
            &mut body_size,
            &mut violations,
        );
    }
    if let Some(production) = &deployment.production {
        let path = root.key("Production");
        variant(&production.variant, &path.key("Variant"), &mut violations);
        if let Some(config) = &production.deployment_config {
            let path = path.key("DeploymentConfig");
            config.check(&mut path.clone(), &mut violations);
            traffic(
                config,
                production.variant.instances(),
                &path,
                &mut violations,
            );
        }
    }
    if violations.is_empty() {
        return Ok(deployment);
    }
    let mut diagnostics = Diagnostics(
        violations
            .into_iter()
            .map(|v| v.into_diagnostic(&doc))
            .collect::<Vec<Diagnostic>>(),
    );
    diagnostics.sort();
    Err(diagnostics)
}

fn violation(path: JsonPath, message: impl Into<String>, hint: &str) -> Violation {
    Violation::new(path, message, Some(hint.to_owned()))
}

fn variant(variant: &Variant, path: &JsonPath, out: &mut Vec<Violation>) {
    if let Some(serverless) = &variant.serverless_config {
        serverless.check(&mut path.key("ServerlessConfig"), out);
    }
    let instances = variant.instance_type.is_some() || variant.initial_instance_count.is_some();
    if variant.serverless_config.is_some() && instances {
        out.push(violation(
            path.clone(),
            "ServerlessConfig cannot be combined with InstanceType or InitialInstanceCount",
            "keep ServerlessConfig for a serverless endpoint, or InstanceType and \
             InitialInstanceCount for instances",
        ));
    }
    if variant.initial_instance_count.is_some() && variant.instance_type.is_none() {
        out.push(violation(
            path.key("InstanceType"),
            "InitialInstanceCount needs an InstanceType",
            r#"add "InstanceType": "ml.m5.large""#,
        ));
    }
    if let Some(count) = variant.initial_instance_count
        && !(1..=100).contains(&count)
    {
        out.push(violation(
            path.key("InitialInstanceCount"),
            format!("InitialInstanceCount {count} is not between 1 and 100"),
            "write the number of instances, at least 1",
        ));
    }
    if let Some(instance_type) = &variant.instance_type
        && !instance_type.starts_with("ml.")
    {
        out.push(violation(
            path.key("InstanceType"),
            format!("`{instance_type}` is not a SageMaker instance type"),
            "SageMaker hosting instance types start with `ml.`, e.g. ml.m5.large",
        ));
    }
}

fn smoke_test(
    smoke: &SmokeTest,
    path: &JsonPath,
    body_size: &mut impl FnMut(&str) -> Option<usize>,
    out: &mut Vec<Violation>,
) {
    if smoke.requests.is_empty() {
        out.push(violation(
            path.key("Requests"),
            "the smoke test has no requests",
            r#"add {"Body": "<file of the repository>", "ContentType": "text/csv"}"#,
        ));
    }
    for (i, request) in smoke.requests.iter().enumerate() {
        let at = path.key("Requests").index(i);
        match body_size(&request.body) {
            None => out.push(violation(
                at.key("Body"),
                format!("the repository has no file `{}`", request.body),
                "give the path of the request body from the repository's root, e.g. \
                 tests/smoke/request.csv",
            )),
            Some(size) if size > MAX_BODY_BYTES => out.push(violation(
                at.key("Body"),
                format!(
                    "`{}` is larger than InvokeEndpoint's limit of {MAX_BODY_BYTES} bytes (6 MB)",
                    request.body
                ),
                "send a smaller sample of records",
            )),
            Some(_) => {}
        }
        if request.content_type.trim().is_empty() || !request.content_type.contains('/') {
            out.push(violation(
                at.key("ContentType"),
                format!("`{}` is not a MIME type", request.content_type),
                "write e.g. text/csv or application/json",
            ));
        }
    }
    if let Some(regex) = &smoke.body_regex
        && let Err(e) = regex::Regex::new(regex)
    {
        out.push(violation(
            path.key("BodyRegex"),
            format!(
                "not a regular expression: {}",
                e.to_string().replace('\n', " ")
            ),
            "fix the expression (Rust regex syntax; no look-around)",
        ));
    }
    if let Some(latency) = &smoke.latency {
        let at = path.key("Latency");
        if !(latency.p95_milliseconds.is_finite() && latency.p95_milliseconds > 0.0) {
            out.push(violation(
                at.key("P95Milliseconds"),
                format!(
                    "{} is not a positive number of milliseconds",
                    latency.p95_milliseconds
                ),
                "write e.g. 500",
            ));
        }
        if !(1..=MAX_INVOCATIONS).contains(&latency.invocations) {
            out.push(violation(
                at.key("Invocations"),
                format!(
                    "{} invocations is not between 1 and {MAX_INVOCATIONS}",
                    latency.invocations
                ),
                "20 gives a p95 worth reading",
            ));
        }
    }
}

/// What SageMaker refuses in a DeploymentConfig that its API model does not say.
fn traffic(config: &DeploymentConfig, instances: i32, path: &JsonPath, out: &mut Vec<Violation>) {
    if config.blue_green_update_policy.is_some() && config.rolling_update_policy.is_some() {
        out.push(violation(
            path.clone(),
            "BlueGreenUpdatePolicy and RollingUpdatePolicy cannot both be given",
            "keep one",
        ));
    }
    if config.rolling_update_policy.is_some() && instances == 0 {
        out.push(violation(
            path.key("RollingUpdatePolicy"),
            "a serverless endpoint cannot take a rolling update",
            "use BlueGreenUpdatePolicy",
        ));
    }
    let Some(policy) = &config.blue_green_update_policy else {
        return;
    };
    let routing = &policy.traffic_routing_configuration;
    let at = path
        .key("BlueGreenUpdatePolicy")
        .key("TrafficRoutingConfiguration");
    let sizes = [
        ("CANARY", "CanarySize", routing.canary_size.as_ref()),
        (
            "LINEAR",
            "LinearStepSize",
            routing.linear_step_size.as_ref(),
        ),
    ];
    for (kind, member, size) in sizes {
        match size {
            None if routing.r#type == kind => out.push(violation(
                at.key(member),
                format!("Type {kind} needs {member}"),
                r#"add e.g. {"Type": "CAPACITY_PERCENT", "Value": 10}"#,
            )),
            Some(size) => capacity(kind, size, instances, &at.key(member), out),
            None => {}
        }
    }
}

/// A canary is at most half the new fleet; a linear step 10% to 50% of it (SageMaker's rules).
fn capacity(
    kind: &str,
    size: &CapacitySize,
    instances: i32,
    path: &JsonPath,
    out: &mut Vec<Violation>,
) {
    let share = match size.r#type.as_str() {
        "CAPACITY_PERCENT" if !(1..=100).contains(&size.value) => {
            out.push(violation(
                path.key("Value"),
                format!("{}% is not between 1 and 100", size.value),
                "a canary is usually 5 to 20 percent of the fleet",
            ));
            return;
        }
        "CAPACITY_PERCENT" => f64::from(size.value) / 100.0,
        "INSTANCE_COUNT" if instances == 0 => {
            out.push(violation(
                path.key("Type"),
                "INSTANCE_COUNT needs instances; this variant is serverless",
                "use CAPACITY_PERCENT",
            ));
            return;
        }
        "INSTANCE_COUNT" => f64::from(size.value) / f64::from(instances),
        _ => return,
    };
    let (low, high, what) = match kind {
        "CANARY" => (0.0, 0.5, "a canary"),
        _ => (0.1, 0.5, "a linear step"),
    };
    if share <= low || share > high {
        out.push(violation(
            path.key("Value"),
            format!(
                "{} {} is {:.0}% of the new fleet; {what} must be {}at most 50% of it",
                size.value,
                size.r#type,
                share * 100.0,
                if low > 0.0 {
                    "at least 10% and "
                } else {
                    "more than 0% and "
                }
            ),
            "SageMaker refuses larger steps: shift the rest in a later step",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{
  "Staging": {"Variant": {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}},
  "SmokeTest": {
    "Requests": [{"Body": "tests/smoke.csv", "ContentType": "text/csv", "Accept": "text/csv"}],
    "SameRecordCount": true,
    "BodyRegex": "^(male|female),",
    "Latency": {"P95Milliseconds": 500}
  },
  "Production": {
    "Variant": {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2},
    "DeploymentConfig": {
      "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
          "Type": "CANARY", "WaitIntervalInSeconds": 300,
          "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}
        }
      },
      "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "my-alarm"}]}
    }
  }
}"#;

    fn files(path: &str) -> Option<usize> {
        match path {
            "tests/smoke.csv" => Some(100),
            "tests/huge.csv" => Some(7 * 1024 * 1024),
            _ => None,
        }
    }

    fn problems(text: &str) -> String {
        match load("configuration/deployment.json", text, files) {
            Ok(d) => panic!("accepted: {d:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_full_file_loads() {
        let d = load("configuration/deployment.json", FULL, files).unwrap();
        assert_eq!(
            d.staging.variant.serverless().unwrap().memory_size_in_mb,
            2048
        );
        let production = d.production.unwrap();
        assert_eq!(production.variant.instances(), 2);
        assert!(production.variant.serverless().is_none());
        assert_eq!(d.smoke_test.unwrap().latency.unwrap().invocations, 20);
    }

    #[test]
    fn staging_defaults_to_serverless() {
        let d = load("d.json", "{}", files).unwrap();
        assert_eq!(d.staging.variant.serverless(), Some(default_serverless()));
        assert_eq!(d.staging.variant.instances(), 0);
        assert!(d.smoke_test.is_none() && d.production.is_none());
    }

    /// Each malformed or hostile file is refused with the place and the reason.
    #[test]
    fn bad_files_are_refused_with_their_place() {
        let cases: &[(&str, &str)] = &[
            (r#"{"Stagin": {}}"#, "unknown field `Stagin`"),
            (r#"{"staging": {}}"#, "unknown field `staging`"),
            (
                r#"{"Staging": {"Variant": {"instanceType": "ml.m5.large"}}}"#,
                "instanceType",
            ),
            (
                r#"{"Staging": {"Variant": {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1, "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}}}}"#,
                "cannot be combined",
            ),
            (
                r#"{"Staging": {"Variant": {"InitialInstanceCount": 1}}}"#,
                "needs an InstanceType",
            ),
            (
                r#"{"Staging": {"Variant": {"InstanceType": "m5.large"}}}"#,
                "not a SageMaker instance type",
            ),
            (
                r#"{"Staging": {"Variant": {"ServerlessConfig": {"MemorySizeInMB": 100, "MaxConcurrency": 1}}}}"#,
                "MemorySizeInMB",
            ),
            (
                r#"{"Staging": {"Variant": {"InstanceType": "ml.m5.large", "InitialInstanceCount": 0}}}"#,
                "not between 1 and 100",
            ),
            (r#"{"SmokeTest": {"Requests": []}}"#, "no requests"),
            (
                r#"{"SmokeTest": {"Requests": [{"Body": "nowhere.csv", "ContentType": "text/csv"}]}}"#,
                "no file `nowhere.csv`",
            ),
            (
                r#"{"SmokeTest": {"Requests": [{"Body": "tests/huge.csv", "ContentType": "text/csv"}]}}"#,
                "limit of 6291456",
            ),
            (
                r#"{"SmokeTest": {"Requests": [{"Body": "tests/smoke.csv", "ContentType": "csv"}]}}"#,
                "not a MIME type",
            ),
            (
                r#"{"SmokeTest": {"Requests": [{"Body": "tests/smoke.csv", "ContentType": "text/csv"}], "BodyRegex": "(unclosed"}}"#,
                "not a regular expression",
            ),
            (
                r#"{"SmokeTest": {"Requests": [{"Body": "tests/smoke.csv", "ContentType": "text/csv"}], "Latency": {"P95Milliseconds": "fast"}}}"#,
                "P95Milliseconds",
            ),
            (
                r#"{"SmokeTest": {"Requests": [{"Body": "tests/smoke.csv", "ContentType": "text/csv"}], "Latency": {"P95Milliseconds": -5}}}"#,
                "not a positive number",
            ),
            (
                r#"{"SmokeTest": {"Requests": [{"Body": "tests/smoke.csv", "ContentType": "text/csv"}], "Latency": {"P95Milliseconds": 5, "Invocations": 5000}}}"#,
                "not between 1 and 200",
            ),
            (
                r#"{"Production": {"Variant": {}, "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 150}}}}}}"#,
                "150% is not between 1 and 100",
            ),
            (
                r#"{"Production": {"Variant": {}, "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}}}"#,
                "this variant is serverless",
            ),
            (
                r#"{"Production": {"Variant": {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2}, "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 60}}}}}"#,
                "Type LINEAR needs LinearStepSize",
            ),
            (
                r#"{"Production": {"Variant": {}, "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 99999, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}}}}}}"#,
                "WaitIntervalInSeconds",
            ),
            (
                r#"{"Production": {"DeploymentConfig": {}}}"#,
                "missing required field `Variant`",
            ),
            (
                r#"{"Production": {"Variant": {}, "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 60}}}}}}"#,
                "a canary must be more than 0% and at most 50%",
            ),
            (
                r#"{"Production": {"Variant": {"InstanceType": "ml.m5.large", "InitialInstanceCount": 20}, "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 60, "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}}}"#,
                "a linear step must be at least 10%",
            ),
            (r#"[1, 2]"#, "the top level is a list"),
            (r#"{"Staging": "#, "ends too early"),
        ];
        for (text, expected) in cases {
            let problems = problems(text);
            assert!(
                problems.contains(expected),
                "{text}\n  expected `{expected}` in: {problems}"
            );
            assert!(
                problems.starts_with("configuration/deployment.json:"),
                "{problems}"
            );
        }
        assert!(cases.len() >= 15);
    }

    #[test]
    fn problems_name_line_column_and_path() {
        let text = "{\n  \"Production\": {\n    \"Variant\": {\"InstanceType\": \"ml.m5.large\", \"InitialInstanceCount\": 0}\n  }\n}";
        let problems = problems(text);
        assert!(
            problems.contains("configuration/deployment.json:3:")
                && problems.contains("at Production.Variant.InitialInstanceCount"),
            "{problems}"
        );
    }
}
