//! The template's sections as read from the YAML tree, and the parameters' values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Serialize;

use crate::error::{Location, StackError};
use crate::yaml::{self, Kind, Node};

/// Templates larger than this are refused (CloudFormation's own limit is 1 MB).
const MAX_TEMPLATE_BYTES: usize = 4 << 20;

/// One parameter of the template, as `--help` texts and error messages show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParameterInfo {
    pub name: String,
    /// `String`, `Number`, `CommaDelimitedList`, `List<Number>`, an `AWS::...` type.
    pub param_type: String,
    pub default: Option<String>,
    pub description: Option<String>,
    pub allowed_values: Vec<String>,
    pub allowed_pattern: Option<String>,
    pub constraint_description: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub no_echo: bool,
    /// Line of the parameter in the template.
    pub line: usize,
}

impl ParameterInfo {
    /// Without a default, the stack cannot be resolved until it is given a value.
    pub fn is_required(&self) -> bool {
        self.default.is_none()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ParamDef {
    pub info: ParameterInfo,
    pub kind: ParamKind,
    pub pattern: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    String,
    Number,
    NumberList,
    /// `CommaDelimitedList` and `List<AWS::...>`.
    List,
    /// `AWS::SSM::Parameter::Value<...>`: its value lives in SSM Parameter Store.
    Ssm,
}

/// A parameter's effective value, as `Ref` returns it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParamValue {
    Str(String),
    List(Vec<String>),
    Ssm { param_type: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Resource {
    pub id: String,
    pub resource_type: String,
    pub condition: Option<String>,
    /// A mapping (empty when the template gives none); SAM's `Globals.Function` merged in.
    pub properties: Node,
    pub metadata: Option<Node>,
    pub line: usize,
}

/// A parsed template: its parameters, mappings, conditions and resources, unresolved.
#[derive(Debug, Clone)]
pub struct Template {
    pub(crate) origin: PathBuf,
    pub(crate) description: Option<String>,
    pub(crate) parameters: Vec<ParamDef>,
    pub(crate) mappings: Option<Node>,
    pub(crate) conditions: Vec<(String, Node)>,
    pub(crate) resources: Vec<Resource>,
}

/// Joins a path inside the template: `Resources` + `Pipeline` = `Resources.Pipeline`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The long-form name of CloudFormation's list of section names, for messages.
const SECTIONS: &str = "AWSTemplateFormatVersion, Transform, Description, Metadata, Parameters, \
                        Mappings, Conditions, Rules, Globals, Resources, Outputs";

impl Template {
    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Template, StackError> {
        let read = |source| StackError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read)?;
        if meta.len() > MAX_TEMPLATE_BYTES as u64 {
            return Err(StackError::template(
                path,
                "",
                None,
                format!(
                    "{} bytes: larger than the {MAX_TEMPLATE_BYTES} bytes a template may have",
                    meta.len()
                ),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        Template::parse(&text, path)
    }

    /// Parses a template's text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &Path) -> Result<Template, StackError> {
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(StackError::template(
                origin,
                "",
                None,
                format!("larger than the {MAX_TEMPLATE_BYTES} bytes a template may have"),
            ));
        }
        let root = yaml::parse(text).map_err(|e| StackError::Yaml {
            file: origin.to_path_buf(),
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        Reader { file: origin }.template(&root)
    }

    /// The file the template was read from (or the name given to [`Template::parse`]).
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// The template's `Description`, if it is a plain string.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The parameters, in template order.
    pub fn parameters(&self) -> Vec<ParameterInfo> {
        self.parameters.iter().map(|p| p.info.clone()).collect()
    }

    /// The effective value of every parameter: overrides, else defaults, validated.
    pub(crate) fn effective_parameters(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, (String, ParamValue)>, StackError> {
        let known: Vec<String> = self
            .parameters
            .iter()
            .map(|p| p.info.name.clone())
            .collect();
        if let Some(name) = overrides.keys().find(|name| !known.contains(name)) {
            return Err(StackError::UnknownParameter {
                file: self.origin.clone(),
                name: name.clone(),
                suggestion: closest(name, known.iter().map(String::as_str)),
                known,
            });
        }
        let missing: Vec<String> = self
            .parameters
            .iter()
            .filter(|p| p.info.default.is_none() && !overrides.contains_key(&p.info.name))
            .map(|p| p.info.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(StackError::MissingParameters {
                file: self.origin.clone(),
                names: missing,
            });
        }
        let mut values = BTreeMap::new();
        for def in &self.parameters {
            let (value, given) = match overrides.get(&def.info.name) {
                Some(v) => (v.clone(), true),
                None => (def.info.default.clone().unwrap_or_default(), false),
            };
            if let Err(reason) = def.check(&value) {
                let source = if given {
                    "the value given"
                } else {
                    "the template's default"
                };
                let shown = if def.info.no_echo {
                    "****".to_string()
                } else {
                    value.clone()
                };
                return Err(StackError::InvalidParameter {
                    location: Box::new(Location {
                        file: self.origin.clone(),
                        path: format!("Parameters.{}", def.info.name),
                        line: Some(def.info.line),
                    }),
                    name: def.info.name.clone(),
                    value: shown,
                    reason: format!("{source} {reason}"),
                });
            }
            let resolved = match def.kind {
                ParamKind::String | ParamKind::Number => ParamValue::Str(value.clone()),
                ParamKind::List | ParamKind::NumberList => {
                    ParamValue::List(value.split(',').map(|s| s.trim().to_string()).collect())
                }
                ParamKind::Ssm => ParamValue::Ssm {
                    param_type: def.info.param_type.clone(),
                },
            };
            values.insert(def.info.name.clone(), (value, resolved));
        }
        Ok(values)
    }
}

impl ParamDef {
    /// Checks a value against the parameter's type and constraints; the reason reads after
    /// "the value given" / "the template's default".
    fn check(&self, value: &str) -> Result<(), String> {
        let info = &self.info;
        let hint = |reason: String| match &info.constraint_description {
            Some(c) => format!("{reason} ({c})"),
            None => reason,
        };
        match self.kind {
            ParamKind::Number => self.check_number(value).map_err(hint)?,
            ParamKind::NumberList => {
                for item in value.split(',') {
                    self.check_number(item.trim()).map_err(hint)?;
                }
            }
            ParamKind::String | ParamKind::Ssm => self.check_text(value).map_err(hint)?,
            ParamKind::List => {
                for item in value.split(',') {
                    self.check_text(item.trim()).map_err(hint)?;
                }
            }
        }
        Ok(())
    }

    fn check_number(&self, value: &str) -> Result<(), String> {
        let info = &self.info;
        let number = parse_number(value).ok_or_else(|| {
            format!(
                "is not a number (the parameter's Type is {})",
                info.param_type
            )
        })?;
        if let Some(min) = info.min_value
            && number < min
        {
            return Err(format!("is less than MinValue {min}"));
        }
        if let Some(max) = info.max_value
            && number > max
        {
            return Err(format!("is greater than MaxValue {max}"));
        }
        if !info.allowed_values.is_empty()
            && !info
                .allowed_values
                .iter()
                .any(|a| a == value || parse_number(a) == Some(number))
        {
            return Err(format!(
                "is not one of the AllowedValues: {}",
                info.allowed_values.join(", ")
            ));
        }
        Ok(())
    }

    fn check_text(&self, value: &str) -> Result<(), String> {
        let info = &self.info;
        let length = value.chars().count() as u64;
        if let Some(min) = info.min_length
            && length < min
        {
            return Err(format!(
                "is {length} characters long, shorter than MinLength {min}"
            ));
        }
        if let Some(max) = info.max_length
            && length > max
        {
            return Err(format!(
                "is {length} characters long, longer than MaxLength {max}"
            ));
        }
        if let (Some(re), Some(pattern)) = (&self.pattern, &info.allowed_pattern)
            && !re.is_match(value)
        {
            return Err(format!("does not match the AllowedPattern {pattern}"));
        }
        if !info.allowed_values.is_empty() && !info.allowed_values.iter().any(|a| a == value) {
            return Err(format!(
                "is not one of the AllowedValues: {}",
                info.allowed_values.join(", ")
            ));
        }
        Ok(())
    }
}

/// A CloudFormation `Number`: an integer or a decimal, finite.
fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The known name closest to `name`, if close enough to be a likely typo.
pub(crate) fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    let name = name.to_lowercase();
    let allowed = if name.chars().count() > 5 { 2 } else { 1 };
    known
        .filter_map(|k| {
            let distance = strsim::damerau_levenshtein(&name, &k.to_lowercase());
            let similar = strsim::jaro_winkler(&name, &k.to_lowercase()) >= 0.9;
            (distance <= allowed || similar).then_some((distance, k))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k.to_string())
}

/// Reads the YAML tree into the template's sections, with messages naming the file.
struct Reader<'a> {
    file: &'a Path,
}

impl Reader<'_> {
    fn err(&self, path: &str, node: &Node, message: impl Into<String>) -> StackError {
        StackError::template(self.file, path, Some(node.line), message)
    }

    fn map<'n>(&self, node: &'n Node, path: &str) -> Result<&'n [(String, Node)], StackError> {
        if node.intrinsic().is_none()
            && let Some(entries) = node.as_map()
        {
            return Ok(entries);
        }
        Err(self.err(
            path,
            node,
            format!("must be a mapping, not {}", node.describe()),
        ))
    }

    fn scalar<'n>(&self, node: &'n Node, path: &str) -> Result<&'n str, StackError> {
        node.as_scalar().ok_or_else(|| {
            self.err(
                path,
                node,
                format!("must be a plain string, not {}", node.describe()),
            )
        })
    }

