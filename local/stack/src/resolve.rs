//! Intrinsic functions, conditions, pseudo parameters and the resources' names, ARNs and
//! attributes, evaluated on demand: only what a caller asks for is resolved.

use std::collections::{BTreeMap, HashMap};

use crate::error::StackError;
use crate::sub;
use crate::template::{ParamValue, Resource, Template, closest, index, join};
use crate::yaml::{self, Kind, Node};

/// Deepest chain of nested evaluations (nodes within nodes, and resources whose names need
/// other resources): far above any real template, and within [`RESOLVE_STACK_BYTES`] even in
/// a debug build (about 25 KB a step there).
const MAX_EVAL_DEPTH: usize = 300;

/// The stack of the thread that resolves a template (reserved, touched only as used).
const RESOLVE_STACK_BYTES: usize = 32 << 20;

/// Runs `f` on a thread of its own with a stack that [`MAX_EVAL_DEPTH`] cannot exhaust.
pub(crate) fn with_resolve_stack<T: Send>(
    f: impl FnOnce() -> Result<T, StackError> + Send,
) -> Result<T, StackError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("local-stack-resolve".into())
            .stack_size(RESOLVE_STACK_BYTES)
            .spawn_scoped(scope, f)
            .map_err(|e| {
                StackError::Internal(format!(
                    "cannot start a thread to resolve the template: {e}"
                ))
            })?;
        handle.join().unwrap_or_else(|_| {
            Err(StackError::Internal(
                "resolving the template failed unexpectedly (a bug in local-stack)".into(),
            ))
        })
    })
}

/// A resolved value. Scalars stay text: CloudFormation passes every scalar on as a string,
/// and only a JSON-typed place (an EventPattern) needs a plain scalar's YAML type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Val {
    pub line: usize,
    pub kind: V,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    /// A quoted scalar or a function's result: a string.
    Str(String),
    /// An unquoted scalar: a string, or a number, boolean or null where JSON is wanted.
    Plain(String),
    List(Vec<Val>),
    Map(Vec<(String, Val)>),
}

impl Val {
    fn str(line: usize, s: impl Into<String>) -> Val {
        Val {
            line,
            kind: V::Str(s.into()),
        }
    }

    /// The text of a scalar.
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.kind {
            V::Str(s) | V::Plain(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Val> {
        match &self.kind {
            V::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn describe(&self) -> &'static str {
        match &self.kind {
            V::Str(_) | V::Plain(_) => "a string",
            V::List(_) => "a list",
            V::Map(_) => "a mapping",
        }
    }

    /// The value as JSON: plain scalars typed as YAML 1.2's core schema reads them.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match &self.kind {
            V::Str(s) => serde_json::Value::String(s.clone()),
            V::Plain(s) => plain_json(s),
            V::List(items) => serde_json::Value::Array(items.iter().map(Val::to_json).collect()),
            V::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn plain_json(s: &str) -> serde_json::Value {
    use serde_json::Value;
    if yaml::is_null_text(s) {
        return Value::Null;
    }
    match s {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    let radix = |prefix: &str, radix: u32| {
        s.strip_prefix(prefix)
            .filter(|d| !d.is_empty() && !d.starts_with(['+', '-']))
            .and_then(|d| i64::from_str_radix(d, radix).ok())
    };
    if let Some(i) = radix("0x", 16).or_else(|| radix("0o", 8)) {
        return Value::from(i);
    }
    let float_chars = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if float_chars
        && s.chars().any(|c| c.is_ascii_digit())
        && let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

/// What the stack is: its name, region and account, and its parameters' values.
pub(crate) struct Ctx<'t> {
    pub t: &'t Template,
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    partition: &'static str,
    url_suffix: &'static str,
    params: BTreeMap<String, ParamValue>,
    conditions: HashMap<String, Option<bool>>,
    names: HashMap<String, Option<String>>,
    depth: usize,
}

/// The partition and URL suffix of a region.
fn partition_of(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("cn-") {
        ("aws-cn", "amazonaws.com.cn")
    } else if region.starts_with("us-gov-") {
        ("aws-us-gov", "amazonaws.com")
    } else {
        ("aws", "amazonaws.com")
    }
}

impl<'t> Ctx<'t> {
    pub(crate) fn new(
        t: &'t Template,
        stack_name: &str,
        region: &str,
        account_id: &str,
        params: BTreeMap<String, ParamValue>,
    ) -> Ctx<'t> {
        let (partition, url_suffix) = partition_of(region);
        Ctx {
            t,
            stack_name: stack_name.to_string(),
            region: region.to_string(),
            account_id: account_id.to_string(),
            partition,
            url_suffix,
            params,
            conditions: HashMap::new(),
            names: HashMap::new(),
            depth: 0,
        }
    }

    pub(crate) fn err(&self, path: &str, line: usize, message: impl Into<String>) -> StackError {
        StackError::template(&self.t.origin, path, Some(line), message)
    }

    fn enter(&mut self, path: &str, line: usize) -> Result<(), StackError> {
        self.depth += 1;
        if self.depth > MAX_EVAL_DEPTH {
            self.depth -= 1;
            return Err(self.err(
                path,
                line,
                format!(
                    "resolving this needs more than {MAX_EVAL_DEPTH} nested steps: simplify \
                     the references around it"
                ),
            ));
        }
        Ok(())
    }

    /// Resolves a node; `None` is `AWS::NoValue` (the key or list item is left out).
    pub(crate) fn eval(&mut self, node: &'t Node, path: &str) -> Result<Option<Val>, StackError> {
        self.enter(path, node.line)?;
        let result = self.eval_inner(node, path);
        self.depth -= 1;
        result
    }

    fn eval_inner(&mut self, node: &'t Node, path: &str) -> Result<Option<Val>, StackError> {
        if let Some((name, arg)) = node.intrinsic() {
            return self.intrinsic(name, arg, node, path);
        }
        let kind = match &node.kind {
            Kind::Scalar { text, quoted: true } => V::Str(text.clone()),
            Kind::Scalar {
                text,
                quoted: false,
            } => V::Plain(text.clone()),
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.eval(item, &index(path, i))? {
                        out.push(v);
                    }
                }
                V::List(out)
            }
            Kind::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    if let Some(v) = self.eval(value, &join(path, key))? {
                        out.push((key.clone(), v));
                    }
                }
                V::Map(out)
            }
            Kind::Tagged(tag, _) => {
                return Err(self.err(
                    path,
                    node.line,
                    format!(
                        "the YAML tag {tag} is not a CloudFormation function (short forms are \
                         !Ref, !Sub, !GetAtt, !If, !Join, ...)"
                    ),
                ));
            }
        };
        Ok(Some(Val {
            line: node.line,
            kind,
        }))
    }

    /// Resolves a node that must give a value (not `AWS::NoValue`).
    pub(crate) fn value(&mut self, node: &'t Node, path: &str) -> Result<Val, StackError> {
        self.eval(node, path)?
            .ok_or_else(|| self.err(path, node.line, "is AWS::NoValue where a value is needed"))
    }

