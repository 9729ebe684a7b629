//! The resolved stack: what the local run needs of the pipeline, the functions, the build
//! projects and the event rules.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::error::StackError;
use crate::resolve::{Ctx, V, Val};
use crate::template::{Resource, Template, index, join};

/// Who and where the stack is, and the parameter values that differ from the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackInputs {
    /// `[A-Za-z][-A-Za-z0-9]*`, at most 128 characters (CloudFormation's rule).
    pub stack_name: String,
    pub region: String,
    /// 12 digits.
    pub account_id: String,
    /// Overrides by parameter name; the template's defaults fill the rest.
    pub parameters: BTreeMap<String, String>,
}

/// The stack as the template defines it for the given inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub account_id: String,
    /// Every parameter's effective value (given, else the default).
    pub parameters: BTreeMap<String, String>,
    pub pipeline: Pipeline,
    /// By logical id.
    pub functions: BTreeMap<String, Function>,
    /// By logical id.
    pub build_projects: BTreeMap<String, BuildProject>,
    /// By logical id.
    pub event_rules: BTreeMap<String, EventRule>,
    /// By logical id.
    pub alarms: BTreeMap<String, MetricAlarm>,
}

impl Stack {
    /// A function by logical id, name, ARN (with or without a version or alias qualifier) or
    /// partial ARN (`123456789012:function:name`), as Lambda's `FunctionName` accepts.
    pub fn function(&self, name_or_arn_or_logical_id: &str) -> Option<&Function> {
        let key = name_or_arn_or_logical_id;
        if let Some(f) = self.functions.get(key) {
            return Some(f);
        }
        let name = match key.split(':').collect::<Vec<_>>().as_slice() {
            ["arn", _, "lambda", _, _, "function", name, ..] => *name,
            [_, "function", name, ..] => *name,
            _ => key,
        };
        self.functions
            .values()
            .find(|f| f.name == name || f.arn == key)
    }

    /// A build project by name (CodePipeline's `ProjectName`) or logical id.
    pub fn build_project(&self, name: &str) -> Option<&BuildProject> {
        self.build_projects
            .get(name)
            .or_else(|| self.build_projects.values().find(|p| p.name == name))
    }

    /// The event rules that target the function with this logical id.
    pub fn rules_targeting(&self, function_logical_id: &str) -> Vec<&EventRule> {
        self.event_rules
            .values()
            .filter(|r| r.target_functions.iter().any(|t| t == function_logical_id))
            .collect()
    }
}

/// The `AWS::CodePipeline::Pipeline` of the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    pub logical_id: String,
    pub name: String,
    /// `ArtifactStore.Location`.
    pub artifact_bucket: String,
    /// `V1` (the default) or `V2`.
    pub pipeline_type: String,
    /// `SUPERSEDED` (the default), `QUEUED` or `PARALLEL`.
    pub execution_mode: String,
    /// Stages left out by `AWS::NoValue` (a false `Fn::If`) are not here.
    pub stages: Vec<Stage>,
}

impl Pipeline {
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub name: String,
    pub actions: Vec<Action>,
}

impl Stage {
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub name: String,
    pub namespace: Option<String>,
    /// `ActionTypeId`: `Source`, `Build`, `Invoke`, `Approval`, ...
    pub category: String,
    pub owner: String,
    pub provider: String,
    pub version: String,
    /// 1 unless the template says otherwise.
    pub run_order: u32,
    /// Values are strings. CodePipeline's `#{Namespace.Variable}` references are still in
    /// them: the pipeline resolves those at run time, not the stack.
    pub configuration: BTreeMap<String, String>,
    pub input_artifacts: Vec<String>,
    pub output_artifacts: Vec<String>,
}

/// An `AWS::Serverless::Function` or `AWS::Lambda::Function`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    /// The cargo binary: `Metadata.BuildProperties.Binary`.
    pub binary: String,
    /// `Timeout`, 3 s by default.
    pub timeout: Duration,
    /// `MemorySize`, 128 MB by default.
    pub memory_mb: u32,
    /// `Environment.Variables`.
    pub environment: BTreeMap<String, String>,
    /// `x86_64` by default.
    pub architectures: Vec<String>,
    /// `EventInvokeConfig.MaximumRetryAttempts` (SAM); `None` when not set (Lambda: 2).
    pub maximum_retry_attempts: Option<u32>,
}

