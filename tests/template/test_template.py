"""template.yaml against the functions, the sample model repository and the IAM rules.

Run by `make test` (target `template-test`) with the project venv's Python, which has PyYAML and
cfn-lint (whose copy of the AWS service authorization data the IAM rules use):

    .venv/bin/python -m unittest discover -s tests/template -v

What it proves, for every combination of the template's conditions (manual approval on/off,
image repository on/off, connection created/given, training data: none, a whole bucket, a
prefix with its KMS key, a prefix and key without a bucket):

- the pipeline: V2, named "<stack>-pipeline" as the Notify rule expects, triggered by pushes
  to the branch, stages Source -> Build -> Train -> Tune -> Evaluate -> DeployStaging
  (-> Approval) -> DeployProduction;
- every Lambda action names a function of this template whose rust-cargolambda Binary is a
  binary of the Cargo workspace, with retries off and a log group of its own;
- every UserParameters is at most 1000 characters with the longest values CloudFormation can
  put in it, and still with CodePipeline's #{...} variables resolved to their longest values
  when all of them are bounded (the Deploy actions' are); is a JSON object once the variables
  are resolved, uses only the keys the function's `Settings` struct accepts (read from its
  Rust source, serde attributes included), gives every key it requires, with the right JSON
  types (an enum's variant names, lists of strings); each true/false parameter it passes
  (StopJobsAtWindowEnd, RequireGate) is a JSON boolean under its own name into a defaulted
  `bool`;
- the Deploy actions: the staging and production endpoints "<stack>-staging" and
  "<stack>-production", the model package of the Evaluate action, the SageMaker execution
  role, and for production the names of the stack's alarms on that endpoint; the Approval
  action's CustomData fits in 1000 characters with its variables resolved;
- every #{Namespace.Variable}, in any action's configuration, names a namespace of an earlier
  stage and a variable that action produces: the CodeStarSourceConnection variables, the
  buildspec's exported-variables (examples/model-repo/buildspec.yml), the `.variable("...")`
  outputs of the function's Rust source;
- the build environment gives every variable the sample buildspec reads;
- IAM, over the roles' inline policies and every policy resource attached to a role: every
  statement has a Sid; no managed policies, no `*` or `service:*` actions, Resource "*" only
  for actions that have no resource-level permissions, iam:PassRole only of the SageMaker
  execution role and only to SageMaker, SageMaker permissions only on names starting with the
  stack name, endpoints only the stack's two by their exact names (InvokeEndpoint and
  DeleteEndpoint on staging only), models, endpoint configs and endpoints for the Deploy role
  only, sagemaker:UpdateModelPackage for the Deploy role only and only with ManualApproval=true
  (and for the Evaluate role only held to ModelApprovalStatus Rejected),
  CloudWatch alarms only the stack's and read-only, S3 only in the artifact bucket and writes
  only to each role's prefixes (training jobs models/, the build source/ and data/, the
  pipeline its artifacts, Evaluate promoted/, Notify notifications/), KMS
  only on the stack's keys, lambda:InvokeFunction only on the pipeline's four functions; the
  one exception, the training data: only the SageMaker execution role,
  only with TrainingDataBucket given, s3:GetObject on "<bucket>/<prefix>*" and s3:ListBucket
  held to the prefix, and kms:Decrypt through S3 on TrainingDataKmsKeyArn only when it is
  given; the grants are exactly those for each combination of the parameters;
- the IAM rules are not vacuous: each deliberate breakage in BREAKAGES (a widened copy of the
  template) must be reported by them.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import tomllib
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMPLE_BUILDSPEC = ROOT / "examples" / "model-repo" / "buildspec.yml"

# CodePipeline's own variables, and what a CodeStarSourceConnection source action produces
# (CodePipeline user guide, "Variables reference").
PIPELINE_VARIABLES = {"PipelineExecutionId"}
SOURCE_CONNECTION_VARIABLES = {
    "AuthorDate",
    "BranchName",
    "CommitId",
    "CommitMessage",
    "ConnectionArn",
    "FullRepositoryName",
}
# What every model repository's buildspec exports (README: the model repository contract);
# the sample buildspec, when present, is read instead.
CONTRACT_BUILD_VARIABLES = {"SOURCE_DIR_URI"}
# A model repository that builds its own image (CreateImageRepository=true) exports IMAGE_URI
# from its buildspec (the parameter's description says so); the sample does not build one.
IMAGE_BUILD_VARIABLES = {"IMAGE_URI"}
# What CodeBuild itself sets in a build, and what a shell has anyway.
BUILD_ENVIRONMENT_BUILTINS = re.compile(r"^(CODEBUILD_\w+|AWS_\w+|HOME|PATH|PWD|SHELL|USER)$")

USER_PARAMETERS_MAX = 1000
# Characters the build's exported variables (SOURCE_DIR_URI, IMAGE_URI) may take together in
# the Train and Tune actions' UserParameters, with every other value at its longest (README).
BUILD_VARIABLES_BUDGET = 700
# Lambda's limit on a function's environment variables, names and values together.
LAMBDA_ENVIRONMENT_MAX = 4096
STACK_NAME = "sagemaker-cicd-abcde"  # the longest stack name the template's rule allows (20)
assert len(STACK_NAME) == 20


# --- Reading the template ---------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags, turned into their long forms."""


def _cfn_tag(loader: CfnLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template() -> dict:
    with TEMPLATE.open() as f:
        return yaml.load(f, Loader=CfnLoader)


NO_VALUE = object()


def select(node, conditions: dict[str, bool]):
    """`node` with every Fn::If decided and AWS::NoValue removed; other intrinsics kept."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return select(yes if conditions[name] else no, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        out = {}
        for key, value in node.items():
            value = select(value, conditions)
            if value is not NO_VALUE:
                out[key] = value
        return out
    if isinstance(node, list):
        return [v for v in (select(v, conditions) for v in node) if v is not NO_VALUE]
    return node


def evaluate_condition(expr, params: dict[str, str], conditions: dict[str, bool]) -> bool:
    (fn, args), = expr.items()
    if fn == "Fn::Equals":
        a, b = (resolve_scalar(x, params) for x in args)
        return a == b
    if fn == "Fn::Not":
        return not evaluate_condition(args[0], params, conditions)
    if fn == "Fn::And":
        return all(evaluate_condition(a, params, conditions) for a in args)
    if fn == "Fn::Or":
        return any(evaluate_condition(a, params, conditions) for a in args)
    if fn == "Condition":
        return conditions[args]
    raise AssertionError(f"condition function {fn} not supported by this test")


def resolve_scalar(x, params):
    if isinstance(x, dict) and "Ref" in x:
        return params[x["Ref"]]
    return x


def unique_keys(pairs):
    """json object_pairs_hook: a dict, refusing a repeated key (as the functions do)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"repeated key {key!r}")
        out[key] = value
    return out