    fn optional_scalar(
        &self,
        map: &Node,
        key: &str,
        path: &str,
    ) -> Result<Option<String>, StackError> {
        match map.get(key) {
            None => Ok(None),
            Some(node) => Ok(Some(self.scalar(node, &join(path, key))?.to_string())),
        }
    }

    fn optional_number<T: std::str::FromStr>(
        &self,
        map: &Node,
        key: &str,
        path: &str,
    ) -> Result<Option<T>, StackError> {
        let Some(text) = self.optional_scalar(map, key, path)? else {
            return Ok(None);
        };
        let number = text.trim().parse::<T>().map_err(|_| {
            self.err(
                &join(path, key),
                map.get(key).unwrap_or(map),
                format!("must be a number, not {text:?}"),
            )
        })?;
        Ok(Some(number))
    }

    fn template(&self, root: &Node) -> Result<Template, StackError> {
        let top = self.map(root, "")?;
        for (key, node) in top {
            if !SECTIONS.split(", ").any(|s| s == key) {
                return Err(self.err(
                    key,
                    node,
                    format!("not a template section (sections: {SECTIONS})"),
                ));
            }
        }
        let description = root
            .get("Description")
            .and_then(Node::as_scalar)
            .map(str::to_string);

        let mut parameters = Vec::new();
        if let Some(section) = root.get("Parameters").filter(|n| !n.is_null()) {
            for (name, node) in self.map(section, "Parameters")? {
                parameters.push(self.parameter(name, node)?);
            }
        }

        let mappings = root.get("Mappings").filter(|n| !n.is_null()).cloned();
        if let Some(m) = &mappings {
            self.map(m, "Mappings")?;
        }

        let mut conditions = Vec::new();
        if let Some(section) = root.get("Conditions").filter(|n| !n.is_null()) {
            for (name, node) in self.map(section, "Conditions")? {
                conditions.push((name.clone(), node.clone()));
            }
        }

        let globals = match root.get("Globals").filter(|n| !n.is_null()) {
            Some(g) => {
                self.map(g, "Globals")?;
                match g.get("Function") {
                    Some(f) => {
                        self.map(f, "Globals.Function")?;
                        Some(f)
                    }
                    None => None,
                }
            }
            None => None,
        };

        let Some(section) = root.get("Resources") else {
            return Err(StackError::template(
                self.file,
                "Resources",
                None,
                "missing: a template needs a Resources section",
            ));
        };
        let mut resources = Vec::new();
        for (id, node) in self.map(section, "Resources")? {
            resources.push(self.resource(id, node, globals)?);
        }

        Ok(Template {
            origin: self.file.to_path_buf(),
            description,
            parameters,
            mappings,
            conditions,
            resources,
        })
    }