/// An `AWS::CodeBuild::Project`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildProject {
    pub logical_id: String,
    pub name: String,
    /// `Environment.Image`.
    pub image: String,
    /// `TimeoutInMinutes`, 60 minutes by default.
    pub timeout: Duration,
    /// The `PLAINTEXT` items of `Environment.EnvironmentVariables` (Parameter Store and
    /// Secrets Manager items are left out: the local run cannot read them).
    pub environment: BTreeMap<String, String>,
}

/// An `AWS::Events::Rule`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRule {
    pub logical_id: String,
    pub name: String,
    /// `EventPattern` as JSON (`Null` when the rule has none, e.g. a schedule).
    pub event_pattern: serde_json::Value,
    /// Logical ids of the functions among the targets (other targets are left out).
    pub target_functions: Vec<String>,
}

/// An `AWS::CloudWatch::Alarm` on one metric: the local run creates it in the local
/// CloudWatch, for the Deploy actions' rollback alarms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricAlarm {
    pub logical_id: String,
    pub name: String,
    /// PutMetricAlarm's members as the template gives them (Namespace, MetricName,
    /// Dimensions, Statistic, Period, EvaluationPeriods, Threshold, ComparisonOperator, ...).
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// The members of an alarm resource the local run passes on.
const ALARM_PROPERTIES: [&str; 11] = [
    "AlarmDescription",
    "Namespace",
    "MetricName",
    "Dimensions",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
];

const LAMBDA_TYPES: [&str; 2] = ["AWS::Serverless::Function", "AWS::Lambda::Function"];

fn valid_stack_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.len() <= 128
}

impl Template {
    /// Resolves the template for these inputs: parameters validated, conditions evaluated,
    /// and the pipeline, the functions, the build projects and the event rules with every
    /// intrinsic function they use resolved. Other resources are resolved only as far as
    /// these refer to them.
    pub fn resolve(&self, inputs: &StackInputs) -> Result<Stack, StackError> {
        crate::resolve::with_resolve_stack(|| self.resolve_here(inputs))
    }