    /// Resolves a node that must give a string.
    pub(crate) fn string(&mut self, node: &'t Node, path: &str) -> Result<String, StackError> {
        let v = self.value(node, path)?;
        match v.kind {
            V::Str(s) | V::Plain(s) => Ok(s),
            _ => Err(self.err(
                path,
                node.line,
                format!("must be a string here, not {}", v.describe()),
            )),
        }
    }

    /// Resolves a node that must give a list of strings.
    fn string_list(&mut self, node: &'t Node, path: &str) -> Result<Vec<String>, StackError> {
        let v = self.value(node, path)?;
        let V::List(items) = v.kind else {
            return Err(self.err(
                path,
                node.line,
                format!("must be a list here, not {}", v.describe()),
            ));
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item.kind {
                V::Str(s) | V::Plain(s) => Ok(s),
                _ => Err(self.err(
                    &index(path, i),
                    item.line,
                    format!("must be a string, not {}", item.describe()),
                )),
            })
            .collect()
    }

    fn args<'n>(
        &self,
        name: &str,
        arg: &'n Node,
        count: usize,
        path: &str,
        usage: &str,
    ) -> Result<&'n [Node], StackError> {
        match arg.as_seq() {
            Some(items) if items.len() == count && arg.intrinsic().is_none() => Ok(items),
            _ => Err(self.err(
                path,
                arg.line,
                format!("{name} takes a list of {count}: {usage}"),
            )),
        }
    }

    fn intrinsic(
        &mut self,
        name: &str,
        arg: &'t Node,
        node: &'t Node,
        path: &str,
    ) -> Result<Option<Val>, StackError> {
        let line = node.line;
        let here = join(path, name);
        match name {
            "Ref" => {
                let Some(target) = arg.as_scalar() else {
                    return Err(self.err(
                        path,
                        line,
                        format!(
                            "Ref takes the name of a parameter or resource, not {}",
                            arg.describe()
                        ),
                    ));
                };
                self.reference(target, line, path)
            }
            "Fn::Sub" => self.sub(arg, line, path).map(Some),
            "Fn::GetAtt" => {
                let (resource, attribute) = match (&arg.kind, arg.as_seq()) {
                    (Kind::Scalar { text, .. }, _) => match text.split_once('.') {
                        Some((r, a)) => (r.to_string(), a.to_string()),
                        None => {
                            return Err(self.err(
                                path,
                                line,
                                format!(
                                    "Fn::GetAtt {text:?}: write Resource.Attribute (e.g. \
                                     {text}.Arn)"
                                ),
                            ));
                        }
                    },
                    (_, Some([r, a])) if arg.intrinsic().is_none() => {
                        let r = r.as_scalar().ok_or_else(|| {
                            self.err(&here, line, "the resource must be a logical id")
                        })?;
                        (r.to_string(), self.string(a, &index(&here, 1))?)
                    }
                    _ => {
                        return Err(self.err(
                            path,
                            line,
                            "Fn::GetAtt takes Resource.Attribute or [Resource, Attribute]",
                        ));
                    }
                };
                self.get_att(&resource, &attribute, line, path)
                    .map(|s| Some(Val::str(line, s)))
            }
            "Fn::If" => {
                let items = self.args(
                    name,
                    arg,
                    3,
                    path,
                    "[Condition, value if true, value if false]",
                )?;
                let Some(condition) = items[0].as_scalar() else {
                    return Err(self.err(
                        &index(&here, 0),
                        items[0].line,
                        "Fn::If's first item is the name of a condition",
                    ));
                };
                let chosen = if self.condition(condition, items[0].line, &index(&here, 0))? {
                    1
                } else {
                    2
                };
                self.eval(&items[chosen], &index(&here, chosen))
            }
            "Fn::Join" => {
                let items = self.args(name, arg, 2, path, "[delimiter, [values]]")?;
                let delimiter = self.string(&items[0], &index(&here, 0))?;
                let values = self.string_list(&items[1], &index(&here, 1))?;
                Ok(Some(Val::str(line, values.join(&delimiter))))
            }
            "Fn::Split" => {
                let items = self.args(name, arg, 2, path, "[delimiter, string]")?;
                let delimiter = self.string(&items[0], &index(&here, 0))?;
                if delimiter.is_empty() {
                    return Err(self.err(&index(&here, 0), line, "Fn::Split's delimiter is empty"));
                }
                let source = self.string(&items[1], &index(&here, 1))?;
                let parts = source
                    .split(delimiter.as_str())
                    .map(|s| Val::str(line, s))
                    .collect();
                Ok(Some(Val {
                    line,
                    kind: V::List(parts),
                }))
            }
            "Fn::Select" => {
                let items = self.args(name, arg, 2, path, "[index, [values]]")?;
                let at = self.string(&items[0], &index(&here, 0))?;
                let at: usize = at.trim().parse().map_err(|_| {
                    self.err(
                        &index(&here, 0),
                        line,
                        format!("Fn::Select's index {at:?} is not a number"),
                    )
                })?;
                let list = self.value(&items[1], &index(&here, 1))?;
                let V::List(values) = list.kind else {
                    return Err(self.err(
                        &index(&here, 1),
                        line,
                        format!("Fn::Select needs a list, not {}", list.describe()),
                    ));
                };
                let count = values.len();
                values.into_iter().nth(at).map(Some).ok_or_else(|| {
                    self.err(
                        path,
                        line,
                        format!("Fn::Select: index {at} is out of the list's {count} items"),
                    )
                })
            }
            "Fn::FindInMap" => {
                let items = match arg.as_seq() {
                    Some(items) if (3..=4).contains(&items.len()) => items,
                    _ => {
                        return Err(self.err(
                            path,
                            line,
                            "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]",
                        ));
                    }
                };
                let map = self.string(&items[0], &index(&here, 0))?;
                let top = self.string(&items[1], &index(&here, 1))?;
                let second = self.string(&items[2], &index(&here, 2))?;
                let t = self.t;
                let found = t
                    .mappings
                    .as_ref()
                    .and_then(|m| m.get(&map))
                    .and_then(|m| m.get(&top))
                    .and_then(|m| m.get(&second));
                match found {
                    Some(v) => self.eval(v, &format!("Mappings.{map}.{top}.{second}")),
                    None => Err(self.err(
                        path,
                        line,
                        format!("Fn::FindInMap: Mappings has no {map}.{top}.{second}"),
                    )),
                }
            }
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => Err(self.err(
                path,
                line,
                format!(
                    "{name} belongs in the Conditions section; use Fn::If with a condition here"
                ),
            )),
            other => Err(self.err(
                path,
                line,
                format!(
                    "{other} is not supported by the local run (it supports Ref, Fn::Sub, \
                     Fn::GetAtt, Fn::If, Fn::Join, Fn::Split, Fn::Select, Fn::FindInMap, and \
                     Fn::Equals, Fn::And, Fn::Or, Fn::Not in conditions)"
                ),
            )),
        }
    }

    fn pseudo(&self, name: &str) -> Option<V> {
        let s = |v: String| Some(V::Str(v));
        match name {
            "AWS::StackName" => s(self.stack_name.clone()),
            "AWS::Region" => s(self.region.clone()),
            "AWS::AccountId" => s(self.account_id.clone()),
            "AWS::Partition" => s(self.partition.to_string()),
            "AWS::URLSuffix" => s(self.url_suffix.to_string()),
            "AWS::StackId" => s(format!(
                "arn:{}:cloudformation:{}:{}:stack/{}/{}",
                self.partition,
                self.region,
                self.account_id,
                self.stack_name,
                uuid(&[&self.account_id, &self.region, &self.stack_name])
            )),
            "AWS::NotificationARNs" => Some(V::List(Vec::new())),
            _ => None,
        }
    }

    fn unknown_name(&self, name: &str, line: usize, path: &str, what: &str) -> StackError {
        let t = self.t;
        let candidates = t
            .parameters
            .iter()
            .map(|p| p.info.name.as_str())
            .chain(t.resources.iter().map(|r| r.id.as_str()));
        let hint = match closest(name, candidates) {
            Some(s) => format!(" Did you mean {s}?"),
            None => String::new(),
        };
        self.err(
            path,
            line,
            format!("{what} {name:?} is not a parameter or resource of the template.{hint}"),
        )
    }

    fn param(&self, name: &str, line: usize, path: &str) -> Option<Result<V, StackError>> {
        let value = self.params.get(name)?;
        Some(match value {
            ParamValue::Str(s) => Ok(V::Str(s.clone())),
            ParamValue::List(items) => Ok(V::List(
                items.iter().map(|s| Val::str(line, s.clone())).collect(),
            )),
            ParamValue::Ssm { param_type } => Err(self.err(
                path,
                line,
                format!(
                    "the parameter {name} has type {param_type}: its value lives in SSM \
                     Parameter Store, which the local run cannot read; give the template a \
                     String parameter for the local run"
                ),
            )),
        })
    }

    /// `Ref`: a parameter, a pseudo parameter or a resource.
    fn reference(
        &mut self,
        name: &str,
        line: usize,
        path: &str,
    ) -> Result<Option<Val>, StackError> {
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        if name.starts_with("AWS::") {
            return match self.pseudo(name) {
                Some(kind) => Ok(Some(Val { line, kind })),
                None => Err(self.err(
                    path,
                    line,
                    format!(
                        "Ref {name}: not a pseudo parameter the local run knows (AWS::StackName, \
                         AWS::Region, AWS::AccountId, AWS::Partition, AWS::URLSuffix, \
                         AWS::StackId, AWS::NotificationARNs, AWS::NoValue)"
                    ),
                )),
            };
        }
        if let Some(v) = self.param(name, line, path) {
            return Ok(Some(Val { line, kind: v? }));
        }
        if let Some(resource) = self.resource(name) {
            let s = self.resource_ref(resource, line, path)?;
            return Ok(Some(Val::str(line, s)));
        }
        Err(self.unknown_name(name, line, path, "Ref"))
    }

    fn sub(&mut self, arg: &'t Node, line: usize, path: &str) -> Result<Val, StackError> {
        let here = join(path, "Fn::Sub");
        let (template, vars_node) = match (&arg.kind, arg.as_seq()) {
            (Kind::Scalar { .. }, _) => (self.string(arg, path)?, None),
            (_, Some([text, vars])) if arg.intrinsic().is_none() => {
                (self.string(text, &index(&here, 0))?, Some(vars))
            }
            _ => {
                return Err(self.err(
                    path,
                    line,
                    format!(
                        "Fn::Sub takes a string or [string, {{Name: value}}], not {}",
                        arg.describe()
                    ),
                ));
            }
        };
        let mut vars: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(vars_node) = vars_node {
            let vars_path = index(&here, 1);
            let entries = match vars_node.as_map() {
                Some(entries) if vars_node.intrinsic().is_none() => entries,
                _ => {
                    return Err(self.err(
                        &vars_path,
                        vars_node.line,
                        "Fn::Sub's variables must be a mapping {Name: value}",
                    ));
                }
            };
            for (name, value) in entries {
                let v = self.string(value, &join(&vars_path, name))?;
                vars.insert(name, v);
            }
        }
        let parts = sub::parse(&template).map_err(|e| {
            self.err(
                path,
                line,
                format!("Fn::Sub (at character {}): {}", e.offset + 1, e.message),
            )
        })?;
        let mut out = String::with_capacity(template.len());
        for part in parts {
            match part {
                sub::Part::Text(t) => out.push_str(&t),
                sub::Part::Var(name) => {
                    let value = self.sub_var(name, &vars, line, path)?;
                    out.push_str(&value);
                }
            }
        }
        Ok(Val::str(line, out))
    }

    fn sub_var(
        &mut self,
        name: &str,
        vars: &BTreeMap<&str, String>,
        line: usize,
        path: &str,
    ) -> Result<String, StackError> {
        if let Some(v) = vars.get(name) {
            return Ok(v.clone());
        }
        let not_a_string = |what: &str| {
            format!("Fn::Sub: ${{{name}}} is {what}, not a string; use Fn::Join to insert a list")
        };
        if name.starts_with("AWS::") {
            return match self.pseudo(name) {
                Some(V::Str(s)) => Ok(s),
                Some(_) => Err(self.err(path, line, not_a_string("a list"))),
                None => Err(self.err(
                    path,
                    line,
                    format!("Fn::Sub: ${{{name}}} is not a pseudo parameter the local run knows"),
                )),
            };
        }
        if let Some(v) = self.param(name, line, path) {
            return match v? {
                V::Str(s) => Ok(s),
                _ => Err(self.err(path, line, not_a_string("a list parameter"))),
            };
        }
        if let Some(resource) = self.resource(name) {
            return self.resource_ref(resource, line, path);
        }
        if let Some((resource, attribute)) = name.split_once('.')
            && self.resource(resource).is_some()
        {
            return self.get_att(resource, attribute, line, path);
        }
        let mut message = format!(
            "Fn::Sub: ${{{name}}} is not a parameter, resource, Resource.Attribute or pseudo \
             parameter of the template{}",
            if vars.is_empty() {
                ""
            } else {
                ", nor a variable of this Fn::Sub"
            }
        );
        let t = self.t;
        let resources = || t.resources.iter().map(|r| r.id.as_str());
        let suggestion = match name.split_once('.') {
            Some((resource, attribute)) => {
                closest(resource, resources()).map(|r| format!("{r}.{attribute}"))
            }
            None => closest(
                name,
                t.parameters
                    .iter()
                    .map(|p| p.info.name.as_str())
                    .chain(resources())
                    .chain(vars.keys().copied()),
            ),
        };
        if let Some(s) = suggestion {
            message.push_str(&format!(". Did you mean ${{{s}}}?"));
        }
        message.push_str(" (write ${!Name} for a literal ${Name})");
        Err(self.err(path, line, message))
    }

    // --- Conditions -------------------------------------------------------------------------

    /// The value of a named condition (evaluated once).
    pub(crate) fn condition(
        &mut self,
        name: &str,
        line: usize,
        path: &str,
    ) -> Result<bool, StackError> {
        match self.conditions.get(name) {
            Some(Some(value)) => return Ok(*value),
            Some(None) => {
                return Err(self.err(
                    path,
                    line,
                    format!("the condition {name} depends on itself"),
                ));
            }
            None => {}
        }
        let t = self.t;
        let Some((_, node)) = t.conditions.iter().find(|(n, _)| n == name) else {
            let known: Vec<&str> = t.conditions.iter().map(|(n, _)| n.as_str()).collect();
            let hint = match closest(name, known.iter().copied()) {
                Some(s) => format!(" Did you mean {s}?"),
                None => String::new(),
            };
            return Err(self.err(
                path,
                line,
                format!(
                    "no condition {name:?} in the Conditions section (it has: {}).{hint}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        self.conditions.insert(name.to_string(), None);
        self.enter(path, line)?;
        let value = self.condition_expr(node, &join("Conditions", name));
        self.depth -= 1;
        let value = value?;
        self.conditions.insert(name.to_string(), Some(value));
        Ok(value)
    }

    fn condition_expr(&mut self, node: &'t Node, path: &str) -> Result<bool, StackError> {
        if let Some([(key, arg)]) = node.as_map()
            && key == "Condition"
        {
            let Some(name) = arg.as_scalar() else {
                return Err(self.err(path, node.line, "Condition takes the name of a condition"));
            };
            return self.condition(name, node.line, &join(path, "Condition"));
        }
        let Some((name, arg)) = node.intrinsic() else {
            return Err(self.err(
                path,
                node.line,
                format!(
                    "a condition is Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition, not {}",
                    node.describe()
                ),
            ));
        };
        let here = join(path, name);
        match name {
            "Fn::Equals" => {
                let items = self.args(name, arg, 2, path, "[value, value]")?;
                let a = self.value(&items[0], &index(&here, 0))?;
                let b = self.value(&items[1], &index(&here, 1))?;
                Ok(same(&a, &b))
            }
            "Fn::And" | "Fn::Or" => {
                let items = match arg.as_seq() {
                    Some(items) if (2..=10).contains(&items.len()) => items,
                    _ => {
                        return Err(self.err(
                            path,
                            node.line,
                            format!("{name} takes a list of 2 to 10 conditions"),
                        ));
                    }
                };
                let mut values = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    values.push(self.condition_expr(item, &index(&here, i))?);
                }
                Ok(if name == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                })
            }
            "Fn::Not" => {
                let items = self.args(name, arg, 1, path, "[condition]")?;
                Ok(!self.condition_expr(&items[0], &index(&here, 0))?)
            }
            other => Err(self.err(
                path,
                node.line,
                format!(
                    "a condition is Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition, not \
                     {other}"
                ),
            )),
        }
    }

    // --- Resources ------------------------------------------------------------------------

    pub(crate) fn resource(&self, id: &str) -> Option<&'t Resource> {
        let t = self.t;
        t.resources.iter().find(|r| r.id == id)
    }

    /// Whether the resource exists with these parameters (its `Condition`).
    pub(crate) fn created(&mut self, r: &'t Resource) -> Result<bool, StackError> {
        match &r.condition {
            None => Ok(true),
            Some(c) => self.condition(c, r.line, &join(&join("Resources", &r.id), "Condition")),
        }
    }

    fn require_created(
        &mut self,
        r: &'t Resource,
        line: usize,
        path: &str,
    ) -> Result<(), StackError> {
        if self.created(r)? {
            return Ok(());
        }
        Err(self.err(
            path,
            line,
            format!(
                "refers to {}, which these parameters do not create (its Condition {} is \
                 false): guard this reference with Fn::If on that condition",
                r.id,
                r.condition.as_deref().unwrap_or_default()
            ),
        ))
    }

    fn property_path(r: &Resource, key: &str) -> String {
        join(&join(&join("Resources", &r.id), "Properties"), key)
    }

    /// A property of a resource, resolved (`None` when absent or `AWS::NoValue`).
    pub(crate) fn property(
        &mut self,
        r: &'t Resource,
        key: &str,
    ) -> Result<Option<Val>, StackError> {
        match r.properties.get(key) {
            None => Ok(None),
            Some(node) => self.eval(node, &Self::property_path(r, key)),
        }
    }

    /// A string property of a resource.
    pub(crate) fn string_property(
        &mut self,
        r: &'t Resource,
        key: &str,
    ) -> Result<Option<String>, StackError> {
        match self.property(r, key)? {
            None => Ok(None),
            Some(v) => match v.kind {
                V::Str(s) | V::Plain(s) => Ok(Some(s)),
                _ => Err(self.err(
                    &Self::property_path(r, key),
                    v.line,
                    format!("must be a string, not {}", v.describe()),
                )),
            },
        }
    }

    /// The resource's physical name: its name property when the template sets it, else
    /// `<stack>-<LogicalId>`, fitted to the service's rules.
    pub(crate) fn physical_name(&mut self, r: &'t Resource) -> Result<String, StackError> {
        match self.names.get(&r.id) {
            Some(Some(name)) => return Ok(name.clone()),
            Some(None) => {
                return Err(self.err(
                    &join("Resources", &r.id),
                    r.line,
                    format!("the name of {} depends on itself", r.id),
                ));
            }
            None => {}
        }
        let Some(rule) = naming(&r.resource_type) else {
            return Err(self.unsupported_type(r, r.line, &join("Resources", &r.id)));
        };
        self.names.insert(r.id.clone(), None);
        self.enter(&join("Resources", &r.id), r.line)?;
        let explicit = match rule.property {
            Some(p) => self.string_property(r, p),
            None => Ok(None),
        };
        self.depth -= 1;
        let name = match explicit? {
            Some(name) => name,
            None => {
                if rule.property == Some("AliasName") {
                    return Err(self.err(
                        &Self::property_path(r, "AliasName"),
                        r.line,
                        "a KMS alias needs its AliasName",
                    ));
                }
                let mut name = derive_name(&self.stack_name, &r.id, rule.max_len, rule.lowercase);
                if r.resource_type == "AWS::SQS::Queue"
                    && self.string_property(r, "FifoQueue")?.as_deref() == Some("true")
                {
                    name = derive_name(&self.stack_name, &r.id, rule.max_len - 5, false) + ".fifo";
                }
                name
            }
        };
        self.names.insert(r.id.clone(), Some(name.clone()));
        Ok(name)
    }

    fn unsupported_type(&self, r: &Resource, line: usize, path: &str) -> StackError {
        self.err(
            path,
            line,
            format!(
                "{} is a {}, whose names and attributes the local run does not know (it knows \
                 {})",
                r.id,
                r.resource_type,
                NAMING.iter().map(|n| n.0).collect::<Vec<_>>().join(", ")
            ),
        )
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition, self.region, self.account_id
        )
    }

    /// What `Ref` returns for a resource.
    pub(crate) fn resource_ref(
        &mut self,
        r: &'t Resource,
        line: usize,
        path: &str,
    ) -> Result<String, StackError> {
        self.require_created(r, line, path)?;
        match r.resource_type.as_str() {
            "AWS::SNS::Topic" => self.get_att(&r.id, "TopicArn", line, path),
            "AWS::SQS::Queue" => self.get_att(&r.id, "QueueUrl", line, path),
            "AWS::KMS::Key" => self.get_att(&r.id, "KeyId", line, path),
            "AWS::CodeConnections::Connection" | "AWS::CodeStarConnections::Connection" => {
                self.get_att(&r.id, "ConnectionArn", line, path)
            }
            _ if naming(&r.resource_type).is_some() => self.physical_name(r),
            _ => Err(self.unsupported_type(r, line, path)),
        }
    }

    /// `Fn::GetAtt`.
    pub(crate) fn get_att(
        &mut self,
        id: &str,
        attribute: &str,
        line: usize,
        path: &str,
    ) -> Result<String, StackError> {
        let Some(r) = self.resource(id) else {
            return Err(self.unknown_name(
                id,
                line,
                path,
                &format!("Fn::GetAtt {id}.{attribute}:"),
            ));
        };
        self.require_created(r, line, path)?;
        let (p, region, account) = (self.partition, self.region.clone(), self.account_id.clone());
        let stack = self.stack_name.clone();
        let suffix = self.url_suffix;
        let id_hash = || uuid(&[&account, &region, &stack, id]);
        let value = match (r.resource_type.as_str(), attribute) {
            ("AWS::Lambda::Function" | "AWS::Serverless::Function", "Arn") => {
                let name = self.physical_name(r)?;
                Some(self.arn("lambda", &format!("function:{name}")))
            }
            ("AWS::IAM::Role", "Arn") => {
                let name = self.physical_name(r)?;
                let role_path = self
                    .string_property(r, "Path")?
                    .unwrap_or_else(|| "/".into());
                Some(format!("arn:{p}:iam::{account}:role{role_path}{name}"))
            }
            ("AWS::IAM::Role", "RoleId") => Some(format!(
                "AROA{}",
                id_hash()
                    .replace('-', "")
                    .to_uppercase()
                    .chars()
                    .take(17)
                    .collect::<String>()
            )),
            ("AWS::S3::Bucket", "Arn") => Some(format!("arn:{p}:s3:::{}", self.physical_name(r)?)),
            ("AWS::S3::Bucket", "DomainName") => {
                Some(format!("{}.s3.{}", self.physical_name(r)?, suffix))
            }
            ("AWS::S3::Bucket", "RegionalDomainName") => {
                Some(format!("{}.s3.{region}.{}", self.physical_name(r)?, suffix))
            }
            ("AWS::SNS::Topic", "TopicArn") => {
                let name = self.physical_name(r)?;
                Some(self.arn("sns", &name))
            }
            ("AWS::SNS::Topic", "TopicName") => Some(self.physical_name(r)?),
            ("AWS::SQS::Queue", "Arn") => {
                let name = self.physical_name(r)?;
                Some(self.arn("sqs", &name))
            }
            ("AWS::SQS::Queue", "QueueName") => Some(self.physical_name(r)?),
            ("AWS::SQS::Queue", "QueueUrl") => Some(format!(
                "https://sqs.{region}.{}/{account}/{}",
                suffix,
                self.physical_name(r)?
            )),
            ("AWS::KMS::Key", "KeyId") => Some(id_hash()),
            ("AWS::KMS::Key", "Arn") => Some(self.arn("kms", &format!("key/{}", id_hash()))),
            ("AWS::Events::Rule", "Arn") => {
                let name = self.physical_name(r)?;
                Some(self.arn("events", &format!("rule/{name}")))
            }
            ("AWS::CodeBuild::Project", "Arn") => {
                let name = self.physical_name(r)?;
                Some(self.arn("codebuild", &format!("project/{name}")))
            }
            ("AWS::CodeConnections::Connection", "ConnectionArn") => {
                Some(self.arn("codeconnections", &format!("connection/{}", id_hash())))
            }
            ("AWS::CodeStarConnections::Connection", "ConnectionArn") => {
                Some(self.arn("codestar-connections", &format!("connection/{}", id_hash())))
            }
            ("AWS::ECR::Repository", "Arn") => {
                let name = self.physical_name(r)?;
                Some(self.arn("ecr", &format!("repository/{name}")))
            }
            ("AWS::ECR::Repository", "RepositoryUri") => Some(format!(
                "{account}.dkr.ecr.{region}.{}/{}",
                suffix,
                self.physical_name(r)?
            )),
            ("AWS::Logs::LogGroup", "Arn") => {
                let name = self.physical_name(r)?;
                Some(self.arn("logs", &format!("log-group:{name}:*")))
            }
            ("AWS::CodePipeline::Pipeline", "Version") => Some("1".to_string()),
            _ => None,
        };
        value.ok_or_else(|| {
            let known = ATTRIBUTES
                .iter()
                .find(|(t, _)| *t == r.resource_type)
                .map(|(_, attrs)| attrs.join(", "));
            self.err(
                path,
                line,
                match known {
                    Some(attrs) => format!(
                        "Fn::GetAtt {id}.{attribute}: a {} has no attribute {attribute} the \
                         local run knows (it knows {attrs})",
                        r.resource_type
                    ),
                    None => format!(
                        "Fn::GetAtt {id}.{attribute}: the local run knows no attributes of a {}",
                        r.resource_type
                    ),
                },
            )
        })
    }
}