    fn parameter(&self, name: &str, node: &Node) -> Result<ParamDef, StackError> {
        let path = join("Parameters", name);
        self.map(node, &path)?;
        let Some(type_node) = node.get("Type") else {
            return Err(self.err(&path, node, "has no Type (String, Number, ...)"));
        };
        let param_type = self.scalar(type_node, &join(&path, "Type"))?.to_string();
        let kind = match param_type.as_str() {
            "String" => ParamKind::String,
            "Number" => ParamKind::Number,
            "List<Number>" => ParamKind::NumberList,
            "CommaDelimitedList" => ParamKind::List,
            t if t.starts_with("AWS::SSM::Parameter::Value<") => ParamKind::Ssm,
            t if t.starts_with("List<AWS::") => ParamKind::List,
            t if t.starts_with("AWS::") => ParamKind::String,
            other => {
                return Err(self.err(
                    &join(&path, "Type"),
                    type_node,
                    format!(
                        "unknown parameter type {other:?} (String, Number, List<Number>, \
                         CommaDelimitedList, AWS::... types)"
                    ),
                ));
            }
        };
        let allowed_values = match node.get("AllowedValues") {
            None => Vec::new(),
            Some(list) => {
                let list_path = join(&path, "AllowedValues");
                let items = list
                    .as_seq()
                    .ok_or_else(|| self.err(&list_path, list, "must be a list of values"))?;
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Ok(self.scalar(item, &index(&list_path, i))?.to_string()))
                    .collect::<Result<Vec<_>, StackError>>()?
            }
        };
        let allowed_pattern = self.optional_scalar(node, "AllowedPattern", &path)?;
        let pattern = match &allowed_pattern {
            None => None,
            Some(p) => Some(Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                self.err(
                    &join(&path, "AllowedPattern"),
                    node.get("AllowedPattern").unwrap_or(node),
                    format!("not a regular expression the local run can check: {e}"),
                )
            })?),
        };
        let no_echo = matches!(
            self.optional_scalar(node, "NoEcho", &path)?.as_deref(),
            Some("true" | "True" | "TRUE")
        );
        let info = ParameterInfo {
            name: name.to_string(),
            param_type,
            default: self.optional_scalar(node, "Default", &path)?,
            description: self.optional_scalar(node, "Description", &path)?,
            allowed_values,
            allowed_pattern,
            constraint_description: self.optional_scalar(node, "ConstraintDescription", &path)?,
            min_length: self.optional_number(node, "MinLength", &path)?,
            max_length: self.optional_number(node, "MaxLength", &path)?,
            min_value: self.optional_number(node, "MinValue", &path)?,
            max_value: self.optional_number(node, "MaxValue", &path)?,
            no_echo,
            line: node.line,
        };
        Ok(ParamDef {
            info,
            kind,
            pattern,
        })
    }

    fn resource(
        &self,
        id: &str,
        node: &Node,
        globals: Option<&Node>,
    ) -> Result<Resource, StackError> {
        let path = join("Resources", id);
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(self.err(&path, node, "a logical id must be letters and digits only"));
        }
        self.map(node, &path)?;
        let Some(type_node) = node.get("Type") else {
            return Err(self.err(&path, node, "has no Type (e.g. AWS::S3::Bucket)"));
        };
        let resource_type = self.scalar(type_node, &join(&path, "Type"))?.to_string();
        let condition = self.optional_scalar(node, "Condition", &path)?;
        let mut properties = match node.get("Properties") {
            None => Node {
                line: node.line,
                kind: Kind::Map(Vec::new()),
            },
            Some(p) if p.is_null() => Node {
                line: p.line,
                kind: Kind::Map(Vec::new()),
            },
            Some(p) => {
                self.map(p, &join(&path, "Properties"))?;
                p.clone()
            }
        };
        if resource_type == "AWS::Serverless::Function"
            && let Some(g) = globals
        {
            properties = merge_globals(g, &properties);
        }
        Ok(Resource {
            id: id.to_string(),
            resource_type,
            condition,
            properties,
            metadata: node.get("Metadata").cloned(),
            line: node.line,
        })
    }
}

