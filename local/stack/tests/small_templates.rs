//! The stack's parts and the error messages, on small templates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use local_stack::{Stack, StackError, StackInputs, Template};
use proptest::prelude::*;

fn inputs() -> StackInputs {
    StackInputs {
        stack_name: "demo".into(),
        region: "eu-west-1".into(),
        account_id: "123456789012".into(),
        parameters: BTreeMap::new(),
    }
}

fn resolve(text: &str) -> Result<Stack, StackError> {
    Template::parse(text, Path::new("small.yaml"))?.resolve(&inputs())
}

fn error(text: &str) -> String {
    match resolve(text) {
        Ok(_) => panic!("resolved:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// A pipeline of one Lambda action, with `extra` resources and `config` as its
/// Configuration's extra lines.
fn template(config: &str, extra: &str) -> String {
    format!(
        r#"Transform: AWS::Serverless-2016-10-31
Parameters:
  Env:
    Type: String
    Default: dev
Conditions:
  Never: !Equals [!Ref Env, never]
Globals:
  Function:
    MemorySize: 512
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      ArtifactStore:
        Type: S3
        Location: !Ref Bucket
      Stages:
        - Name: Run
          Actions:
            - Name: Invoke
              ActionTypeId: {{Category: Invoke, Owner: AWS, Provider: Lambda, Version: "1"}}
              RunOrder: 2
              Configuration:
                FunctionName: !Ref Fn
{config}
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: my-bin
    Properties:
      Timeout: 5
{extra}"#
    )
}

#[test]
fn defaults_of_an_action_a_pipeline_and_a_function() {
    let stack = resolve(&template("", "")).unwrap();
    let p = &stack.pipeline;
    assert_eq!(p.name, "demo-Pipeline");
    assert_eq!(p.pipeline_type, "V1");
    assert_eq!(p.execution_mode, "SUPERSEDED");
    assert_eq!(p.artifact_bucket, "demo-bucket");
    let action = &p.stages[0].actions[0];
    assert_eq!(action.run_order, 2);
    assert_eq!(action.namespace, None);
    assert!(action.input_artifacts.is_empty() && action.output_artifacts.is_empty());
    let f = stack
        .function(&action.configuration["FunctionName"])
        .unwrap();
    assert_eq!(f.name, "demo-Fn");
    assert_eq!(f.binary, "my-bin");
    assert_eq!(f.timeout, Duration::from_secs(5));
    // From Globals.
    assert_eq!(f.memory_mb, 512);
    assert_eq!(f.architectures, ["x86_64"]);
    assert_eq!(f.maximum_retry_attempts, None);
    assert!(f.environment.is_empty());
    assert!(stack.build_projects.is_empty() && stack.event_rules.is_empty());
    assert_eq!(stack.parameters["Env"], "dev");
}

#[test]
fn function_lookup_accepts_what_lambda_accepts() {
    let stack = resolve(&template("", "")).unwrap();
    let f = &stack.functions["Fn"];
    for key in [
        "Fn",
        "demo-Fn",
        "arn:aws:lambda:eu-west-1:123456789012:function:demo-Fn",
        "arn:aws:lambda:eu-west-1:123456789012:function:demo-Fn:live",
        "123456789012:function:demo-Fn",
    ] {
        assert_eq!(stack.function(key), Some(f), "{key}");
    }
    assert_eq!(stack.function("demo-Other"), None);
    assert_eq!(stack.build_project("demo-Fn"), None);
}

#[test]
fn an_error_in_user_parameters_names_the_path_and_the_line() {
    let text = template(
        "                UserParameters: !Sub '{\"a\":\"${Nope}\"}'",
        "",
    );
    let e = error(&text);
    assert!(
        e.starts_with(
            "small.yaml:28: Resources.Pipeline.Properties.Stages[0].Actions[0].Configuration.UserParameters: Fn::Sub: ${Nope}"
        ),
        "{e}"
    );
}

#[test]
fn configuration_values_must_be_strings() {
    let e = error(&template("                Items: [a, b]", ""));
    assert!(
        e.contains("Configuration.Items: must be a string, not a list"),
        "{e}"
    );
}

#[test]
fn a_bad_run_order_is_named() {
    let e = error(&template("", "").replace("RunOrder: 2", "RunOrder: first"));
    assert!(
        e.contains("Actions[0].RunOrder") && e.contains("\"first\""),
        "{e}"
    );
}

#[test]
fn a_function_needs_its_binary() {
    let e = error(&template("", "").replace("        Binary: my-bin\n", "        Other: x\n"));
    assert!(
        e.contains("Resources.Fn.Metadata.BuildProperties.Binary"),
        "{e}"
    );
    assert!(e.contains("rust-cargolambda"), "{e}");
}

#[test]
fn the_template_needs_exactly_one_pipeline() {
    let two = template(
        "",
        "  Second:\n    Type: AWS::CodePipeline::Pipeline\n    Properties: {}\n",
    );
    assert!(error(&two).contains("several pipelines (Pipeline, Second)"));
    let none = template("", "").replace(
        "    Type: AWS::CodePipeline::Pipeline\n",
        "    Type: AWS::CodePipeline::Pipeline\n    Condition: Never\n",
    );
    assert!(error(&none).contains("no AWS::CodePipeline::Pipeline"));
}

#[test]
fn what_the_local_run_does_not_need_does_not_break_it() {
    let extra = r#"  Odd:
    Type: AWS::Unknown::Thing
    Properties:
      Anything: !ImportValue other-stack
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies: !Base64 unsupported
  Hidden:
    Type: AWS::Lambda::Function
    Condition: Never
    Properties:
      Timeout: !Ref Missing
"#;
    let stack = resolve(&template("", extra)).unwrap();
    assert_eq!(stack.functions.keys().collect::<Vec<_>>(), ["Fn"]);
    // ...until it is needed.
    let e = error(&template("                Role: !GetAtt Odd.Arn", extra));
    assert!(e.contains("AWS::Unknown::Thing"), "{e}");
    let e = error(&template("                Hidden: !Ref Hidden", extra));
    assert!(e.contains("Never is false"), "{e}");
}

#[test]
fn build_projects_keep_plaintext_variables() {
    let extra = r#"  Project:
    Type: AWS::CodeBuild::Project
    Properties:
      Environment:
        Image: !Sub "img:${Env}"
        EnvironmentVariables:
          - Name: PLAIN
            Value: !Ref Bucket
          - Name: TYPED
            Type: PLAINTEXT
            Value: 42
          - Name: SECRET
            Type: SECRETS_MANAGER
            Value: arn:aws:secretsmanager:x
          - !If [Never, {Name: NEVER, Value: x}, !Ref AWS::NoValue]
"#;
    let stack = resolve(&template("", extra)).unwrap();
    let p = stack.build_project("demo-Project").unwrap();
    assert_eq!(p.image, "img:dev");
    assert_eq!(p.timeout, Duration::from_secs(3600));
    assert_eq!(
        p.environment,
        BTreeMap::from([
            ("PLAIN".to_string(), "demo-bucket".to_string()),
            ("TYPED".to_string(), "42".to_string()),
        ])
    );
    let e = error(&template(
        "",
        &extra.replace("        Image: !Sub \"img:${Env}\"\n", ""),
    ));
    assert!(e.contains("Properties.Environment: has no Image"), "{e}");
}

#[test]
fn event_rules_read_json_patterns_and_function_targets() {
    let extra = r#"  Queue:
    Type: AWS::SQS::Queue
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: '{"source": ["aws.codepipeline"], "detail": {"n": [1]}}'
      Targets:
        - Id: q
          Arn: !GetAtt Queue.Arn
        - Id: f
          Arn: !GetAtt Fn.Arn
  Schedule:
    Type: AWS::Events::Rule
    Properties:
      Name: nightly
      ScheduleExpression: rate(1 day)
  BadRule:
    Type: AWS::Events::Rule
    Condition: Never
    Properties:
      EventPattern: '{not json'
"#;
    let stack = resolve(&template("", extra)).unwrap();
    let rule = &stack.event_rules["Rule"];
    assert_eq!(rule.event_pattern["detail"]["n"][0], 1);
    assert_eq!(rule.target_functions, ["Fn"]);
    assert_eq!(stack.event_rules["Schedule"].name, "nightly");
    assert!(stack.event_rules["Schedule"].event_pattern.is_null());
    let e = error(&template("", &extra.replace("    Condition: Never\n", "")));
    assert!(
        e.contains("Resources.BadRule.Properties.EventPattern: is not valid JSON"),
        "{e}"
    );
}

#[test]
fn yaml_errors_name_file_line_and_column() {
    let e = Template::parse("Resources:\n  A: [1, 2\n", Path::new("bad.yaml")).unwrap_err();
    assert!(matches!(e, StackError::Yaml { .. }), "{e}");
    assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
    let e = Template::parse(
        "Resources:\n  A:\n    Type: X\n  A:\n    Type: Y\n",
        Path::new("dup.yaml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("dup.yaml:4:") && e.contains("\"A\" appears twice"),
        "{e}"
    );
}

fn project_template() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    std::fs::read_to_string(path).unwrap()
}

fn project_inputs() -> StackInputs {
    StackInputs {
        parameters: BTreeMap::from([
            ("NotificationEmail".into(), "a@example.com".into()),
            ("GitHubOwner".into(), "o".into()),
            ("GitHubRepository".into(), "r".into()),
        ]),
        ..inputs()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Any text: an error or a template, never a panic.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        if let Ok(t) = Template::parse(&text, Path::new("x.yaml")) {
            let _ = t.resolve(&inputs());
        }
    }

    /// The real template with a line dropped or a character replaced: resolved or refused,
    /// never a panic, and a refusal names the file.
    #[test]
    fn mutated_project_template_never_panics(
        line in 0usize..1600,
        drop in any::<bool>(),
        at in 0usize..200,
        ch in prop::sample::select(vec!['!', '$', '{', '}', '[', ']', ':', '-', '"', '\'', '&', '*', '#', ' ', '\t', 'x']),
    ) {
        let text = project_template();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let line = line % lines.len();
        if drop {
            lines.remove(line);
        } else {
            let mut chars: Vec<char> = lines[line].chars().collect();
            if !chars.is_empty() {
                let at = at % chars.len();
                chars[at] = ch;
            }
            lines[line] = chars.into_iter().collect();
        }
        let mutated = lines.join("\n");
        let result = Template::parse(&mutated, Path::new("template.yaml"))
            .and_then(|t| t.resolve(&project_inputs()));
        if let Err(e) = result {
            let text = e.to_string();
            prop_assert!(text.contains("template.yaml"), "{}", text);
        }
    }
}