    fn resolve_here(&self, inputs: &StackInputs) -> Result<Stack, StackError> {
        if !valid_stack_name(&inputs.stack_name) {
            return Err(StackError::Inputs(format!(
                "the stack name {:?} must start with a letter and have only letters, digits \
                 and hyphens, at most 128 characters",
                inputs.stack_name
            )));
        }
        if inputs.region.is_empty()
            || !inputs
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(StackError::Inputs(format!(
                "the region {:?} must look like us-east-1",
                inputs.region
            )));
        }
        if inputs.account_id.len() != 12 || !inputs.account_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(StackError::Inputs(format!(
                "the account id {:?} must be 12 digits (e.g. 123456789012)",
                inputs.account_id
            )));
        }
        let values = self.effective_parameters(&inputs.parameters)?;
        let parameters = values
            .iter()
            .map(|(k, (text, _))| (k.clone(), text.clone()))
            .collect();
        let resolved = values.into_iter().map(|(k, (_, v))| (k, v)).collect();
        let mut cx = Ctx::new(
            self,
            &inputs.stack_name,
            &inputs.region,
            &inputs.account_id,
            resolved,
        );

        let mut functions = BTreeMap::new();
        for r in self.created_of(&mut cx, &LAMBDA_TYPES)? {
            functions.insert(r.id.clone(), function(&mut cx, r)?);
        }
        let mut build_projects = BTreeMap::new();
        for r in self.created_of(&mut cx, &["AWS::CodeBuild::Project"])? {
            build_projects.insert(r.id.clone(), build_project(&mut cx, r)?);
        }
        let mut event_rules = BTreeMap::new();
        for r in self.created_of(&mut cx, &["AWS::Events::Rule"])? {
            event_rules.insert(r.id.clone(), event_rule(&mut cx, r, &functions)?);
        }
        let mut alarms = BTreeMap::new();
        for r in self.created_of(&mut cx, &["AWS::CloudWatch::Alarm"])? {
            alarms.insert(r.id.clone(), alarm(&mut cx, r)?);
        }
        let pipelines = self.created_of(&mut cx, &["AWS::CodePipeline::Pipeline"])?;
        let pipeline = match pipelines.as_slice() {
            [one] => pipeline(&mut cx, one)?,
            [] => {
                return Err(StackError::template(
                    &self.origin,
                    "Resources",
                    None,
                    "no AWS::CodePipeline::Pipeline is created with these parameters: the \
                     local run runs the template's pipeline",
                ));
            }
            many => {
                return Err(StackError::template(
                    &self.origin,
                    "Resources",
                    None,
                    format!(
                        "several pipelines ({}): the local run runs one",
                        many.iter()
                            .map(|r| r.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        };
        Ok(Stack {
            name: inputs.stack_name.clone(),
            region: inputs.region.clone(),
            account_id: inputs.account_id.clone(),
            parameters,
            pipeline,
            functions,
            build_projects,
            event_rules,
            alarms,
        })
    }

    fn created_of<'t>(
        &'t self,
        cx: &mut Ctx<'t>,
        types: &[&str],
    ) -> Result<Vec<&'t Resource>, StackError> {
        let mut out = Vec::new();
        for r in &self.resources {
            if types.contains(&r.resource_type.as_str()) && cx.created(r)? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

/// Reads resolved values with messages that name the place.
struct Reader<'c, 't> {
    cx: &'c Ctx<'t>,
}

impl Reader<'_, '_> {
    fn err(&self, path: &str, v: &Val, message: impl Into<String>) -> StackError {
        self.cx.err(path, v.line, message)
    }

    fn string(&self, v: &Val, path: &str) -> Result<String, StackError> {
        v.text()
            .map(str::to_string)
            .ok_or_else(|| self.err(path, v, format!("must be a string, not {}", v.describe())))
    }

    fn required<'v>(&self, map: &'v Val, key: &str, path: &str) -> Result<&'v Val, StackError> {
        if !matches!(map.kind, V::Map(_)) {
            return Err(self.err(
                path,
                map,
                format!("must be a mapping, not {}", map.describe()),
            ));
        }
        map.get(key)
            .ok_or_else(|| self.err(path, map, format!("has no {key}")))
    }

    fn required_string(&self, map: &Val, key: &str, path: &str) -> Result<String, StackError> {
        let v = self.required(map, key, path)?;
        self.string(v, &join(path, key))
    }

    fn optional_string(
        &self,
        map: &Val,
        key: &str,
        path: &str,
    ) -> Result<Option<String>, StackError> {
        match map.get(key) {
            None => Ok(None),
            Some(v) => self.string(v, &join(path, key)).map(Some),
        }
    }

    fn list<'v>(&self, v: &'v Val, path: &str) -> Result<&'v [Val], StackError> {
        match &v.kind {
            V::List(items) => Ok(items),
            _ => Err(self.err(path, v, format!("must be a list, not {}", v.describe()))),
        }
    }

    fn number<T: std::str::FromStr>(
        &self,
        v: &Val,
        path: &str,
        what: &str,
    ) -> Result<T, StackError> {
        let text = self.string(v, path)?;
        text.trim()
            .parse::<T>()
            .map_err(|_| self.err(path, v, format!("must be {what}, not {text:?}")))
    }

    /// `[{Name: x}, ...]` as `[x, ...]`.
    fn artifact_names(&self, map: &Val, key: &str, path: &str) -> Result<Vec<String>, StackError> {
        let Some(v) = map.get(key) else {
            return Ok(Vec::new());
        };
        let path = join(path, key);
        self.list(v, &path)?
            .iter()
            .enumerate()
            .map(|(i, item)| self.required_string(item, "Name", &index(&path, i)))
            .collect()
    }

    /// A mapping of strings (`Environment.Variables`, an action's `Configuration`).
    fn string_map(&self, v: &Val, path: &str) -> Result<BTreeMap<String, String>, StackError> {
        let V::Map(entries) = &v.kind else {
            return Err(self.err(path, v, format!("must be a mapping, not {}", v.describe())));
        };
        entries
            .iter()
            .map(|(k, value)| Ok((k.clone(), self.string(value, &join(path, k))?)))
            .collect()
    }
}

fn properties_path(r: &Resource) -> String {
    join(&join("Resources", &r.id), "Properties")
}