class Values:
    """What CloudFormation substitutes, as long as it can get (for the 1000-character limit)."""

    def __init__(self, template: dict, params: dict[str, str]):
        self.template = template
        self.params = params
        self.pseudo = {
            "AWS::StackName": STACK_NAME,
            "AWS::Region": "ap-southeast-2",
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws-us-gov",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> str:
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        kind = self.template["Resources"][name]["Type"]
        if kind == "AWS::S3::Bucket":
            return "b" * 63  # the longest bucket name
        if kind == "AWS::Serverless::Function":
            return (STACK_NAME + "-" + name + "-")[:51] + "A1B2C3D4E5F6G"  # 64 characters
        if kind == "AWS::CloudWatch::Alarm":
            return self.evaluate(self.template["Resources"][name]["Properties"]["AlarmName"])
        return f"{STACK_NAME}-{name}-A1B2C3D4E5F6"

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.template["Resources"][name]["Type"]
        p, r, a = (self.pseudo[k] for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId"))
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:{p}:iam::{a}:role/" + ("r" * 64)  # role names: at most 64
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:{p}:s3:::" + self.ref(name)
        if attribute == "Arn":
            return f"arn:{p}:service:{r}:{a}:{name.lower()}/" + "x" * 36
        return f"{name}-{attribute}-" + "x" * 36

    def evaluate(self, node, local: dict | None = None):
        local = local or {}
        if isinstance(node, str) or isinstance(node, (int, float, bool)):
            return str(node).lower() if isinstance(node, bool) else str(node)
        (fn, args), = node.items()
        if fn == "Ref":
            return self.ref(args)
        if fn == "Fn::GetAtt":
            return self.get_att(*args)
        if fn == "Fn::Join":
            sep, items = args
            return sep.join(self.evaluate(i, local) for i in self.evaluate_list(items, local))
        if fn == "Fn::Sub":
            text, variables = (args, {}) if isinstance(args, str) else args
            scope = {k: self.evaluate(v, local) for k, v in variables.items()}

            def one(m: re.Match) -> str:
                name = m.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if name in scope:
                    return scope[name]
                if "." in name and not name.startswith("AWS::"):
                    return self.get_att(*name.split(".", 1))
                return self.ref(name)

            return re.sub(r"\$\{([^}]+)\}", one, text)
        raise AssertionError(f"intrinsic {fn} not supported by this test: {node}")

    def resolve(self, node):
        """`node` with every intrinsic in it evaluated (e.g. a policy statement's Condition)."""
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        if isinstance(node, dict):
            if len(node) == 1 and next(iter(node)) in ("Ref", "Fn::GetAtt", "Fn::Join", "Fn::Sub"):
                return self.evaluate(node)
            return {k: self.resolve(v) for k, v in node.items()}
        return node

    def evaluate_list(self, node, local):
        if isinstance(node, list):
            return node
        (fn, args), = node.items()
        if fn == "Fn::Split":
            sep, text = args
            return self.evaluate(text, local).split(sep)
        raise AssertionError(f"list intrinsic {fn} not supported by this test: {node}")


def longest_parameter_values(template: dict) -> dict[str, str]:
    """Each parameter at its longest: the longest allowed value, the maximum, or a long sample."""
    out = {}
    for name, p in template["Parameters"].items():
        if "AllowedValues" in p:
            out[name] = max((str(v) for v in p["AllowedValues"]), key=len)
        elif p["Type"] == "Number":
            out[name] = str(p.get("MaxValue", 10**9))
        elif "MaxLength" in p:
            out[name] = "x" * int(p["MaxLength"])
        else:
            out[name] = {
                "NotificationEmail": "someone@example.com",
                "GitHubOwner": "o" * 39,
                "GitHubRepository": "r" * 100,
                "CodeConnectionArn": "arn:aws:codeconnections:ap-southeast-2:123456789012:connection/"
                + "0" * 36,
                "CodeBuildImage": "aws/codebuild/standard:8.0",
                "TrainingInstanceType": "ml.trn1n.32xlarge",
                "TrainingDataBucket": DATA_BUCKET,
                "TrainingDataPrefix": DATA_PREFIX,
                "TrainingDataKmsKeyArn": DATA_KEY,
            }[name]
    return out


def longest_variable_values(values: Values, params: dict[str, str]) -> dict[tuple[str, str], str]:
    """(namespace, variable) -> its longest value, for the pipeline variables that have one."""
    p, r, a = (values.pseudo[k] for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId"))
    return {
        ("codepipeline", "PipelineExecutionId"): "12345678-1234-1234-1234-123456789012",
        ("SourceVariables", "CommitId"): "f" * 40,
        ("SourceVariables", "FullRepositoryName"): f"{params['GitHubOwner']}/{params['GitHubRepository']}",
        ("SourceVariables", "BranchName"): params["GitHubBranch"],
        # model-package/<group>/<version>: groups "<stack>-<owner>-<repository>" are cut to 63
        # characters (functions/evaluate/src/registry.rs); a version of 10 digits.
        ("EvaluateVariables", "ModelPackageArn"): f"arn:{p}:sagemaker:{r}:{a}:model-package/"
        + "g" * 63
        + "/"
        + "9" * 10,
        # SageMaker's limits: job names 63 (tuning jobs 32), metric names 255; an f32 as Rust
        # prints it, at its longest (the smallest subnormal, negated).
        ("TrainVariables", "TrainingJobName"): "j" * 63,
        ("TuneVariables", "CandidateTrainingJobName"): "j" * 63,
        ("TuneVariables", "ObjectiveMetricName"): "m" * 255,
        ("TuneVariables", "ObjectiveMetricValue"): "-0." + "0" * 44 + "1",
        ("TuneVariables", "TuningJobName"): "t" * 32,
        # The build's exported variables have no limit of their own: they share what is left,
        # BUILD_VARIABLES_BUDGET characters (README), here as two values of that total.
        ("BuildVariables", "SOURCE_DIR_URI"): "s" * (BUILD_VARIABLES_BUDGET // 2),
        ("BuildVariables", "IMAGE_URI"): "i" * (BUILD_VARIABLES_BUDGET // 2),
    }


# The training data parameters (TrainingDataBucket, TrainingDataPrefix, TrainingDataKmsKeyArn)
# in the combinations that differ: none; a whole bucket; a prefix of a bucket encrypted with a
# customer key; a prefix and a key without a bucket (which must grant nothing).
DATA_BUCKET = "example-org-datasets"
DATA_PREFIX = "churn/v2/"
DATA_KEY = "arn:aws:kms:ap-southeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DATA_CHOICES = [
    ("", "", ""),
    (DATA_BUCKET, "", ""),
    (DATA_BUCKET, DATA_PREFIX, DATA_KEY),
    ("", DATA_PREFIX, DATA_KEY),
]
DATA_PARAMETERS = ("TrainingDataBucket", "TrainingDataPrefix", "TrainingDataKmsKeyArn")


def variants(template: dict):
    """(label, parameters, conditions) for every combination of the condition parameters."""
    base = longest_parameter_values(template)
    choices = {
        "ManualApproval": ["false", "true"],
        "CreateImageRepository": ["false", "true"],
        "CodeConnectionArn": ["", base["CodeConnectionArn"]],
    }
    for combo in itertools.product(*choices.values(), DATA_CHOICES):
        given = dict(zip(choices, combo[:-1]))
        given.update(zip(DATA_PARAMETERS, combo[-1]))
        params = dict(base, **given)
        conditions: dict[str, bool] = {}
        for name, expr in template.get("Conditions", {}).items():
            conditions[name] = evaluate_condition(expr, params, conditions)
        label = ", ".join(f"{k}={v or '(empty)'}" for k, v in given.items())
        yield label, params, conditions


# --- Reading the Rust workspace -------------------------------------------------------------


def workspace_binaries() -> dict[str, Path]:
    """Binary name -> crate directory, for every binary of the Cargo workspace."""
    members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    out = {}
    for member in members:
        crate = ROOT / member
        manifest = tomllib.loads((crate / "Cargo.toml").read_text())
        if (crate / "src" / "main.rs").exists():
            out[manifest["package"]["name"]] = crate
        for binary in manifest.get("bin", []):
            out[binary["name"]] = crate
        for path in (crate / "src" / "bin").glob("*.rs"):
            out[path.stem] = crate
    return out


class Field:
    def __init__(self, key: str, rust_type: str, required: bool, enums: dict[str, set[str]] | None = None):
        self.key, self.rust_type, self.required = key, rust_type, required
        # The unit enums of the settings' source: type name -> the JSON strings serde accepts.
        self.enums = enums or {}

    def accepts(self, value) -> bool:
        t = self.rust_type
        if t.startswith("Option<"):
            t = t[len("Option<") : -1]
        if t in self.enums:
            return isinstance(value, str) and value in self.enums[t]
        if t == "Vec<String>":
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        if t == "String":
            return isinstance(value, str)
        if t in ("i64", "i32", "u32", "u64"):
            return isinstance(value, int) and not isinstance(value, bool)
        if t == "bool":
            return isinstance(value, bool)
        if re.fullmatch(r"(BTreeMap|HashMap)<String, ?String>", t):
            return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        raise AssertionError(f"Rust type {self.rust_type} not known to this test")


def pascal_case(snake: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in snake.split("_"))


def unit_enums(text: str) -> dict[str, set[str]]:
    """The `pub enum`s of a Rust source whose variants are all units, with the strings serde
    reads them from (the variant's name, or its #[serde(rename = "...")])."""
    out = {}
    for m in re.finditer(r"((?:#\[[^\]]*\]\s*)*)pub enum (\w+) \{(.*?)\n\}", text, re.S):
        attributes, name, body = m.groups()
        if "Deserialize" not in attributes:
            continue
        assert "rename_all" not in attributes, f"enum {name}: rename_all not supported by this test"
        variants, pending, units = set(), [], True
        for line in body.splitlines():
            line = line.strip()
            if line.startswith("#["):
                pending.append(line)
            elif re.fullmatch(r"\w+,?", line):
                rename = re.search(r'rename = "([^"]+)"', " ".join(pending))
                variants.add(rename.group(1) if rename else line.rstrip(","))
                pending = []
            elif line and not line.startswith("//"):
                units = False  # a variant with data: not a plain string
        if units:
            out[name] = variants
    return out


def settings_fields(source: Path) -> dict[str, Field]:
    """The JSON keys `pub struct Settings` accepts, as serde derives them."""
    text = source.read_text()
    enums = unit_enums(text)
    m = re.search(r"((?:#\[[^\]]*\]\s*)*)pub struct Settings \{(.*?)\n\}", text, re.S)
    assert m, f"{source}: no `pub struct Settings`"
    attributes, body = m.groups()
    assert "deny_unknown_fields" in attributes, f"{source}: Settings must deny unknown fields"
    assert 'rename_all = "PascalCase"' in attributes, f"{source}: Settings must be PascalCase"
    fields = {}
    pending: list[str] = []
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("#["):
            pending.append(line)
        elif line.startswith("pub "):
            fm = re.fullmatch(r"pub (\w+): (.+),", line)
            assert fm, f"{source}: cannot read the field `{line}`"
            name, rust_type = fm.groups()
            serde = " ".join(a for a in pending if a.startswith("#[serde("))
            rename = re.search(r'rename = "([^"]+)"', serde)
            key = rename.group(1) if rename else pascal_case(name)
            required = not rust_type.startswith("Option<") and "default" not in serde
            fields[key] = Field(key, rust_type, required, enums)
            pending = []
        elif not line.startswith("//") and line:
            pending = []
    return fields


def settings_source(crate: Path) -> Path:
    """The Settings a function's handler parses its UserParameters into."""
    own = crate / "src" / "settings.rs"
    handler = (crate / "src" / "handler.rs").read_text()
    if re.search(r"use model_repo::\{?[^;]*\bSettings\b", handler):
        return ROOT / "functions" / "model-repo" / "src" / "settings.rs"
    if re.search(r"use crate::settings::\{?[^;]*\bSettings\b", handler):
        return own
    raise AssertionError(f"{crate}/src/handler.rs: which Settings does it parse?")


def output_variables(crate: Path) -> set[str]:
    """The output variables a function reports (`Outcome::...variable("Key", ...)`)."""
    found = set()
    for path in (crate / "src").rglob("*.rs"):
        found |= set(re.findall(r'\.variable\(\s*"([A-Za-z0-9@_-]+)"', path.read_text()))
    return found


# --- The IAM rules --------------------------------------------------------------------------


def listed(x):
    return x if isinstance(x, list) else [x]


POLICY_TYPES = {"AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"}


def policy_statements(template: dict, conditions: dict[str, bool]):
    """(role, source, statement) of every policy statement that exists under `conditions`: the
    roles' inline policies, and the policy resources attached to roles."""
    for name, res in template["Resources"].items():
        if res.get("Condition") and not conditions[res["Condition"]]:
            continue
        if res["Type"] == "AWS::IAM::Role":
            role = select(res, conditions)
            if "ManagedPolicyArns" in role["Properties"]:
                yield name, name, {"Managed": role["Properties"]["ManagedPolicyArns"]}
            for policy in role["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield name, name, statement
        elif res["Type"] in POLICY_TYPES:
            props = select(res["Properties"], conditions)
            roles = props.get("Roles", [props.get("RoleName")])
            for role in roles:
                role_name = role["Ref"] if isinstance(role, dict) and "Ref" in role else role
                for statement in props["PolicyDocument"]["Statement"]:
                    yield role_name, name, statement


def _service_authorization() -> dict:
    # cfn-lint's copy of the AWS service authorization reference.
    import cfnlint

    return json.loads(
        (Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text()
    )


SAGEMAKER_PREFIX = re.compile(
    r"^arn:\$\{AWS::Partition\}:sagemaker:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
    r"(training-job|hyper-parameter-tuning-job|model-package-group|model-package|model|endpoint-config)"
    r"/\$\{AWS::StackName\}-\*$"
)
# Endpoints: the stack's two, by their exact names (never a wildcard), each with what may be
# done to it: production is never invoked by the pipeline (the smoke test is staging's) nor
# deleted.
ENDPOINT = re.compile(
    r"^arn:\$\{AWS::Partition\}:sagemaker:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
    r"endpoint/\$\{AWS::StackName\}-(staging|production)$"
)
ENDPOINT_ACTIONS = {
    "production": {
        "sagemaker:CreateEndpoint",
        "sagemaker:DescribeEndpoint",
        "sagemaker:UpdateEndpoint",
        "sagemaker:AddTags",
    },
}
ENDPOINT_ACTIONS["staging"] = ENDPOINT_ACTIONS["production"] | {
    "sagemaker:DeleteEndpoint",
    "sagemaker:InvokeEndpoint",
}
# Models, endpoint configs and endpoints are the Deploy role's alone.
HOSTING = re.compile(r":sagemaker:.*:(model|endpoint-config|endpoint)/")
HOSTING_ROLE = "DeployRole"
# CloudWatch alarms: the stack's ("<stack>-production-5xx", ...), read-only: a role that could
# change, silence or set them could defeat a production rollback.
STACK_ALARMS = {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"}
ALARM_READS = {"cloudwatch:DescribeAlarms"}
# Setting a package's approval status is the Deploy role's alone, and only with a manual
# approval in the pipeline: DeployProduction approves the package a person let through. The
# one other grant: the Evaluate role may reject (only reject) a package it registered.
PACKAGE_APPROVALS = {"sagemaker:UpdateModelPackage"}
REJECT_ONLY = {"StringEquals": {"sagemaker:ModelApprovalStatus": "Rejected"}}
# Reviewed exceptions. PutMetricData's only resource type (a CloudWatch dataset) is not what
# training jobs write: "*", held to SageMaker's namespace by the condition.
STAR_EXCEPTIONS = {
    "cloudwatch:PutMetricData": {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}},
}
# Who may write where in the artifact bucket. The model repository's code runs as the SageMaker
# execution role (training jobs) and the build role (the buildspec): each writes only its own
# outputs, never what judges or records a model: the pipeline's artifacts (the source that later
# actions read), promoted/ (the registered models) or notifications/ (the email's markers).
S3_WRITES = {
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:RestoreObject",
}
S3_WRITE_PREFIXES = {
    "SageMakerExecutionRole": {"models/*"},
    "BuildRole": {"source/*", "data/*"},
    "PipelineRole": {"${AWS::StackName}*"},
    "EvaluateRole": {"promoted/*"},
    "NotifyRole": {"notifications/*"},
}
# SageMaker actions allowed on "*" (they support no resource-level permissions; the star rule
# checks that): the list of endpoint configs, read-only names (see DeployRole).
SAGEMAKER_STAR = {
    "sagemaker:ListEndpointConfigs",
    # Notify's sweep of a run's leftover jobs (see NotifyRole): names and statuses only.
    "sagemaker:ListTrainingJobs",
    "sagemaker:ListHyperParameterTuningJobs",
}
# A list request names no package (see EvaluateRole).
SAGEMAKER_EXCEPTIONS = {
    (
        "sagemaker:ListModelPackages",
        "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package/*",
    ),
}
PIPELINE_FUNCTIONS = {"StartTrainingFunction", "TrainAndTuneFunction", "EvaluateFunction", "DeployFunction"}
VIA_S3 = {"StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}}


def training_data_grant(role: str, statement: dict, action: str, resource, conditions) -> str | None:
    """Why (action, resource) of `statement` is not the training data rule, or None when it is.

    The rule: only the SageMaker execution role, only with TrainingDataBucket given, read-only:
    s3:GetObject on "<bucket>/<prefix>*", s3:ListBucket on the bucket, held to the prefix by
    s3:prefix when there is one; kms:Decrypt on TrainingDataKmsKeyArn, through S3 only, only
    with the key given.
    """
    if role != "SageMakerExecutionRole":
        return f"training data granted to {role}, not the SageMaker execution role"
    condition = statement.get("Condition")
    if action.startswith("kms:"):
        if not conditions["TrainingDataKeyEnabled"]:
            return "the training data key granted without TrainingDataBucket and TrainingDataKmsKeyArn"
        if (action, resource, condition) != ("kms:Decrypt", {"Ref": "TrainingDataKmsKeyArn"}, VIA_S3):
            return f"{action} on {resource} ({condition}): only kms:Decrypt on the key, through S3"
        return None
    if not conditions["TrainingDataEnabled"]:
        return "training data granted without TrainingDataBucket"
    if action == "s3:GetObject":
        expected = ({"Fn::Sub": "arn:${AWS::Partition}:s3:::${TrainingDataBucket}/${TrainingDataPrefix}*"}, None)
    elif action == "s3:ListBucket":
        prefix = None if conditions["TrainingDataWholeBucket"] else {
            "StringLike": {"s3:prefix": {"Fn::Sub": "${TrainingDataPrefix}*"}}
        }
        expected = ({"Fn::Sub": "arn:${AWS::Partition}:s3:::${TrainingDataBucket}"}, prefix)
    else:
        return f"{action}: the training data is read-only (s3:GetObject, s3:ListBucket)"
    if (resource, condition) != expected:
        return f"{action} on {resource} ({condition}): expected {expected[0]} ({expected[1]})"
    return None


def names_training_data(node) -> bool:
    return any(p in json.dumps(node) for p in DATA_PARAMETERS)


def statement_violations(role: str, st: dict, conditions: dict[str, bool], policies: dict):
    """What is wrong with one statement of `role`'s policies under `conditions`."""
    if "Managed" in st:
        yield f"managed policies {st['Managed']}"
        return
    if st.get("Effect") != "Allow":
        yield f"Effect {st.get('Effect')}"
    if not st.get("Sid"):
        yield "a statement without a Sid (each says what it is for)"

    def resource_types(action: str) -> list[str] | None:
        service, verb = action.split(":", 1)
        known = policies.get(service, {}).get("Actions", {}).get(verb.lower())
        return None if known is None else known.get("Resources", [])

    actions = listed(st["Action"])
    resources = listed(st["Resource"])
    for action in actions:
        if action == "*":
            yield "Action *"
        elif action.endswith(":*"):
            yield f"{action}: a whole service"
    if "*" in resources:
        for action in actions:
            if action in STAR_EXCEPTIONS:
                if st.get("Condition") != STAR_EXCEPTIONS[action]:
                    yield f"{action} on * without {STAR_EXCEPTIONS[action]}"
                continue
            types = resource_types(action)
            if types is None:
                yield f"{action}: unknown action"
            elif types:
                yield f'{action} supports resource-level permissions: not "*"'
    for action in actions:
        service = action.split(":")[0]
        for resource in resources:
            sub = resource.get("Fn::Sub") if isinstance(resource, dict) else None
            if names_training_data(resource) or (
                names_training_data(st.get("Condition")) and service in ("s3", "kms")
            ):
                problem = training_data_grant(role, st, action, resource, conditions)
                if problem:
                    yield problem
            elif action == "iam:PassRole":
                if resource != {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}:
                    yield f"iam:PassRole of {resource}"
                if st.get("Condition") != {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}:
                    yield f"iam:PassRole without iam:PassedToService = sagemaker.amazonaws.com"
            elif service == "sagemaker":
                endpoint = ENDPOINT.match(sub) if sub else None
                if resource == "*":
                    if action not in SAGEMAKER_STAR:
                        yield f"{action} on *: not a reviewed SageMaker exception ({', '.join(sorted(SAGEMAKER_STAR))})"
                elif endpoint:
                    allowed = ENDPOINT_ACTIONS[endpoint.group(1)]
                    if action not in allowed:
                        yield (
                            f"{action} on the {endpoint.group(1)} endpoint: only "
                            + ", ".join(sorted(allowed))
                        )
                elif not ((sub and SAGEMAKER_PREFIX.match(sub)) or (action, sub) in SAGEMAKER_EXCEPTIONS):
                    yield f"{action} on {resource}: not this stack's names"
                if action in PACKAGE_APPROVALS and not (
                    (role == HOSTING_ROLE and conditions["ManualApprovalEnabled"])
                    or (role == "EvaluateRole" and st.get("Condition") == REJECT_ONLY)
                ):
                    manual = str(conditions["ManualApprovalEnabled"]).lower()
                    yield (
                        f"{action} granted to {role} with ManualApproval={manual}: "
                        f"only {HOSTING_ROLE}, only with ManualApproval=true"
                    )
                if sub and HOSTING.search(sub) and role != HOSTING_ROLE:
                    yield f"{action} on {resource}: hosting permissions granted to {role}, not {HOSTING_ROLE}"
            elif service == "cloudwatch" and resource != "*":
                if resource != STACK_ALARMS:
                    yield f"{action} on {resource}: not this stack's alarms"
                elif action not in ALARM_READS:
                    yield f"{action} on the stack's alarms: they are read-only ({', '.join(sorted(ALARM_READS))})"
            elif service == "s3":
                if not (
                    resource == {"Fn::GetAtt": ["ArtifactBucket", "Arn"]}
                    or (sub and sub.startswith("${ArtifactBucket.Arn}/"))
                ):
                    yield f"{action} on {resource}: outside the artifact bucket"
                elif sub and (action in S3_WRITES or "*" in action.split(":")[1]):
                    prefix = sub.removeprefix("${ArtifactBucket.Arn}/")
                    allowed = S3_WRITE_PREFIXES.get(role, set())
                    if prefix not in allowed:
                        yield (
                            f"{action} on {resource}: {role} may write only "
                            + (", ".join(sorted(allowed)) or "nothing")
                            + " in the artifact bucket"
                        )
            elif service == "kms":
                if resource not in (
                    {"Fn::GetAtt": ["ArtifactKey", "Arn"]},
                    {"Fn::GetAtt": ["NotificationKey", "Arn"]},
                ):
                    yield f"{action} on {resource}: not a key of this stack"
            elif action == "lambda:InvokeFunction":
                if not (isinstance(resource, dict) and resource.get("Fn::GetAtt", [None])[0] in PIPELINE_FUNCTIONS):
                    yield f"lambda:InvokeFunction on {resource}: not a pipeline function"
            elif resource != "*" and not isinstance(resource, dict):
                # Everything else names a resource of this stack or of its parameters (never
                # a bare wildcard of another service).
                yield f"{action} on {resource}"


def iam_violations(template: dict) -> list[str]:
    """Every break of the IAM rules (module docstring) in every variant of `template`."""
    policies = _service_authorization()
    found = []
    for label, _, conditions in variants(template):
        for role, source, st in policy_statements(template, conditions):
            for problem in statement_violations(role, st, conditions, policies):
                found.append(f"[{label}] {source} {st.get('Sid')}: {problem}")
    return found


# --- The tests ----------------------------------------------------------------------------


VARIABLE = re.compile(r"#\{([A-Za-z0-9@_-]+)\.([A-Za-z0-9@_-]+)\}")


def strings_in(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings_in(v)


class TemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = load_template()
        cls.resources = cls.template["Resources"]
        cls.binaries = workspace_binaries()
        cls.variants = list(variants(cls.template))

    def pipeline(self, conditions):
        return select(self.resources["Pipeline"]["Properties"], conditions)

    def function_of(self, action) -> tuple[str, dict]:
        ref = action["Configuration"]["FunctionName"]
        self.assertIsInstance(ref, dict, "FunctionName must !Ref a function of this template")
        name = ref["Ref"]
        self.assertIn(name, self.resources, f"FunctionName names {name}, not in the template")
        return name, self.resources[name]

    # -- shape of the pipeline

    def test_pipeline_stages_in_order(self):
        for label, _, conditions in self.variants:
            with self.subTest(label):
                p = self.pipeline(conditions)
                self.assertEqual(p["PipelineType"], "V2")
                self.assertEqual(p["Name"], {"Fn::Sub": "${AWS::StackName}-pipeline"})
                stages = [(s["Name"], [a["Name"] for a in s["Actions"]]) for s in p["Stages"]]
                expected = [
                    ("Source", ["Source"]),
                    ("Build", ["Build"]),
                    ("Train", ["StartTraining"]),
                    ("Tune", ["TrainAndTune"]),
                    ("Evaluate", ["Evaluate"]),
                    ("DeployStaging", ["DeployStaging"]),
                ]
                # A person tries the staging endpoint, then approves the run for production.
                if conditions["ManualApprovalEnabled"]:
                    expected.append(("Approval", ["ApproveModel"]))
                expected.append(("DeployProduction", ["DeployProduction"]))
                self.assertEqual(stages, expected)
                kinds = [a["ActionTypeId"]["Provider"] for s in p["Stages"] for a in s["Actions"]]
                self.assertEqual(
                    kinds[:5], ["CodeStarSourceConnection", "CodeBuild", "Lambda", "Lambda", "Lambda"]
                )

    def test_push_trigger_on_the_branch(self):
        p = self.pipeline({k: False for k in self.template["Conditions"]})
        (trigger,) = p["Triggers"]
        self.assertEqual(trigger["ProviderType"], "CodeStarSourceConnection")
        self.assertEqual(trigger["GitConfiguration"]["SourceActionName"], "Source")
        (push,) = trigger["GitConfiguration"]["Push"]
        self.assertEqual(push["Branches"]["Includes"], [{"Ref": "GitHubBranch"}])
        source = p["Stages"][0]["Actions"][0]["Configuration"]
        self.assertEqual(source["BranchName"], {"Ref": "GitHubBranch"})
        self.assertEqual(source["OutputArtifactFormat"], "CODE_ZIP")

    def test_notify_rule_names_the_pipeline(self):
        pattern = self.resources["NotifyRule"]["Properties"]["EventPattern"]
        self.assertEqual(pattern["detail"]["pipeline"], [self.resources["Pipeline"]["Properties"]["Name"]])

    def test_lambda_actions_name_workspace_binaries(self):
        for label, _, conditions in self.variants:
            for stage in self.pipeline(conditions)["Stages"]:
                for action in stage["Actions"]:
                    if action["ActionTypeId"]["Provider"] != "Lambda":
                        continue
                    with self.subTest(label, action=action["Name"]):
                        name, fn = self.function_of(action)
                        self.assertEqual(fn["Type"], "AWS::Serverless::Function")
                        self.assertEqual(fn["Metadata"]["BuildMethod"], "rust-cargolambda")
                        binary = fn["Metadata"]["BuildProperties"]["Binary"]
                        self.assertIn(binary, self.binaries, f"{name}: no workspace binary {binary}")
                        props = fn["Properties"]
                        self.assertEqual(props["Runtime"], "provided.al2023")
                        self.assertEqual(props["Architectures"], ["arm64"])
                        self.assertEqual(props["CodeUri"], ".")
                        # CodePipeline retries by itself: a Lambda retry would race the job.
                        self.assertEqual(props["EventInvokeConfig"]["MaximumRetryAttempts"], 0)
                        log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
                        self.assertEqual(self.resources[log_group]["Type"], "AWS::Logs::LogGroup")
                        self.assertIn("RetentionInDays", self.resources[log_group]["Properties"])
                        # They read configuration/*.json from the model repository.
                        source_artifact = self.pipeline(conditions)["Stages"][0]["Actions"][0][
                            "OutputArtifacts"
                        ]
                        self.assertEqual(action["InputArtifacts"], source_artifact)

    def test_every_function_is_a_workspace_binary(self):
        for name, res in self.resources.items():
            if res["Type"] == "AWS::Serverless::Function":
                with self.subTest(name):
                    binary = res["Metadata"]["BuildProperties"]["Binary"]
                    self.assertIn(binary, self.binaries)

    # -- UserParameters

    def lambda_actions(self):
        """(label, values, conditions, action, binary, CloudFormation-resolved UserParameters) for
        every Lambda action of every variant."""
        for label, params, conditions in self.variants:
            values = Values(self.template, params)
            for stage in self.pipeline(conditions)["Stages"]:
                for action in stage["Actions"]:
                    if action["ActionTypeId"]["Provider"] == "Lambda":
                        _, fn = self.function_of(action)
                        binary = fn["Metadata"]["BuildProperties"]["Binary"]
                        self.assertIn(binary, self.binaries, f"no workspace binary {binary}")
                        text = values.evaluate(action["Configuration"]["UserParameters"])
                        yield label, values, conditions, action, binary, text

    def user_parameters(self):
        """(label, action name, binary, CloudFormation-resolved UserParameters) for every variant."""
        for label, _, _, action, binary, text in self.lambda_actions():
            yield label, action["Name"], binary, text

    def test_user_parameters_fit(self):
        for label, action, _, text in self.user_parameters():
            with self.subTest(label, action=action):
                self.assertLessEqual(
                    len(text),
                    USER_PARAMETERS_MAX,
                    f"{action}: UserParameters is {len(text)} characters with the longest values",
                )

    def test_user_parameters_fit_with_variables_resolved(self):
        """CodePipeline resolves the #{...} variables before the function reads them: with
        every variable at its longest (the build's within BUILD_VARIABLES_BUDGET) and every
        parameter at its longest, the resolved text fits; each variable is a whole JSON string
        (so that the functions' checks of what it may hold keep it one)."""
        checked = set()
        for label, values, _, action, _, text in self.lambda_actions():
            name = action["Name"]
            longest = longest_variable_values(values, values.params)
            for m in VARIABLE.finditer(text):
                self.assertIn(m.groups(), longest, f"{name}: no longest value of {m.group(0)}")
                quoted = text[m.start() - 1 : m.end() + 1]
                self.assertEqual(quoted, f'"{m.group(0)}"', f"{name}: {m.group(0)} is not a whole JSON string")
            with self.subTest(label, action=name):
                resolved = VARIABLE.sub(lambda m: longest[m.groups()], text)
                self.assertLessEqual(
                    len(resolved),
                    USER_PARAMETERS_MAX,
                    f"{name}: {len(resolved)} characters with the variables resolved",
                )
                self.assertIsInstance(json.loads(resolved), dict)
                checked.add(name)
        self.assertEqual(
            {"StartTraining", "TrainAndTune", "Evaluate", "DeployStaging", "DeployProduction"}, checked
        )

    def test_stack_settings_fit_the_function_environment(self):
        """Each function's environment (PIPELINE_SETTINGS included) with every parameter at
        its longest is within Lambda's 4 KB, so a value too long fails the deploy, not a run."""
        for label, params, conditions in self.variants:
            values = Values(self.template, params)
            for name, r in self.resources.items():
                if r["Type"] != "AWS::Serverless::Function":
                    continue
                variables = select(r["Properties"].get("Environment", {}).get("Variables", {}), conditions)
                size = sum(len(k) + len(values.evaluate(v)) for k, v in variables.items())
                with self.subTest(label, function=name):
                    self.assertLessEqual(size, LAMBDA_ENVIRONMENT_MAX)

    def stack_settings(self, values: "Values", conditions: dict, action: dict) -> dict:
        """The function's PIPELINE_SETTINGS as CloudFormation resolves it ({} without one)."""
        _, fn = self.function_of(action)
        raw = fn["Properties"].get("Environment", {}).get("Variables", {}).get("PIPELINE_SETTINGS")
        if raw is None:
            return {}
        return json.loads(values.evaluate(select(raw, conditions)), object_pairs_hook=unique_keys)

    def settings(self, values: "Values", conditions: dict, action: dict, text: str) -> dict:
        """The settings the function reads for `action`: its stack settings and the action's
        UserParameters `text` (variables resolved), which may not repeat a key."""
        resolved = VARIABLE.sub(lambda m: f"{m.group(1)}-{m.group(2)}-value", text)
        try:
            own = json.loads(resolved, object_pairs_hook=unique_keys)
        except (json.JSONDecodeError, ValueError) as e:
            self.fail(f"{action['Name']}: UserParameters is not JSON without repeated keys ({e}): {resolved}")
        self.assertIsInstance(own, dict)
        stack = self.stack_settings(values, conditions, action)
        both = set(own) & set(stack)
        self.assertFalse(both, f"{action['Name']}: {both} in both UserParameters and PIPELINE_SETTINGS")
        return {**stack, **own}

    def lambda_settings(self):
        """(label, action name, binary, merged settings) for every Lambda action of every variant."""
        for label, values, conditions, action, binary, text in self.lambda_actions():
            yield label, action["Name"], binary, self.settings(values, conditions, action, text)

    def test_user_parameters_match_the_settings(self):
        seen = set()
        for label, action, binary, parameters in self.lambda_settings():
            with self.subTest(label, action=action):
                source = settings_source(self.binaries[binary])
                fields = settings_fields(source)
                unknown = set(parameters) - set(fields)
                self.assertFalse(unknown, f"{action}: keys {unknown} unknown to {source.relative_to(ROOT)}")
                missing = {k for k, f in fields.items() if f.required} - set(parameters)
                self.assertFalse(missing, f"{action}: required keys {missing} missing")
                for key, value in parameters.items():
                    self.assertTrue(
                        fields[key].accepts(value),
                        f"{action}: {key} = {value!r} is not a {fields[key].rust_type}",
                    )
                seen.add(binary)
                if "ModelApprovalStatus" in parameters:
                    self.assertIn(parameters["ModelApprovalStatus"], {"Approved", "PendingManualApproval"})
                    manual = "ManualApproval=true" in label
                    self.assertEqual(
                        parameters["ModelApprovalStatus"] == "PendingManualApproval", manual
                    )
        self.assertEqual(seen, {"start-training", "train-and-tune", "evaluate", "deploy"})

    def test_job_prefix_is_the_stack_name(self):
        for label, action, _, parameters in self.lambda_settings():
            with self.subTest(label, action=action):
                self.assertEqual(parameters["JobPrefix"], STACK_NAME)

    def test_switches_reach_the_functions_as_booleans(self):
        """A true/false parameter in a function's settings is passed under its own name as a JSON
        boolean that follows the parameter, into a `bool` of the function's Settings that has a
        default (a pipeline deployed before the setting existed does not pass it)."""
        switches = {
            name
            for name, p in self.template["Parameters"].items()
            if sorted(str(v) for v in p.get("AllowedValues", [])) == ["false", "true"]
        }
        _, params, conditions = self.variants[0]
        seen = set()
        for value in ("true", "false"):
            values = Values(self.template, dict(params, **{s: value for s in switches}))
            for stage in self.pipeline(conditions)["Stages"]:
                for action in stage["Actions"]:
                    if action["ActionTypeId"]["Provider"] != "Lambda":
                        continue
                    text = values.evaluate(action["Configuration"]["UserParameters"])
                    parameters = self.settings(values, conditions, action, text)
                    _, fn = self.function_of(action)
                    binary = fn["Metadata"]["BuildProperties"]["Binary"]
                    fields = settings_fields(settings_source(self.binaries[binary]))
                    for switch in sorted(switches & set(parameters)):
                        with self.subTest(action=action["Name"], switch=switch, value=value):
                            self.assertIs(parameters[switch], value == "true")
                            self.assertEqual(fields[switch].rust_type, "bool")
                            self.assertFalse(fields[switch].required)
                            seen.add((action["Name"], switch))
        self.assertLessEqual(
            {("TrainAndTune", "StopJobsAtWindowEnd"), ("Evaluate", "RequireGate")}, seen
        )

    # -- Deploy

    def alarm_names(self, values: Values) -> list[str]:
        return [
            values.evaluate(r["Properties"]["AlarmName"])
            for r in self.resources.values()
            if r["Type"] == "AWS::CloudWatch::Alarm"
        ]

    def test_deploy_actions(self):
        """Staging, then production, of the package the Evaluate action registered, run as the
        SageMaker execution role; production with the stack's alarms for the rollback, and
        approving the package (ApprovePackage) exactly when a manual approval precedes it."""
        for label, params, conditions in self.variants:
            values = Values(self.template, params)
            stages = self.pipeline(conditions)["Stages"]
            actions = {a["Name"]: a for s in stages for a in s["Actions"]}
            # Production approves a waiting package itself only behind a person's Approval.
            names = [s["Name"] for s in stages]
            behind_approval = "Approval" in names and names.index("Approval") < names.index("DeployProduction")
            self.assertEqual(behind_approval, conditions["ManualApprovalEnabled"])
            for name, stage, alarms, approve in (
                ("DeployStaging", "Staging", None, None),
                ("DeployProduction", "Production", self.alarm_names(values), behind_approval),
            ):
                with self.subTest(label, action=name):
                    action = actions[name]
                    self.assertEqual(self.function_of(action)[0], "DeployFunction")
                    text = values.evaluate(action["Configuration"]["UserParameters"])
                    parameters = self.settings(values, conditions, action, text)
                    self.assertEqual(parameters["Stage"], stage)
                    self.assertEqual(parameters["EndpointName"], f"{STACK_NAME}-{stage.lower()}")
                    self.assertEqual(parameters["ModelPackageArn"], "EvaluateVariables-ModelPackageArn-value")
                    self.assertEqual(parameters["RoleArn"], values.get_att("SageMakerExecutionRole", "Arn"))
                    self.assertEqual(parameters.get("Alarms"), alarms)
                    self.assertEqual(parameters.get("ApprovePackage"), approve)
                    output = self.template["Outputs"][f"{stage}EndpointName"]["Value"]
                    self.assertEqual(values.evaluate(output), parameters["EndpointName"])

    def test_deploy_function(self):
        props = self.resources["DeployFunction"]["Properties"]
        # The smoke test (up to 200 invocations) runs within one invocation.
        self.assertEqual(props["Timeout"], 300)
        self.assertEqual(props["MemorySize"], 256)
        self.assertEqual(props["Role"], {"Fn::GetAtt": ["DeployRole", "Arn"]})
        self.assertEqual(self.resources["DeployFunction"]["Metadata"]["BuildProperties"]["Binary"], "deploy")

    def test_production_alarms(self):
        """Two alarms on the production endpoint's AllTraffic variant, their thresholds the
        stack's parameters, quiet without traffic."""
        values = Values(self.template, longest_parameter_values(self.template))
        alarms = {
            name: r["Properties"] for name, r in self.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"
        }
        expected = {
            "ProductionErrorAlarm": ("production-5xx", "Invocation5XXErrors", "Sum", "ProductionErrorAlarmThreshold"),
            "ProductionLatencyAlarm": (
                "production-latency",
                "ModelLatency",
                "Average",
                "ProductionLatencyAlarmMicroseconds",
            ),
        }
        self.assertEqual(set(alarms), set(expected))
        for name, (suffix, metric, statistic, threshold) in expected.items():
            with self.subTest(name):
                a = alarms[name]
                self.assertEqual(values.evaluate(a["AlarmName"]), f"{STACK_NAME}-{suffix}")
                self.assertEqual((a["Namespace"], a["MetricName"], a["Statistic"]), ("AWS/SageMaker", metric, statistic))
                dimensions = {d["Name"]: values.evaluate(d["Value"]) for d in a["Dimensions"]}
                self.assertEqual(dimensions, {"EndpointName": f"{STACK_NAME}-production", "VariantName": "AllTraffic"})
                self.assertEqual(a["Period"], 60)
                self.assertEqual(a["Threshold"], {"Ref": threshold})
                self.assertEqual(a["TreatMissingData"], "notBreaching")
                self.assertEqual(self.template["Parameters"][threshold]["Type"], "Number")

    def test_approval_custom_data_fits(self):
        """CustomData is an action configuration value (at most 1000 characters, as
        UserParameters) with the variables resolved; it names the package and says that
        approving the run is all there is to do."""
        for label, params, conditions in self.variants:
            if not conditions["ManualApprovalEnabled"]:
                continue
            values = Values(self.template, params)
            longest = longest_variable_values(values, params)
            with self.subTest(label):
                approval = next(s for s in self.pipeline(conditions)["Stages"] if s["Name"] == "Approval")
                text = values.evaluate(approval["Actions"][0]["Configuration"]["CustomData"])
                self.assertIn("#{EvaluateVariables.ModelPackageArn}", text)
                self.assertIn("Approve this run to deploy it", text)
                resolved = VARIABLE.sub(lambda m: longest[m.groups()], text)
                self.assertLessEqual(len(resolved), USER_PARAMETERS_MAX, resolved)

    # -- Variables

    def produced(self, action, conditions) -> set[str]:
        provider = action["ActionTypeId"]["Provider"]
        if provider == "CodeStarSourceConnection":
            return SOURCE_CONNECTION_VARIABLES
        if provider == "CodeBuild":
            exported = CONTRACT_BUILD_VARIABLES
            if SAMPLE_BUILDSPEC.exists():
                spec = yaml.safe_load(SAMPLE_BUILDSPEC.read_text())
                exported = set(spec["env"]["exported-variables"])
                self.assertLessEqual(CONTRACT_BUILD_VARIABLES, exported, "the sample buildspec")
            if conditions["CreateImageRepositoryEnabled"]:
                exported |= IMAGE_BUILD_VARIABLES
            return exported
        if provider == "Lambda":
            _, fn = self.function_of(action)
            return output_variables(self.binaries[fn["Metadata"]["BuildProperties"]["Binary"]])
        return set()

    def test_variables_come_from_earlier_actions(self):
        for label, _, conditions in self.variants:
            available = {"codepipeline": PIPELINE_VARIABLES}
            for stage in self.pipeline(conditions)["Stages"]:
                for action in stage["Actions"]:
                    with self.subTest(label, action=action["Name"]):
                        for text in strings_in(action.get("Configuration", {})):
                            for namespace, variable in VARIABLE.findall(text):
                                self.assertIn(namespace, available, f"#{{{namespace}.{variable}}}")
                                self.assertIn(
                                    variable, available[namespace], f"#{{{namespace}.{variable}}}"
                                )
                # Variables of a stage are visible from the next stage on.
                for action in stage["Actions"]:
                    if "Namespace" in action:
                        self.assertNotIn(action["Namespace"], available)
                        available[action["Namespace"]] = self.produced(action, conditions)

    def test_lambda_outputs_are_used_under_their_names(self):
        # The namespaces the functions' README and events name.
        expected = {
            "StartTraining": "TrainVariables",
            "TrainAndTune": "TuneVariables",
            "Evaluate": "EvaluateVariables",
            "DeployStaging": "StagingVariables",
            "DeployProduction": "ProductionVariables",
            "Source": "SourceVariables",
            "Build": "BuildVariables",
        }
        p = self.pipeline({k: False for k in self.template["Conditions"]})
        names = {a["Name"]: a.get("Namespace") for s in p["Stages"] for a in s["Actions"]}
        self.assertEqual({k: names[k] for k in expected}, expected)

    # -- The build

    def test_build_environment_has_what_the_sample_buildspec_reads(self):
        if not SAMPLE_BUILDSPEC.exists():
            self.skipTest(f"no {SAMPLE_BUILDSPEC.relative_to(ROOT)}")
        buildspec = SAMPLE_BUILDSPEC.read_text()
        spec = yaml.safe_load(buildspec)
        commands = "\n".join(
            c for phase in spec["phases"].values() for c in phase.get("commands", [])
        )
        read = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", commands))
        assigned = set(re.findall(r"(?:^|\s|export\s+)([A-Z][A-Z0-9_]*)=", commands, re.M))
        needed = {v for v in read - assigned if not BUILD_ENVIRONMENT_BUILTINS.match(v)}
        for label, params, conditions in self.variants:
            with self.subTest(label):
                project = select(self.resources["BuildProject"]["Properties"], conditions)
                given = {e["Name"] for e in project["Environment"]["EnvironmentVariables"]}
                build = self.pipeline(conditions)["Stages"][1]["Actions"][0]
                text = Values(self.template, params).evaluate(
                    build["Configuration"]["EnvironmentVariables"]
                )
                action_env = json.loads(VARIABLE.sub("v", text))
                given |= {e["name"] for e in action_env}
                self.assertFalse(needed - given, f"the buildspec reads {needed - given}")
                self.assertEqual(
                    "IMAGE_REPOSITORY_URI" in given, conditions["CreateImageRepositoryEnabled"]
                )

    # -- IAM

    def test_iam_rules(self):
        problems = iam_violations(self.template)
        self.assertFalse(problems, "\n" + "\n".join(problems))

    def test_pass_role_is_only_for_sagemaker_actions(self):
        passers = set()
        for _, _, conditions in self.variants:
            for role, _, st in policy_statements(self.template, conditions):
                if "iam:PassRole" in listed(st["Action"]):
                    passers.add(role)
        self.assertEqual(passers, {"StartTrainingRole", "TrainAndTuneRole", "DeployRole"})

    def test_training_data_grants(self):
        """The data bucket is readable exactly as the parameters say, and only then."""
        for label, params, conditions in self.variants:
            with self.subTest(label):
                values = Values(self.template, params)
                granted = set()
                for role, _, st in policy_statements(self.template, conditions):
                    if not any(p in json.dumps(st) for p in DATA_PARAMETERS):
                        continue
                    self.assertEqual(role, "SageMakerExecutionRole")
                    for action in listed(st["Action"]):
                        for resource in listed(st["Resource"]):
                            granted.add(
                                (
                                    action,
                                    values.evaluate(resource),
                                    json.dumps(values.resolve(st.get("Condition")), sort_keys=True),
                                )
                            )
                bucket = params["TrainingDataBucket"]
                prefix = params["TrainingDataPrefix"]
                key = params["TrainingDataKmsKeyArn"]
                s3 = f"arn:{values.pseudo['AWS::Partition']}:s3:::"
                expected = set()
                if bucket:
                    listing = {"StringLike": {"s3:prefix": prefix + "*"}} if prefix else None
                    expected |= {
                        ("s3:GetObject", f"{s3}{bucket}/{prefix}*", "null"),
                        ("s3:ListBucket", f"{s3}{bucket}", json.dumps(listing, sort_keys=True)),
                    }
                    if key:
                        via_s3 = {"StringEquals": {"kms:ViaService": "s3.ap-southeast-2.amazonaws.com"}}
                        expected.add(("kms:Decrypt", key, json.dumps(via_s3, sort_keys=True)))
                self.assertEqual(granted, expected)

    # -- The console

    def test_every_parameter_has_a_group_and_a_label(self):
        interface = self.template["Metadata"]["AWS::CloudFormation::Interface"]
        grouped = [name for group in interface["ParameterGroups"] for name in group["Parameters"]]
        self.assertEqual(sorted(grouped), sorted(self.template["Parameters"]), "each in one group")
        self.assertEqual(set(interface["ParameterLabels"]), set(self.template["Parameters"]))

    # -- Outputs

    def test_outputs(self):
        outputs = self.template["Outputs"]
        for name in (
            "PipelineConsoleUrl",
            "NotificationTopicArn",
            "ArtifactBucketName",
            "ModelPackageGroupName",
            "ImageRepositoryUri",
            "CodeConnectionHandshake",
        ):
            self.assertIn(name, outputs)
        self.assertEqual(outputs["ImageRepositoryUri"]["Condition"], "CreateImageRepositoryEnabled")
        self.assertEqual(outputs["CodeConnectionHandshake"]["Condition"], "CreateConnection")


def _statement(template: dict, resource: str, sid: str) -> dict:
    res = template["Resources"][resource]
    document = res["Properties"].get("PolicyDocument") or res["Properties"]["Policies"][0]["PolicyDocument"]
    (st,) = [s for s in document["Statement"] if isinstance(s, dict) and s.get("Sid") == sid]
    return st


def _set(resource: str, sid: str, **changes):
    """A breakage: change (or with None, remove) keys of one statement."""

    def mutate(template):
        st = _statement(template, resource, sid)
        for key, value in changes.items():
            if value is None:
                st.pop(key, None)
            else:
                st[key] = value

    return mutate


def _unconditional(role: str, sid: str):
    """A breakage: a statement granted under an !If granted always."""

    def mutate(template):
        statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        for i, st in enumerate(statements):
            if isinstance(st, dict) and "Fn::If" in st and st["Fn::If"][1].get("Sid") == sid:
                statements[i] = st["Fn::If"][1]
                return
        raise AssertionError(f"{role}: no conditional statement {sid}")

    return mutate


def _SAGEMAKER(resource: str) -> dict:  # noqa: N802 (reads as the ARN it builds)
    return {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:" + resource}


def _add_inline(role: str, statement: dict):
    def mutate(template):
        template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(statement)

    return mutate


def _drop_resource_condition(resource: str):
    def mutate(template):
        del template["Resources"][resource]["Condition"]

    return mutate


def _attach(policy: str, role: str):
    def mutate(template):
        template["Resources"][policy]["Properties"]["Roles"] = [{"Ref": role}]

    return mutate


def _add_policy_resource(role: str, statement: dict):
    def mutate(template):
        template["Resources"]["WideningPolicy"] = {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "Widening",
                "Roles": [{"Ref": role}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            },
        }

    return mutate


# Deliberate breakages: each is a widening a later change could make, with the words its
# violation must contain. The IAM rules must catch every one (and the template as it is has
# none: TemplateTest.test_iam_rules).
BREAKAGES = [
    (
        "the training data becomes writable",
        _set("SageMakerTrainingDataPolicy", "TrainingDataRead", Action=["s3:GetObject", "s3:PutObject"]),
        "s3:PutObject: the training data is read-only",
    ),
    (
        "the training data can be deleted",
        _add_inline(
            "SageMakerExecutionRole",
            {
                "Effect": "Allow",
                "Action": "s3:DeleteObject",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${TrainingDataBucket}/${TrainingDataPrefix}*"},
            },
        ),
        "s3:DeleteObject: the training data is read-only",
    ),
    (
        "objects of the whole data bucket despite a prefix",
        _set(
            "SageMakerTrainingDataPolicy",
            "TrainingDataRead",
            Resource={"Fn::Sub": "arn:${AWS::Partition}:s3:::${TrainingDataBucket}/*"},
        ),
        "s3:GetObject on",
    ),
    (
        "listings not held to the prefix",
        _set("SageMakerTrainingDataPolicy", "TrainingDataList", Condition=None),
        "s3:ListBucket on",
    ),
    (
        "the data grant without TrainingDataBucket",
        _drop_resource_condition("SageMakerTrainingDataPolicy"),
        "training data granted without TrainingDataBucket",
    ),
    (
        "the data grant on another role",
        _attach("SageMakerTrainingDataPolicy", "BuildRole"),
        "training data granted to BuildRole",
    ),
    (
        "every action of the data key",
        _set("SageMakerTrainingDataKeyPolicy", "TrainingDataKeyThroughS3", Action="kms:*"),
        "kms:*: a whole service",
    ),
    (
        "the data key outside S3",
        _set("SageMakerTrainingDataKeyPolicy", "TrainingDataKeyThroughS3", Condition=None),
        "only kms:Decrypt on the key, through S3",
    ),
    (
        "the data key granted without TrainingDataKmsKeyArn",
        _drop_resource_condition("SageMakerTrainingDataKeyPolicy"),
        "without TrainingDataBucket and TrainingDataKmsKeyArn",
    ),
    (
        "any bucket for the training jobs",
        _add_inline(
            "SageMakerExecutionRole",
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::*"}},
        ),
        "outside the artifact bucket",
    ),
    (
        "S3 through a policy resource of another role",
        _add_policy_resource("EvaluateRole", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        "s3:*: a whole service",
    ),
    (
        "PassRole to any service",
        _set("StartTrainingRole", "PassTheSageMakerExecutionRole", Condition=None),
        "iam:PassRole without iam:PassedToService",
    ),
    (
        "a managed policy",
        lambda template: template["Resources"]["NotifyRole"]["Properties"].__setitem__(
            "ManagedPolicyArns", ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
        ),
        "managed policies",
    ),
    # The Deploy role.
    (
        "the smoke test on the production endpoint",
        _set("DeployRole", "SmokeTestTheStagingEndpoint", Resource=_SAGEMAKER("endpoint/${AWS::StackName}-production")),
        "sagemaker:InvokeEndpoint on the production endpoint",
    ),
    (
        "the production endpoint deletable",
        _set(
            "DeployRole",
            "DeleteTheStagingEndpoint",
            Resource=[
                _SAGEMAKER("endpoint/${AWS::StackName}-staging"),
                _SAGEMAKER("endpoint/${AWS::StackName}-production"),
            ],
        ),
        "sagemaker:DeleteEndpoint on the production endpoint",
    ),
    (
        "UpdateEndpoint on every endpoint",
        _set("DeployRole", "EndpointsOfThisStack", Resource=_SAGEMAKER("endpoint/*")),
        "sagemaker:UpdateEndpoint on",
    ),
    (
        "endpoints by prefix instead of their names",
        _set("DeployRole", "EndpointsOfThisStack", Resource=_SAGEMAKER("endpoint/${AWS::StackName}-*")),
        "not this stack's names",
    ),
    (
        "InvokeEndpoint on any endpoint",
        _set("DeployRole", "SmokeTestTheStagingEndpoint", Resource="*"),
        'sagemaker:InvokeEndpoint supports resource-level permissions: not "*"',
    ),
    (
        "every model",
        _set("DeployRole", "ModelsOfThisStack", Resource=_SAGEMAKER("model/*")),
        "sagemaker:CreateModel on",
    ),
    (
        "endpoint configs of another stack",
        _set("DeployRole", "EndpointConfigsOfThisStack", Resource=_SAGEMAKER("endpoint-config/*")),
        "sagemaker:DeleteEndpointConfig on",
    ),
    (
        "PassRole from Deploy to any service",
        _set("DeployRole", "PassTheSageMakerExecutionRole", Condition=None),
        "iam:PassRole without iam:PassedToService",
    ),
    (
        "PassRole of another role",
        _set("DeployRole", "PassTheSageMakerExecutionRole", Resource={"Fn::GetAtt": ["DeployRole", "Arn"]}),
        "iam:PassRole of",
    ),
    (
        "another SageMaker list on *",
        _set("DeployRole", "ListEndpointConfigs", Action=["sagemaker:ListEndpointConfigs", "sagemaker:ListEndpoints"]),
        "sagemaker:ListEndpoints on *: not a reviewed SageMaker exception",
    ),
    (
        "the rollback alarms silenced",
        _set("DeployRole", "ReadTheRollbackAlarms", Action=["cloudwatch:DescribeAlarms", "cloudwatch:DisableAlarmActions"]),
        "cloudwatch:DisableAlarmActions on the stack's alarms",
    ),
    (
        "every alarm of the account",
        _set(
            "DeployRole",
            "ReadTheRollbackAlarms",
            Resource={"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"},
        ),
        "not this stack's alarms",
    ),
    (
        "an endpoint for another role",
        _add_inline(
            "EvaluateRole",
            {
                "Sid": "Endpoints",
                "Effect": "Allow",
                "Action": "sagemaker:DescribeEndpoint",
                "Resource": _SAGEMAKER("endpoint/${AWS::StackName}-production"),
            },
        ),
        "hosting permissions granted to EvaluateRole",
    ),
    (
        "packages approved without a manual approval",
        _unconditional("DeployRole", "ApproveModelPackagesOfThisStack"),
        "sagemaker:UpdateModelPackage granted to DeployRole with ManualApproval=false",
    ),
    (
        "packages approved by another role",
        _add_inline(
            "EvaluateRole",
            {
                "Sid": "Approve",
                "Effect": "Allow",
                "Action": "sagemaker:UpdateModelPackage",
                "Resource": _SAGEMAKER("model-package/${AWS::StackName}-*"),
            },
        ),
        "sagemaker:UpdateModelPackage granted to EvaluateRole",
    ),
    (
        "training code may write anywhere in the artifact bucket",
        _set("SageMakerExecutionRole", "WriteTrainingOutputs", Resource={"Fn::Sub": "${ArtifactBucket.Arn}/*"}),
        "SageMakerExecutionRole may write only models/*",
    ),
    (
        "training code may overwrite a registered model",
        _set("SageMakerExecutionRole", "WriteTrainingOutputs", Resource={"Fn::Sub": "${ArtifactBucket.Arn}/promoted/*"}),
        "SageMakerExecutionRole may write only models/*",
    ),
    (
        "training code may swap the source that later actions read",
        _add_inline(
            "SageMakerExecutionRole",
            {
                "Sid": "Swap",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": {"Fn::Sub": "${ArtifactBucket.Arn}/${AWS::StackName}*"},
            },
        ),
        "SageMakerExecutionRole may write only models/*",
    ),
    (
        "the buildspec may suppress the email",
        _add_inline(
            "BuildRole",
            {
                "Sid": "Markers",
                "Effect": "Allow",
                "Action": "s3:DeleteObject",
                "Resource": {"Fn::Sub": "${ArtifactBucket.Arn}/notifications/*"},
            },
        ),
        "BuildRole may write only data/*, source/*",
    ),
    (
        "Evaluate may rewrite what it judges",
        _set("EvaluateRole", "ReadTrainedModels", Action="s3:PutObject"),
        "EvaluateRole may write only promoted/*",
    ),
    (
        "the Evaluate role may approve what it registered",
        _set(
            "EvaluateRole",
            "RejectModelPackagesOfThisStack",
            Condition={"StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"}},
        ),
        "sagemaker:UpdateModelPackage granted to EvaluateRole",
    ),
    (
        "a statement without a Sid",
        _set("DeployRole", "ListEndpointConfigs", Sid=None),
        "a statement without a Sid",
    ),
    (
        "the pipeline invokes any function",
        _set(
            "PipelineRole",
            "InvokeTheActions",
            Resource={"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"},
        ),
        "not a pipeline function",
    ),
]


class IamBreakageTest(unittest.TestCase):
    """The IAM rules on deliberately widened copies of template.yaml: each must fail."""

    @classmethod
    def setUpClass(cls):
        cls.template = load_template()

    def test_every_breakage_is_caught(self):
        for name, mutate, expected in BREAKAGES:
            with self.subTest(name):
                broken = copy.deepcopy(self.template)
                mutate(broken)
                problems = iam_violations(broken)
                self.assertTrue(
                    any(expected in p for p in problems),
                    f"{name}: no violation says {expected!r}; found: {problems[:3]}",
                )


class ReadersTest(unittest.TestCase):
    """The readers above, on small inputs, so that a failure above is the template's."""

    def test_settings_fields_follow_serde(self):
        fields = settings_fields(ROOT / "functions" / "model-repo" / "src" / "settings.rs")
        self.assertIn("VolumeSizeInGB", fields)  # #[serde(rename = ...)]
        self.assertIn("ExecutionId", fields)
        self.assertTrue(fields["ExecutionId"].required)
        self.assertFalse(fields["Repository"].required)  # Option
        self.assertFalse(fields["InstanceType"].required)  # default
        self.assertTrue(fields["StopJobsAtWindowEnd"].accepts(True))
        self.assertFalse(fields["InstanceCount"].accepts("1"))

    def test_settings_fields_read_enums_and_lists(self):
        import tempfile

        source = """
/// doc
#[derive(Debug, Deserialize)]
pub enum Stage {
    /// first
    Staging,
    #[serde(rename = "Prod")]
    Production,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Settings {
    pub stage: Stage,
    #[serde(default)]
    pub alarms: Vec<String>,
}
"""
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "settings.rs"
            path.write_text(source)
            fields = settings_fields(path)
        self.assertTrue(fields["Stage"].required)
        self.assertTrue(fields["Stage"].accepts("Staging"))
        self.assertTrue(fields["Stage"].accepts("Prod"))
        self.assertFalse(fields["Stage"].accepts("Production"))
        self.assertFalse(fields["Stage"].accepts("staging"))
        self.assertFalse(fields["Alarms"].required)
        self.assertTrue(fields["Alarms"].accepts(["a", "b"]))
        self.assertFalse(fields["Alarms"].accepts("a"))
        self.assertFalse(fields["Alarms"].accepts([1]))

    def test_loader_keeps_tags(self):
        node = yaml.load("a: !Sub x-${AWS::StackName}\nb: !GetAtt R.Arn\nc: !Ref P\n", Loader=CfnLoader)
        self.assertEqual(
            node,
            {"a": {"Fn::Sub": "x-${AWS::StackName}"}, "b": {"Fn::GetAtt": ["R", "Arn"]}, "c": {"Ref": "P"}},
        )

    def test_output_variables_are_read(self):
        crate = workspace_binaries()["start-training"]
        self.assertEqual(output_variables(crate), {"TrainingJobName", "TrainingJobArn", "CommitId"})


if __name__ == "__main__":
    unittest.main()