/// SAM's rule for `Globals`: the resource's own value wins; mappings merge key by key; lists
/// are the global items followed by the resource's; an intrinsic function counts as a value.
fn merge_globals(global: &Node, local: &Node) -> Node {
    match (&global.kind, &local.kind) {
        (Kind::Map(g), Kind::Map(l))
            if global.intrinsic().is_none() && local.intrinsic().is_none() =>
        {
            let mut entries: Vec<(String, Node)> = Vec::with_capacity(g.len() + l.len());
            for (key, value) in l {
                let merged = match global.get(key) {
                    Some(gv) => merge_globals(gv, value),
                    None => value.clone(),
                };
                entries.push((key.clone(), merged));
            }
            for (key, value) in g {
                if local.get(key).is_none() {
                    entries.push((key.clone(), value.clone()));
                }
            }
            Node {
                line: local.line,
                kind: Kind::Map(entries),
            }
        }
        (Kind::Seq(g), Kind::Seq(l)) => Node {
            line: local.line,
            kind: Kind::Seq(g.iter().chain(l).cloned().collect()),
        },
        _ => local.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Template, StackError> {
        Template::parse(text, Path::new("t.yaml"))
    }

    const PARAMS: &str = r#"
Parameters:
  Email:
    Type: String
    AllowedPattern: "[^@]+@[^@]+"
    ConstraintDescription: must be an email address
  Count:
    Type: Number
    Default: 2
    MinValue: 1
    MaxValue: 5
  Flag:
    Type: String
    Default: "false"
    AllowedValues: ["false", "true"]
  Branch:
    Type: String
    Default: main
    MinLength: 1
    MaxLength: 4
  Secret:
    Type: String
    Default: s3cret
    NoEcho: true
    AllowedValues: [s3cret]
  Subnets:
    Type: CommaDelimitedList
    Default: "a, b"
  Sizes:
    Type: List<Number>
    Default: "1,2"
Resources:
  Topic:
    Type: AWS::SNS::Topic
"#;

    fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn effective(
        pairs: &[(&str, &str)],
    ) -> Result<BTreeMap<String, (String, ParamValue)>, StackError> {
        parse(PARAMS)
            .unwrap()
            .effective_parameters(&overrides(pairs))
    }

    #[test]
    fn parameter_info_lists_everything() {
        let t = parse(PARAMS).unwrap();
        let params = t.parameters();
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Email", "Count", "Flag", "Branch", "Secret", "Subnets", "Sizes"
            ]
        );
        assert!(params[0].is_required());
        assert_eq!(params[1].param_type, "Number");
        assert_eq!(params[1].default.as_deref(), Some("2"));
        assert_eq!(params[1].min_value, Some(1.0));
        assert_eq!(params[2].allowed_values, ["false", "true"]);
        assert_eq!(params[3].max_length, Some(4));
        assert!(params[4].no_echo);
        assert_eq!(params[0].line, 3);
    }

    #[test]
    fn defaults_fill_and_lists_split() {
        let values = effective(&[("Email", "a@b")]).unwrap();
        assert_eq!(values["Count"].1, ParamValue::Str("2".into()));
        assert_eq!(
            values["Subnets"].1,
            ParamValue::List(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            values["Sizes"].1,
            ParamValue::List(vec!["1".into(), "2".into()])
        );
        assert_eq!(values["Email"].0, "a@b");
    }

    #[test]
    fn each_constraint_is_checked() {
        let bad = |pairs: &[(&str, &str)]| effective(pairs).unwrap_err().to_string();
        let e = bad(&[("Email", "nope")]);
        assert!(
            e.contains("AllowedPattern") && e.contains("must be an email address"),
            "{e}"
        );
        assert!(e.contains("t.yaml:3: Parameters.Email"), "{e}");
        let e = bad(&[("Email", "a@b"), ("Count", "x")]);
        assert!(e.contains("not a number"), "{e}");
        let e = bad(&[("Email", "a@b"), ("Count", "0")]);
        assert!(e.contains("MinValue 1"), "{e}");
        let e = bad(&[("Email", "a@b"), ("Count", "6")]);
        assert!(e.contains("MaxValue 5"), "{e}");
        let e = bad(&[("Email", "a@b"), ("Flag", "maybe")]);
        assert!(
            e.contains("Flag") && e.contains("maybe") && e.contains("false, true"),
            "{e}"
        );
        let e = bad(&[("Email", "a@b"), ("Branch", "")]);
        assert!(e.contains("MinLength"), "{e}");
        let e = bad(&[("Email", "a@b"), ("Branch", "trunk")]);
        assert!(e.contains("MaxLength"), "{e}");
        let e = bad(&[("Email", "a@b"), ("Secret", "other")]);
        assert!(e.contains("****") && !e.contains("other"), "{e}");
        let e = bad(&[("Email", "a@b"), ("Sizes", "1,x")]);
        assert!(e.contains("not a number"), "{e}");
        assert!(effective(&[("Email", "a@b"), ("Count", "4.5")]).is_ok());
    }

    #[test]
    fn unknown_and_missing_parameters_are_named() {
        let e = effective(&[("Emial", "a@b")]).unwrap_err().to_string();
        assert!(
            e.contains("\"Emial\"") && e.contains("did you mean Email"),
            "{e}"
        );
        assert!(e.contains("Email, Count, Flag"), "{e}");
        let e = effective(&[]).unwrap_err().to_string();
        assert!(e.contains("Email") && e.contains("Email=<value>"), "{e}");
    }

    #[test]
    fn a_bad_default_is_reported_as_the_default() {
        let t = parse("Parameters:\n  N:\n    Type: Number\n    Default: ten\nResources: {}\n")
            .unwrap();
        let e = t
            .effective_parameters(&BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("the template's default"), "{e}");
    }

    #[test]
    fn structure_errors_name_the_place() {
        let e = parse("Parameters:\n  P:\n    Default: x\nResources: {}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.yaml:2: Parameters.P") && e.contains("no Type"),
            "{e}"
        );
        let e = parse("Parameters:\n  P:\n    Type: Strin\nResources: {}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown parameter type"), "{e}");
        let e = parse(
            "Parameters:\n  P:\n    Type: String\n    AllowedPattern: '(?<=x)'\nResources: {}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("AllowedPattern"), "{e}");
        let e = parse("Resource: {}\n").unwrap_err().to_string();
        assert!(e.contains("not a template section"), "{e}");
        let e = parse("Description: x\n").unwrap_err().to_string();
        assert!(e.contains("Resources"), "{e}");
        let e = parse("Resources:\n  A:\n    Properties: {}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Resources.A") && e.contains("no Type"), "{e}");
        let e = parse("Resources:\n  A-b:\n    Type: X\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("letters and digits"), "{e}");
        let e = parse("Resources: [1]\n").unwrap_err().to_string();
        assert!(e.contains("must be a mapping"), "{e}");
        let e = parse("Resources:\n  A:\n    Type: X\n    Type: Y\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.yaml:4:"), "{e}");
    }

    #[test]
    fn globals_merge_like_sam() {
        let t = parse(
            r#"
Globals:
  Function:
    Timeout: 10
    Environment:
      Variables:
        A: global
        B: global
    Layers: [g]
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 20
      Environment:
        Variables:
          B: local
      Layers: [l]
  G:
    Type: AWS::Lambda::Function
"#,
        )
        .unwrap();
        let f = &t.resources[0].properties;
        assert_eq!(f.get("Timeout").unwrap().as_scalar(), Some("20"));
        let vars = f.get("Environment").unwrap().get("Variables").unwrap();
        assert_eq!(vars.get("A").unwrap().as_scalar(), Some("global"));
        assert_eq!(vars.get("B").unwrap().as_scalar(), Some("local"));
        let layers: Vec<_> = f
            .get("Layers")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .map(|n| n.as_scalar().unwrap())
            .collect();
        assert_eq!(layers, ["g", "l"]);
        // Globals apply to SAM functions only.
        assert_eq!(t.resources[1].properties.as_map().unwrap().len(), 0);
    }
}