fn pipeline<'t>(cx: &mut Ctx<'t>, r: &'t Resource) -> Result<Pipeline, StackError> {
    let path = properties_path(r);
    let name = cx.physical_name(r)?;
    let pipeline_type = cx
        .string_property(r, "PipelineType")?
        .unwrap_or_else(|| "V1".into());
    let execution_mode = cx
        .string_property(r, "ExecutionMode")?
        .unwrap_or_else(|| "SUPERSEDED".into());
    let store = cx.property(r, "ArtifactStore")?;
    let stages = cx.property(r, "Stages")?;
    let rd = Reader { cx };
    let artifact_bucket = match &store {
        Some(store) => rd.required_string(store, "Location", &join(&path, "ArtifactStore"))?,
        None => {
            return Err(cx.err(
                &join(&path, "ArtifactStore"),
                r.line,
                "missing: the local run keeps the pipeline's artifacts in its ArtifactStore \
                 bucket (ArtifactStores of cross-region pipelines are not supported)",
            ));
        }
    };
    let Some(stages) = stages else {
        return Err(cx.err(&join(&path, "Stages"), r.line, "missing"));
    };
    let stages_path = join(&path, "Stages");
    let mut out = Vec::new();
    for (i, stage) in rd.list(&stages, &stages_path)?.iter().enumerate() {
        let stage_path = index(&stages_path, i);
        let name = rd.required_string(stage, "Name", &stage_path)?;
        let actions_path = join(&stage_path, "Actions");
        let mut actions = Vec::new();
        let items = rd.list(rd.required(stage, "Actions", &stage_path)?, &actions_path)?;
        for (j, action) in items.iter().enumerate() {
            actions.push(read_action(&rd, action, &index(&actions_path, j))?);
        }
        out.push(Stage { name, actions });
    }
    Ok(Pipeline {
        logical_id: r.id.clone(),
        name,
        artifact_bucket,
        pipeline_type,
        execution_mode,
        stages: out,
    })
}

fn read_action(rd: &Reader<'_, '_>, action: &Val, path: &str) -> Result<Action, StackError> {
    let type_path = join(path, "ActionTypeId");
    let type_id = rd.required(action, "ActionTypeId", path)?;
    let run_order = match action.get("RunOrder") {
        None => 1,
        Some(v) => rd.number(v, &join(path, "RunOrder"), "a number from 1 to 999")?,
    };
    let configuration = match action.get("Configuration") {
        None => BTreeMap::new(),
        Some(v) => rd.string_map(v, &join(path, "Configuration"))?,
    };
    Ok(Action {
        name: rd.required_string(action, "Name", path)?,
        namespace: rd.optional_string(action, "Namespace", path)?,
        category: rd.required_string(type_id, "Category", &type_path)?,
        owner: rd.required_string(type_id, "Owner", &type_path)?,
        provider: rd.required_string(type_id, "Provider", &type_path)?,
        version: rd.required_string(type_id, "Version", &type_path)?,
        run_order,
        configuration,
        input_artifacts: rd.artifact_names(action, "InputArtifacts", path)?,
        output_artifacts: rd.artifact_names(action, "OutputArtifacts", path)?,
    })
}

fn function<'t>(cx: &mut Ctx<'t>, r: &'t Resource) -> Result<Function, StackError> {
    let path = properties_path(r);
    let name = cx.physical_name(r)?;
    let arn = cx.get_att(&r.id, "Arn", r.line, &join("Resources", &r.id))?;
    let metadata_path = join(&join("Resources", &r.id), "Metadata");
    let binary = match &r.metadata {
        Some(m) => cx.eval(m, &metadata_path)?,
        None => None,
    };
    let binary = binary
        .as_ref()
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Val::text)
        .map(str::to_string)
        .ok_or_else(|| {
            cx.err(
                &join(&metadata_path, "BuildProperties.Binary"),
                r.line,
                format!(
                    "missing: the local run runs the cargo binary that names; give {} \
                     Metadata: {{BuildMethod: rust-cargolambda, BuildProperties: {{Binary: \
                     <cargo binary>}}}}",
                    r.id
                ),
            )
        })?;
    let timeout = cx.property(r, "Timeout")?;
    let memory = cx.property(r, "MemorySize")?;
    let environment = cx.property(r, "Environment")?;
    let architectures = cx.property(r, "Architectures")?;
    let invoke_config = if r.resource_type == "AWS::Serverless::Function" {
        cx.property(r, "EventInvokeConfig")?
    } else {
        None
    };
    let rd = Reader { cx };
    let timeout = match &timeout {
        None => 3,
        Some(v) => rd.number::<u64>(v, &join(&path, "Timeout"), "a number of seconds")?,
    };
    let memory_mb = match &memory {
        None => 128,
        Some(v) => rd.number::<u32>(v, &join(&path, "MemorySize"), "a number of MB")?,
    };
    let environment = match environment.as_ref().and_then(|e| e.get("Variables")) {
        None => BTreeMap::new(),
        Some(v) => rd.string_map(v, &join(&path, "Environment.Variables"))?,
    };
    let architectures = match &architectures {
        None => vec!["x86_64".to_string()],
        Some(v) => {
            let list_path = join(&path, "Architectures");
            rd.list(v, &list_path)?
                .iter()
                .enumerate()
                .map(|(i, a)| rd.string(a, &index(&list_path, i)))
                .collect::<Result<_, _>>()?
        }
    };
    let maximum_retry_attempts = match invoke_config
        .as_ref()
        .and_then(|c| c.get("MaximumRetryAttempts"))
    {
        None => None,
        Some(v) => Some(rd.number::<u32>(
            v,
            &join(&path, "EventInvokeConfig.MaximumRetryAttempts"),
            "0, 1 or 2",
        )?),
    };
    Ok(Function {
        logical_id: r.id.clone(),
        name,
        arn,
        binary,
        timeout: Duration::from_secs(timeout),
        memory_mb,
        environment,
        architectures,
        maximum_retry_attempts,
    })
}