/// Two values are equal for `Fn::Equals`: scalars by their text, lists item by item.
fn same(a: &Val, b: &Val) -> bool {
    match (&a.kind, &b.kind) {
        (V::Str(x) | V::Plain(x), V::Str(y) | V::Plain(y)) => x == y,
        (V::List(x), V::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (V::Map(x), V::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

/// How a resource type is named: its name property, the longest name, lowercase or not.
struct Naming {
    property: Option<&'static str>,
    max_len: usize,
    lowercase: bool,
}

const NAMING: &[(&str, Option<&str>, usize, bool)] = &[
    ("AWS::CodeBuild::Project", Some("Name"), 150, false),
    (
        "AWS::CodeConnections::Connection",
        Some("ConnectionName"),
        32,
        false,
    ),
    ("AWS::CodePipeline::Pipeline", Some("Name"), 100, false),
    (
        "AWS::CodeStarConnections::Connection",
        Some("ConnectionName"),
        32,
        false,
    ),
    ("AWS::CloudWatch::Alarm", Some("AlarmName"), 255, false),
    ("AWS::ECR::Repository", Some("RepositoryName"), 256, true),
    ("AWS::Events::Rule", Some("Name"), 64, false),
    ("AWS::IAM::Role", Some("RoleName"), 64, false),
    ("AWS::KMS::Alias", Some("AliasName"), 256, false),
    ("AWS::KMS::Key", None, 64, false),
    ("AWS::Lambda::Function", Some("FunctionName"), 64, false),
    ("AWS::Logs::LogGroup", Some("LogGroupName"), 512, false),
    ("AWS::S3::Bucket", Some("BucketName"), 63, true),
    ("AWS::SNS::Topic", Some("TopicName"), 256, false),
    ("AWS::SQS::Queue", Some("QueueName"), 80, false),
    ("AWS::Serverless::Function", Some("FunctionName"), 64, false),
];

/// The attributes `Fn::GetAtt` knows, per type (for messages).
const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("AWS::CodeBuild::Project", &["Arn"]),
    ("AWS::CodeConnections::Connection", &["ConnectionArn"]),
    ("AWS::CodePipeline::Pipeline", &["Version"]),
    ("AWS::CodeStarConnections::Connection", &["ConnectionArn"]),
    ("AWS::ECR::Repository", &["Arn", "RepositoryUri"]),
    ("AWS::Events::Rule", &["Arn"]),
    ("AWS::IAM::Role", &["Arn", "RoleId"]),
    ("AWS::KMS::Key", &["Arn", "KeyId"]),
    ("AWS::Lambda::Function", &["Arn"]),
    ("AWS::Logs::LogGroup", &["Arn"]),
    (
        "AWS::S3::Bucket",
        &["Arn", "DomainName", "RegionalDomainName"],
    ),
    ("AWS::SNS::Topic", &["TopicArn", "TopicName"]),
    ("AWS::SQS::Queue", &["Arn", "QueueName", "QueueUrl"]),
    ("AWS::Serverless::Function", &["Arn"]),
];

fn naming(resource_type: &str) -> Option<Naming> {
    NAMING
        .iter()
        .find(|(t, ..)| *t == resource_type)
        .map(|&(_, property, max_len, lowercase)| Naming {
            property,
            max_len,
            lowercase,
        })
}

/// `<stack>-<LogicalId>`, lowercased if asked; a name too long keeps its start and ends with
/// a hash of the whole, so that it stays unique.
pub(crate) fn derive_name(stack: &str, id: &str, max_len: usize, lowercase: bool) -> String {
    let mut name = format!("{stack}-{id}");
    if lowercase {
        name = name.to_lowercase();
    }
    if name.chars().count() <= max_len {
        return name;
    }
    let hash = format!("{:08x}", fnv1a(name.as_bytes(), 0) as u32);
    let keep = max_len.saturating_sub(hash.len() + 1);
    let mut short: String = name.chars().take(keep).collect();
    while short.ends_with(['-', '.']) {
        short.pop();
    }
    format!("{short}-{hash}")
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A deterministic UUID-shaped id of the given parts (KMS key ids, connection ids, ...).
fn uuid(parts: &[&str]) -> String {
    let joined = parts.join("/");
    let a = fnv1a(joined.as_bytes(), 0);
    let b = fnv1a(joined.as_bytes(), 0x9e37_79b9_7f4a_7c15);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const TEMPLATE: &str = r#"
Parameters:
  Env:
    Type: String
    Default: dev
  Count:
    Type: Number
    Default: 3
  Subnets:
    Type: CommaDelimitedList
    Default: a,b,c
  Secret:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /x
Mappings:
  Sizes:
    dev:
      Memory: 256
Conditions:
  IsDev: !Equals [!Ref Env, dev]
  IsProd: !Not [!Condition IsDev]
  Both: !And [!Condition IsDev, !Equals ["3", !Ref Count]]
  Either: !Or [!Condition IsProd, {"Fn::Equals": [a, b]}]
  Loop1: !Condition Loop2
  Loop2: !Condition Loop1
  Bad: !Ref Env
Resources:
  Fn:
    Type: AWS::Serverless::Function
  Named:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${Env}-named"
  Bucket:
    Type: AWS::S3::Bucket
  NamedBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: my-bucket
  Role:
    Type: AWS::IAM::Role
    Properties:
      Path: /service/
      Policies: !Base64 whatever
  Topic:
    Type: AWS::SNS::Topic
  Queue:
    Type: AWS::SQS::Queue
  Fifo:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
  Key:
    Type: AWS::KMS::Key
  Alias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: alias/x
  Rule:
    Type: AWS::Events::Rule
  Project:
    Type: AWS::CodeBuild::Project
  Connection:
    Type: AWS::CodeConnections::Connection
    Condition: IsProd
    Properties:
      ConnectionName: gh
  Repo:
    Type: AWS::ECR::Repository
  Logs:
    Type: AWS::Logs::LogGroup
  Odd:
    Type: AWS::Foo::Bar
  SelfNamed:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !GetAtt SelfNamed.TopicName
"#;

    fn template() -> Template {
        Template::parse(TEMPLATE, Path::new("t.yaml")).unwrap()
    }

    fn ctx<'t>(t: &'t Template, overrides: &[(&str, &str)]) -> Ctx<'t> {
        let overrides = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let values = t.effective_parameters(&overrides).unwrap();
        let values = values.into_iter().map(|(k, (_, v))| (k, v)).collect();
        Ctx::new(t, "demo", "eu-west-1", "123456789012", values)
    }

    /// Resolves `expr` (YAML) against the template.
    fn eval_with(expr: &str, overrides: &[(&str, &str)]) -> Result<Option<Val>, StackError> {
        let t = template();
        let node = yaml::parse(expr).unwrap();
        let mut cx = ctx(&t, overrides);
        cx.eval(&node, "X")
    }

    fn json(expr: &str) -> serde_json::Value {
        eval_with(expr, &[]).unwrap().unwrap().to_json()
    }

    fn string(expr: &str) -> String {
        match json(expr) {
            serde_json::Value::String(s) => s,
            other => panic!("{expr}: not a string: {other}"),
        }
    }

    fn error(expr: &str) -> String {
        eval_with(expr, &[]).unwrap_err().to_string()
    }

    #[test]
    fn ref_parameters_pseudo_parameters_and_no_value() {
        assert_eq!(string("!Ref Env"), "dev");
        assert_eq!(string("{Ref: Count}"), "3");
        assert_eq!(json("!Ref Subnets"), serde_json::json!(["a", "b", "c"]));
        assert_eq!(string("!Ref AWS::StackName"), "demo");
        assert_eq!(string("!Ref AWS::Region"), "eu-west-1");
        assert_eq!(string("!Ref AWS::AccountId"), "123456789012");
        assert_eq!(string("!Ref AWS::Partition"), "aws");
        assert_eq!(string("!Ref AWS::URLSuffix"), "amazonaws.com");
        assert!(
            string("!Ref AWS::StackId")
                .starts_with("arn:aws:cloudformation:eu-west-1:123456789012:stack/demo/")
        );
        assert_eq!(json("!Ref AWS::NotificationARNs"), serde_json::json!([]));
        assert_eq!(eval_with("!Ref AWS::NoValue", &[]).unwrap(), None);
        assert_eq!(
            json("{a: 1, b: !Ref AWS::NoValue, c: [x, !Ref AWS::NoValue, y]}"),
            serde_json::json!({"a": 1, "c": ["x", "y"]})
        );
    }

    #[test]
    fn ref_errors() {
        let e = error("!Ref Evn");
        assert!(
            e.contains("\"Evn\"") && e.contains("Did you mean Env"),
            "{e}"
        );
        assert!(e.starts_with("t.yaml:1: X:"), "{e}");
        assert!(error("!Ref AWS::Nope").contains("pseudo parameter"));
        assert!(error("!Ref [a]").contains("Ref takes"));
        assert!(error("!Ref Secret").contains("SSM Parameter Store"));
        assert!(error("!Sub ${Secret}").contains("SSM Parameter Store"));
    }

    #[test]
    fn resource_names_refs_and_attributes() {
        assert_eq!(string("!Ref Fn"), "demo-Fn");
        assert_eq!(
            string("!GetAtt Fn.Arn"),
            "arn:aws:lambda:eu-west-1:123456789012:function:demo-Fn"
        );
        assert_eq!(string("!Ref Named"), "dev-named");
        assert_eq!(string("!Ref Bucket"), "demo-bucket");
        assert_eq!(string("!GetAtt Bucket.Arn"), "arn:aws:s3:::demo-bucket");
        assert_eq!(
            string("!GetAtt NamedBucket.RegionalDomainName"),
            "my-bucket.s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            string("!GetAtt Role.Arn"),
            "arn:aws:iam::123456789012:role/service/demo-Role"
        );
        assert!(string("!GetAtt Role.RoleId").starts_with("AROA"));
        assert_eq!(
            string("!Ref Topic"),
            "arn:aws:sns:eu-west-1:123456789012:demo-Topic"
        );
        assert_eq!(string("!GetAtt Topic.TopicName"), "demo-Topic");
        assert_eq!(
            string("!Ref Queue"),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/demo-Queue"
        );
        assert_eq!(
            string("!GetAtt Queue.Arn"),
            "arn:aws:sqs:eu-west-1:123456789012:demo-Queue"
        );
        assert_eq!(string("!GetAtt Queue.QueueName"), "demo-Queue");
        assert_eq!(string("!GetAtt Fifo.QueueName"), "demo-Fifo.fifo");
        let key_id = string("!Ref Key");
        assert_eq!(key_id.len(), 36, "{key_id}");
        assert_eq!(
            string("!GetAtt Key.Arn"),
            format!("arn:aws:kms:eu-west-1:123456789012:key/{key_id}")
        );
        assert_eq!(string("!Ref Alias"), "alias/x");
        assert_eq!(string("!Ref Rule"), "demo-Rule");
        assert_eq!(
            string("!GetAtt Rule.Arn"),
            "arn:aws:events:eu-west-1:123456789012:rule/demo-Rule"
        );
        assert_eq!(string("!Ref Project"), "demo-Project");
        assert_eq!(
            string("!GetAtt Project.Arn"),
            "arn:aws:codebuild:eu-west-1:123456789012:project/demo-Project"
        );
        assert_eq!(string("!Ref Repo"), "demo-repo");
        assert_eq!(
            string("!GetAtt Repo.RepositoryUri"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-repo"
        );
        assert_eq!(
            string("!GetAtt Repo.Arn"),
            "arn:aws:ecr:eu-west-1:123456789012:repository/demo-repo"
        );
        assert_eq!(string("!Ref Logs"), "demo-Logs");
        assert_eq!(
            string("!GetAtt Logs.Arn"),
            "arn:aws:logs:eu-west-1:123456789012:log-group:demo-Logs:*"
        );
        // Deterministic: the same inputs give the same ids.
        assert_eq!(string("!Ref Key"), key_id);
    }

    #[test]
    fn conditional_resources() {
        let e = error("!GetAtt Connection.ConnectionArn");
        assert!(
            e.contains("Connection") && e.contains("IsProd is false") && e.contains("Fn::If"),
            "{e}"
        );
        let t = template();
        let node = yaml::parse("!GetAtt Connection.ConnectionArn").unwrap();
        let mut cx = ctx(&t, &[("Env", "prod")]);
        let arn = cx.eval(&node, "X").unwrap().unwrap();
        assert!(
            arn.text()
                .unwrap()
                .starts_with("arn:aws:codeconnections:eu-west-1:123456789012:connection/")
        );
        let node = yaml::parse("!Ref Connection").unwrap();
        assert_eq!(cx.eval(&node, "X").unwrap().unwrap(), arn);
    }

    #[test]
    fn resource_errors() {
        let e = error("!GetAtt Bucket.Nope");
        assert!(
            e.contains("Bucket.Nope") && e.contains("Arn, DomainName"),
            "{e}"
        );
        let e = error("!Ref Odd");
        assert!(e.contains("AWS::Foo::Bar"), "{e}");
        let e = error("!GetAtt Odd.Arn");
        assert!(e.contains("AWS::Foo::Bar"), "{e}");
        let e = error("!GetAtt Nobody.Arn");
        assert!(e.contains("\"Nobody\""), "{e}");
        let e = error("!GetAtt NoDot");
        assert!(e.contains("Resource.Attribute"), "{e}");
        let e = error("!Ref SelfNamed");
        assert!(e.contains("depends on itself"), "{e}");
        // Role's unsupported Policies never matter for its name or ARN...
        assert!(string("!GetAtt Role.Arn").ends_with("demo-Role"));
        // ...only when asked for.
        let t = template();
        let mut cx = ctx(&t, &[]);
        let role = cx.resource("Role").unwrap();
        let e = cx.property(role, "Policies").unwrap_err().to_string();
        assert!(
            e.contains("Fn::Base64 is not supported")
                && e.contains("Resources.Role.Properties.Policies"),
            "{e}"
        );
    }

    #[test]
    fn get_att_long_forms() {
        assert_eq!(string("{Fn::GetAtt: [Fn, Arn]}"), string("!GetAtt Fn.Arn"));
        assert_eq!(string("!GetAtt [Topic, !Sub TopicName]"), "demo-Topic");
        assert!(error("!GetAtt [a, b, c]").contains("[Resource, Attribute]"));
    }

    #[test]
    fn sub_both_forms() {
        assert_eq!(
            string("!Sub arn:${AWS::Partition}:s3:::${Bucket}/${Env}/*"),
            "arn:aws:s3:::demo-bucket/dev/*"
        );
        assert_eq!(string("!Sub ${Fn.Arn}"), string("!GetAtt Fn.Arn"));
        assert_eq!(
            string("!Sub '${!Literal}-#{Source.CommitId}'"),
            "${Literal}-#{Source.CommitId}"
        );
        assert_eq!(
            string("!Sub [\"${A}-${Env}\", {A: !Ref AWS::Region}]"),
            "eu-west-1-dev"
        );
        assert_eq!(
            string("{Fn::Sub: [\"${Env}\", {Env: shadowed}]}"),
            "shadowed"
        );
        assert_eq!(string("!Sub '{\"n\":${Count}}'"), "{\"n\":3}");
    }

    #[test]
    fn sub_errors() {
        let e = error("!Sub ${Nope}");
        assert!(e.contains("${Nope}") && e.contains("${!Name}"), "{e}");
        let e = error("!Sub ${Evn}");
        assert!(e.contains("Did you mean ${Env}"), "{e}");
        let e = error("!Sub ${Bucke.Arn}");
        assert!(e.contains("Did you mean ${Bucket.Arn}"), "{e}");
        let e = error("!Sub ['${B}', {A: b}]");
        assert!(
            e.contains("${B}") && e.contains("nor a variable of this Fn::Sub"),
            "{e}"
        );
        let e = error("!Sub ${Subnets}");
        assert!(e.contains("Fn::Join"), "{e}");
        let e = error("!Sub 'a ${Open'");
        assert!(e.contains("closing"), "{e}");
        assert!(error("!Sub [a, b]").contains("mapping"));
        assert!(error("!Sub {a: b}").contains("Fn::Sub takes"));
        let e = error("!Sub [x, {A: !Ref AWS::NoValue}]");
        assert!(e.contains("X.Fn::Sub[1].A") && e.contains("NoValue"), "{e}");
    }

    #[test]
    fn if_and_conditions() {
        assert_eq!(string("!If [IsDev, yes, no]"), "yes");
        assert_eq!(string("!If [IsProd, yes, no]"), "no");
        assert_eq!(string("!If [Both, yes, no]"), "yes");
        assert_eq!(string("!If [Either, yes, no]"), "no");
        assert_eq!(
            eval_with("!If [IsDev, !Ref AWS::NoValue, x]", &[]).unwrap(),
            None
        );
        // The branch not taken is not resolved: it may name what does not exist.
        assert_eq!(string("!If [IsDev, ok, !Ref Nothing]"), "ok");
        assert_eq!(
            eval_with("!If [IsDev, a, b]", &[("Env", "prod")])
                .unwrap()
                .unwrap()
                .text(),
            Some("b")
        );
        assert_eq!(
            eval_with("!If [Either, a, b]", &[("Env", "prod")])
                .unwrap()
                .unwrap()
                .text(),
            Some("a")
        );
    }

    #[test]
    fn condition_errors() {
        let e = error("!If [Nope, a, b]");
        assert!(
            e.contains("no condition \"Nope\"") && e.contains("IsDev"),
            "{e}"
        );
        let e = error("!If [Loop1, a, b]");
        assert!(e.contains("depends on itself"), "{e}");
        let e = error("!If [Bad, a, b]");
        assert!(
            e.contains("Conditions.Bad") && e.contains("a condition is"),
            "{e}"
        );
        assert!(error("!If [IsDev, a]").contains("list of 3"));
        assert!(error("!Equals [a, a]").contains("Conditions section"));
        let t = Template::parse(
            "Conditions:\n  A: !And [!Condition B]\n  B: !Equals [a, a]\nResources: {}\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let mut cx = ctx(&t, &[]);
        let e = cx.condition("A", 1, "X").unwrap_err().to_string();
        assert!(e.contains("2 to 10"), "{e}");
    }

    #[test]
    fn join_split_select() {
        assert_eq!(
            string("!Join ['-', [a, !Ref Env, !Ref AWS::NoValue, c]]"),
            "a-dev-c"
        );
        assert_eq!(string("!Join [',', !Ref Subnets]"), "a,b,c");
        assert_eq!(
            json("!Split ['.', a.b.c]"),
            serde_json::json!(["a", "b", "c"])
        );
        assert_eq!(
            string("!Join ['-', !Split ['.', !Join ['-', !Split ['_', my_repo.v2]]]]"),
            "my-repo-v2"
        );
        assert_eq!(string("!Select [1, [a, b, c]]"), "b");
        assert_eq!(string("!Select ['2', !Ref Subnets]"), "c");
        assert_eq!(string("!Select [0, !Split ['/', !Ref Env]]"), "dev");
        assert!(error("!Select [3, [a]]").contains("out of"));
        assert!(error("!Select [x, [a]]").contains("not a number"));
        assert!(error("!Join ['-', a]").contains("must be a list"));
        assert!(error("!Join ['-', [[a]]]").contains("must be a string"));
        assert!(error("!Split ['', a]").contains("empty"));
        assert!(error("!Join [a]").contains("list of 2"));
    }

    #[test]
    fn find_in_map_and_unsupported_functions() {
        assert_eq!(
            json("!FindInMap [Sizes, !Ref Env, Memory]"),
            serde_json::json!(256)
        );
        assert!(error("!FindInMap [Sizes, prod, Memory]").contains("Sizes.prod.Memory"));
        let e = error("!ImportValue other");
        assert!(e.contains("Fn::ImportValue is not supported"), "{e}");
        let e = error("!<tag:x> 1");
        assert!(e.contains("not a CloudFormation function"), "{e}");
    }

    #[test]
    fn json_typing_of_plain_scalars() {
        assert_eq!(
            json("[1, -2, 0x1f, 1.5, true, False, ~, '', null, '1', abc, 1e3, .inf]"),
            serde_json::json!([
                1, -2, 31, 1.5, true, false, null, "", null, "1", "abc", 1000.0, ".inf"
            ])
        );
    }

    #[test]
    fn partitions_follow_the_region() {
        let t = template();
        let node = yaml::parse("!Sub '${AWS::Partition} ${AWS::URLSuffix}'").unwrap();
        let values = t.effective_parameters(&BTreeMap::new()).unwrap();
        let values: BTreeMap<_, _> = values.into_iter().map(|(k, (_, v))| (k, v)).collect();
        let mut cx = Ctx::new(&t, "s", "cn-north-1", "123456789012", values.clone());
        assert_eq!(
            cx.eval(&node, "X").unwrap().unwrap().text(),
            Some("aws-cn amazonaws.com.cn")
        );
        let mut cx = Ctx::new(&t, "s", "us-gov-west-1", "123456789012", values);
        assert_eq!(
            cx.eval(&node, "X").unwrap().unwrap().text(),
            Some("aws-us-gov amazonaws.com")
        );
    }

    #[test]
    fn derived_names_fit_the_rules() {
        assert_eq!(derive_name("Stack", "Bucket", 63, true), "stack-bucket");
        let long = derive_name(&"s".repeat(60), "ArtifactBucket", 63, true);
        assert_eq!(long.len(), 63);
        assert!(
            long.starts_with("sss")
                && long
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert_ne!(long, derive_name(&"s".repeat(60), "OtherBucket", 63, true));
        let uuid = uuid(&["a"]);
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'4');
    }

    #[test]
    fn deep_reference_chains_are_an_error_not_a_crash() {
        let mut text = String::from("Resources:\n");
        for i in 0..300 {
            text.push_str(&format!(
                "  T{i}:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub \"${{T{}.TopicName}}x\"\n",
                i + 1
            ));
        }
        text.push_str("  T300:\n    Type: AWS::SNS::Topic\n");
        let t = Template::parse(&text, Path::new("t.yaml")).unwrap();
        let eval = |expr: &str| {
            let node = yaml::parse(expr).unwrap();
            with_resolve_stack(|| ctx(&t, &[]).eval(&node, "X"))
        };
        let e = eval("!Ref T0").unwrap_err().to_string();
        assert!(e.contains("nested steps"), "{e}");
        // A shorter chain resolves.
        let v = eval("!GetAtt T250.TopicName").unwrap().unwrap();
        assert_eq!(
            v.text(),
            Some(format!("demo-T300{}", "x".repeat(50)).as_str())
        );
    }
}