fn build_project<'t>(cx: &mut Ctx<'t>, r: &'t Resource) -> Result<BuildProject, StackError> {
    let path = properties_path(r);
    let name = cx.physical_name(r)?;
    let environment = cx.property(r, "Environment")?;
    let timeout = cx.property(r, "TimeoutInMinutes")?;
    let rd = Reader { cx };
    let env_path = join(&path, "Environment");
    let Some(environment) = environment else {
        return Err(cx.err(
            &env_path,
            r.line,
            "missing: a build project needs its Environment.Image",
        ));
    };
    let image = rd.required_string(&environment, "Image", &env_path)?;
    let mut variables = BTreeMap::new();
    if let Some(list) = environment.get("EnvironmentVariables") {
        let list_path = join(&env_path, "EnvironmentVariables");
        for (i, item) in rd.list(list, &list_path)?.iter().enumerate() {
            let item_path = index(&list_path, i);
            let kind = rd.optional_string(item, "Type", &item_path)?;
            if kind.as_deref().unwrap_or("PLAINTEXT") != "PLAINTEXT" {
                continue;
            }
            variables.insert(
                rd.required_string(item, "Name", &item_path)?,
                rd.required_string(item, "Value", &item_path)?,
            );
        }
    }
    let minutes = match &timeout {
        None => 60,
        Some(v) => rd.number::<u64>(v, &join(&path, "TimeoutInMinutes"), "a number of minutes")?,
    };
    Ok(BuildProject {
        logical_id: r.id.clone(),
        name,
        image,
        timeout: Duration::from_secs(minutes * 60),
        environment: variables,
    })
}

fn alarm<'t>(cx: &mut Ctx<'t>, r: &'t Resource) -> Result<MetricAlarm, StackError> {
    let name = cx.physical_name(r)?;
    let mut properties = serde_json::Map::new();
    for key in ALARM_PROPERTIES {
        if let Some(value) = cx.property(r, key)? {
            properties.insert(key.to_owned(), value.to_json());
        }
    }
    Ok(MetricAlarm {
        logical_id: r.id.clone(),
        name,
        properties,
    })
}

fn event_rule<'t>(
    cx: &mut Ctx<'t>,
    r: &'t Resource,
    functions: &BTreeMap<String, Function>,
) -> Result<EventRule, StackError> {
    let path = properties_path(r);
    let name = cx.physical_name(r)?;
    let pattern = cx.property(r, "EventPattern")?;
    let targets = cx.property(r, "Targets")?;
    let rd = Reader { cx };
    let pattern_path = join(&path, "EventPattern");
    let event_pattern = match &pattern {
        None => serde_json::Value::Null,
        Some(v) => match &v.kind {
            V::Str(text) | V::Plain(text) => serde_json::from_str(text)
                .map_err(|e| rd.err(&pattern_path, v, format!("is not valid JSON: {e}")))?,
            _ => v.to_json(),
        },
    };
    let mut target_functions = Vec::new();
    if let Some(targets) = &targets {
        let targets_path = join(&path, "Targets");
        for (i, target) in rd.list(targets, &targets_path)?.iter().enumerate() {
            let arn = rd.required_string(target, "Arn", &index(&targets_path, i))?;
            if let Some(f) = functions.values().find(|f| f.arn == arn) {
                target_functions.push(f.logical_id.clone());
            }
        }
    }
    Ok(EventRule {
        logical_id: r.id.clone(),
        name,
        event_pattern,
        target_functions,
    })
}
