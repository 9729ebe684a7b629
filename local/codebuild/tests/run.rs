//! Builds in a real shell: state across commands and phases, failures as CodeBuild documents
//! them, exported variables, the environment, timeouts and cleanup.

mod common;

use std::time::Duration;

use common::{TempDir, pid_is_gone, position, read_pid, request, run, wait_gone};
use local_codebuild::{BuildError, BuildStatus, Phase, PhaseStatus};

fn phase_names(outcome: &local_codebuild::BuildOutcome) -> Vec<&'static str> {
    outcome.phases.iter().map(|p| p.phase.name()).collect()
}

#[tokio::test]
async fn export_cd_and_shell_variables_carry_across_commands_and_phases() {
    let dir = TempDir::new("carry");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let (outcome, lines) = run(request(
        dir.path(),
        r#"version: 0.2
env:
  shell: bash
  exported-variables: [EXPORTED, PLAIN, WHERE, FROM_INSTALL]
phases:
  install:
    commands:
      - export FROM_INSTALL=installed
  pre_build:
    commands:
      - export EXPORTED=exported
      - PLAIN=plain
      - cd sub
  build:
    commands:
      - test "$EXPORTED" = exported
      - test "$PLAIN" = plain
      - WHERE="$(pwd)"
      - echo "in $(basename "$WHERE")"
      - printf 'a partial line'
"#,
    ))
    .await;
    assert_eq!(outcome.status, BuildStatus::Succeeded, "{lines:#?}");
    let sub = std::fs::canonicalize(dir.path().join("sub")).expect("canonical");
    assert_eq!(outcome.exported["EXPORTED"], "exported");
    assert_eq!(outcome.exported["PLAIN"], "plain");
    assert_eq!(outcome.exported["FROM_INSTALL"], "installed");
    assert_eq!(outcome.exported["WHERE"], sub.to_string_lossy());
    assert_eq!(
        phase_names(&outcome),
        vec!["INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"]
    );
    assert!(
        outcome
            .phases
            .iter()
            .all(|p| p.status == PhaseStatus::Succeeded && p.context.is_empty())
    );
    // Output comes live, between its command and the end of its phase.
    let running = position(&lines, "Running command echo \"in $(basename \"$WHERE\")\"");
    let output = lines
        .iter()
        .position(|l| l == "in sub")
        .expect("output line");
    let partial = lines
        .iter()
        .position(|l| l == "a partial line")
        .expect("partial line");
    let complete = position(&lines, "Phase complete: BUILD State: SUCCEEDED");
    assert!(
        running < output && output < partial && partial < complete,
        "{lines:#?}"
    );
    assert!(
        lines[running].starts_with("[Container] 20"),
        "{}",
        lines[running]
    );
    assert!(outcome.build_id.starts_with("test-project:"));
}

#[tokio::test]
async fn a_failing_command_stops_its_phase_and_is_reported() {
    let dir = TempDir::new("fail");
    let (outcome, lines) = run(request(
        dir.path(),
        r#"version: 0.2
phases:
  pre_build:
    commands:
      - echo before > before.txt
  build:
    commands:
      - echo to stderr >&2
      - sh -c 'exit 3'
      - echo never > never.txt
"#,
    ))
    .await;
    assert_eq!(
        outcome.status,
        BuildStatus::Failed {
            phase: "BUILD".into(),
            command: "sh -c 'exit 3'".into(),
            exit_code: Some(3),
        }
    );
    assert!(dir.path().join("before.txt").exists());
    assert!(!dir.path().join("never.txt").exists(), "the phase went on");
    let build = &outcome.phases[2];
    assert_eq!(build.phase, Phase::Build);
    assert_eq!(
        build.status,
        PhaseStatus::Failed {
            command: "sh -c 'exit 3'".into(),
            exit_code: Some(3)
        }
    );
    assert_eq!(
        build.context,
        "COMMAND_EXECUTION_ERROR: Error while executing command: sh -c 'exit 3'. Reason: exit status 3"
    );
    assert!(
        lines.iter().any(|l| l == "to stderr"),
        "stderr is in the log"
    );
    position(
        &lines,
        "Command did not exit successfully sh -c 'exit 3' exit status 3",
    );
    position(&lines, "Phase complete: BUILD State: FAILED");
    assert!(outcome.log_tail.len() <= local_codebuild::LOG_TAIL_LINES);
    assert!(
        outcome
            .log_tail
            .iter()
            .any(|l| l.contains("Phase complete: BUILD State: FAILED"))
    );
    assert_eq!(
        outcome.status.to_string(),
        "FAILED in phase BUILD: command `sh -c 'exit 3'` exited with status 3"
    );
}

#[tokio::test]
async fn post_build_runs_after_a_failed_build_with_build_succeeding_0() {
    let dir = TempDir::new("post");
    let (outcome, lines) = run(request(
        dir.path(),
        r#"version: 0.2
env:
  exported-variables: [DURING_BUILD, IN_POST_BUILD]
phases:
  build:
    commands:
      - DURING_BUILD=$CODEBUILD_BUILD_SUCCEEDING
      - false
  post_build:
    commands:
      - IN_POST_BUILD=$CODEBUILD_BUILD_SUCCEEDING
"#,
    ))
    .await;
    assert_eq!(
        outcome.status,
        BuildStatus::Failed {
            phase: "BUILD".into(),
            command: "false".into(),
            exit_code: Some(1)
        },
        "{lines:#?}"
    );
    assert_eq!(
        phase_names(&outcome),
        vec!["INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"]
    );
    assert_eq!(outcome.phases[3].status, PhaseStatus::Succeeded);
    assert_eq!(outcome.exported["DURING_BUILD"], "1");
    assert_eq!(outcome.exported["IN_POST_BUILD"], "0");
}

#[tokio::test]
async fn no_phase_runs_after_a_failed_install_or_pre_build() {
    let dir = TempDir::new("prebuild");
    let (outcome, lines) = run(request(
        dir.path(),
        r#"version: 0.2
phases:
  pre_build:
    commands:
      - exit 5
  build:
    commands:
      - touch build-ran
  post_build:
    commands:
      - touch post-build-ran
"#,
    ))
    .await;
    assert_eq!(
        outcome.status,
        BuildStatus::Failed {
            phase: "PRE_BUILD".into(),
            command: "exit 5".into(),
            exit_code: Some(5)
        }
    );
    assert_eq!(phase_names(&outcome), vec!["INSTALL", "PRE_BUILD"]);
    assert!(!dir.path().join("build-ran").exists());
    assert!(!dir.path().join("post-build-ran").exists());
    position(
        &lines,
        "The command ended the build's shell (exit status 5)",
    );

    let (outcome, _) = run(request(
        dir.path(),
        "version: 0.2\nphases:\n  install:\n    commands: [false]\n  build:\n    commands: [touch build-ran]\n",
    ))
    .await;
    assert_eq!(phase_names(&outcome), vec!["INSTALL"]);
    assert!(!dir.path().join("build-ran").exists());
}

#[tokio::test]
async fn finally_runs_after_a_failure_and_its_own_failure_fails_the_phase() {
    let dir = TempDir::new("finally");
    let (outcome, _) = run(request(
        dir.path(),
        r#"version: 0.2
phases:
  pre_build:
    commands:
      - echo one >> order.txt
      - "false"
      - echo skipped >> order.txt
    finally:
      - echo finally-one >> order.txt
      - echo finally-two >> order.txt
"#,
    ))
    .await;
    let order = std::fs::read_to_string(dir.path().join("order.txt")).expect("order");
    assert_eq!(order, "one\nfinally-one\nfinally-two\n");
    assert!(
        matches!(&outcome.status, BuildStatus::Failed { phase, command, .. } if phase == "PRE_BUILD" && command == "false")
    );

    let (outcome, _) = run(request(
        dir.path(),
        r#"version: 0.2
phases:
  build:
    commands:
      - echo fine
    finally:
      - test -e no-such-file
      - echo after-failed-finally >> order.txt
"#,
    ))
    .await;
    assert_eq!(
        outcome.status,
        BuildStatus::Failed {
            phase: "BUILD".into(),
            command: "test -e no-such-file".into(),
            exit_code: Some(1)
        }
    );
    let order = std::fs::read_to_string(dir.path().join("order.txt")).expect("order");
    assert!(!order.contains("after-failed-finally"));
    // BUILD failed: POST_BUILD still runs.
    assert_eq!(phase_names(&outcome).last(), Some(&"POST_BUILD"));
}

#[tokio::test]
async fn on_failure_continue_runs_the_next_phase_and_abort_stops() {
    let dir = TempDir::new("onfailure");
    let (outcome, lines) = run(request(
        dir.path(),
        r#"version: 0.2
phases:
  pre_build:
    on-failure: CONTINUE
    commands:
      - "false"
  build:
    on-failure: ABORT
    commands:
      - touch build-ran
      - "false"
  post_build:
    commands:
      - touch post-build-ran
"#,
    ))
    .await;
    // The first failure is the build's; CONTINUE does not make it succeed.
    assert_eq!(
        outcome.status,
        BuildStatus::Failed {
            phase: "PRE_BUILD".into(),
            command: "false".into(),
            exit_code: Some(1)
        },
        "{lines:#?}"
    );
    assert!(dir.path().join("build-ran").exists(), "CONTINUE ran BUILD");
    assert!(
        !dir.path().join("post-build-ran").exists(),
        "ABORT stopped before POST_BUILD"
    );
    assert_eq!(phase_names(&outcome), vec!["INSTALL", "PRE_BUILD", "BUILD"]);
    assert!(matches!(
        outcome.phases[2].status,
        PhaseStatus::Failed { .. }
    ));
}

#[tokio::test]
async fn exported_variables_are_collected_and_one_never_set_is_left_out() {
    let dir = TempDir::new("exported");
    let (outcome, _) = run(request(
        dir.path(),
        r#"version: 0.2
env:
  variables:
    FROM_BUILDSPEC: buildspec
    OVERRIDDEN: buildspec
  exported-variables:
    - SOURCE_DIR_URI
    - NEVER_SET
    - FROM_BUILDSPEC
    - OVERRIDDEN
    - MULTI_LINE
    - CODEBUILD_BUILD_ID
phases:
  build:
    commands:
      - export SOURCE_DIR_URI="s3://bucket/source/$CODEBUILD_RESOLVED_SOURCE_VERSION/sourcedir.tar.gz"
  post_build:
    commands:
      - SOURCE_DIR_URI="$SOURCE_DIR_URI"
      - "MULTI_LINE=\"one\ntwo 'quoted' \\$x\""
"#,
    ))
    .await;
    assert_eq!(outcome.status, BuildStatus::Succeeded);
    assert_eq!(
        outcome.exported["SOURCE_DIR_URI"],
        "s3://bucket/source/0123456789abcdef0123456789abcdef01234567/sourcedir.tar.gz"
    );
    assert!(!outcome.exported.contains_key("NEVER_SET"));
    assert_eq!(outcome.exported["FROM_BUILDSPEC"], "buildspec");
    assert_eq!(outcome.exported["MULTI_LINE"], "one\ntwo 'quoted' $x");
    assert_eq!(outcome.exported["CODEBUILD_BUILD_ID"], outcome.build_id);

    // The request's (project and action) variables override the buildspec's.
    let mut with_env = request(
        dir.path(),
        "version: 0.2\nenv:\n  variables:\n    OVERRIDDEN: buildspec\n  exported-variables: [OVERRIDDEN, NEVER_SET]\nphases:\n  build:\n    commands: [echo]\n",
    );
    with_env.environment = vec![("OVERRIDDEN".into(), "project".into())];
    let (outcome, lines) = run(with_env).await;
    assert_eq!(outcome.exported["OVERRIDDEN"], "project");
    position(&lines, "Exported variable NEVER_SET was never set");
}

#[tokio::test]
async fn codebuild_variables_are_set() {
    let dir = TempDir::new("vars");
    let (outcome, lines) = run(request(
        dir.path(),
        r#"version: 0.2
env:
  exported-variables:
    - CODEBUILD_SRC_DIR
    - CODEBUILD_BUILD_ID
    - CODEBUILD_BUILD_ARN
    - CODEBUILD_BUILD_NUMBER
    - CODEBUILD_RESOLVED_SOURCE_VERSION
    - CODEBUILD_SOURCE_VERSION
    - CODEBUILD_INITIATOR
    - CODEBUILD_START_TIME
    - CODEBUILD_BUILD_SUCCEEDING
    - CODEBUILD_PROJECT_ARN
    - REGION
    - DEFAULT_REGION
    - STARTED_IN
phases:
  install:
    commands:
      - STARTED_IN=$(pwd)
      - REGION=$AWS_REGION
      - DEFAULT_REGION=$AWS_DEFAULT_REGION
"#,
    ))
    .await;
    assert_eq!(outcome.status, BuildStatus::Succeeded, "{lines:#?}");
    let e = &outcome.exported;
    let src = std::fs::canonicalize(dir.path()).expect("canonical");
    assert_eq!(e["CODEBUILD_SRC_DIR"], src.to_string_lossy());
    assert_eq!(e["STARTED_IN"], src.to_string_lossy());
    assert_eq!(e["CODEBUILD_BUILD_ID"], outcome.build_id);
    let uuid = outcome
        .build_id
        .strip_prefix("test-project:")
        .expect("prefix");
    assert_eq!(uuid.len(), 36);
    assert_eq!(
        e["CODEBUILD_BUILD_ARN"],
        format!("arn:aws:codebuild:eu-west-1:123456789012:build/test-project:{uuid}")
    );
    assert!(e["CODEBUILD_BUILD_NUMBER"].parse::<u64>().expect("number") >= 1);
    assert_eq!(
        e["CODEBUILD_RESOLVED_SOURCE_VERSION"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(
        e["CODEBUILD_SOURCE_VERSION"],
        e["CODEBUILD_RESOLVED_SOURCE_VERSION"]
    );
    assert_eq!(e["CODEBUILD_INITIATOR"], "codepipeline/test-pipeline");
    assert!(e["CODEBUILD_START_TIME"].parse::<u128>().expect("ms") > 1_700_000_000_000);
    assert_eq!(e["CODEBUILD_BUILD_SUCCEEDING"], "1");
    assert_eq!(
        e["CODEBUILD_PROJECT_ARN"],
        "arn:aws:codebuild:eu-west-1:123456789012:project/test-project"
    );
    assert_eq!(e["REGION"], "eu-west-1");
    assert_eq!(e["DEFAULT_REGION"], "eu-west-1");
}

#[tokio::test]
async fn the_developers_environment_does_not_leak_into_the_build() {
    // cargo sets these for the test process; the build must not see them.
    assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
    assert!(std::env::var("CARGO_PKG_NAME").is_ok());
    let dir = TempDir::new("leak");
    let mut build = request(
        dir.path(),
        r#"version: 0.2
env:
  variables:
    FROM_BUILDSPEC: "yes"
  exported-variables: [CARGO_MANIFEST_DIR, CARGO_PKG_NAME, PATH, CONFIG_FILE_SEEN]
phases:
  build:
    commands:
      - env > "$CODEBUILD_SRC_DIR/env.txt"
      - CONFIG_FILE_SEEN=$AWS_CONFIG_FILE
"#,
    );
    build.environment = vec![("ARTIFACT_BUCKET".into(), "artifacts".into())];
    build.path_prefix = vec!["/opt/first".into(), "/opt/second".into()];
    let (outcome, lines) = run(build).await;
    assert_eq!(outcome.status, BuildStatus::Succeeded, "{lines:#?}");
    assert!(!outcome.exported.contains_key("CARGO_MANIFEST_DIR"));
    assert!(!outcome.exported.contains_key("CARGO_PKG_NAME"));
    let parent_path = std::env::var("PATH").unwrap_or_default();
    assert_eq!(
        outcome.exported["PATH"],
        format!("/opt/first:/opt/second:{parent_path}")
    );
    // The developer's ~/.aws is not read: the AWS CLI gets empty config files.
    let config = &outcome.exported["CONFIG_FILE_SEEN"];
    assert!(config.ends_with("/aws/config"), "{config}");

    let env = std::fs::read_to_string(dir.path().join("env.txt")).expect("env.txt");
    let allowed_exact = [
        "PATH",
        "HOME",
        "LANG",
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
        "FROM_BUILDSPEC",
        "ARTIFACT_BUCKET",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ];
    for line in env.lines() {
        let Some((name, _)) = line.split_once('=') else {
            continue; // the continuation of a multi-line value
        };
        assert!(
            allowed_exact.contains(&name) || name.starts_with("CODEBUILD_"),
            "{name} leaked into the build:\n{env}"
        );
    }
    assert!(env.contains("ARTIFACT_BUCKET=artifacts"));
    assert!(env.contains("FROM_BUILDSPEC=yes"));
}

#[tokio::test]
async fn the_default_shell_is_bin_sh_and_env_shell_bash_is_bash() {
    let dir = TempDir::new("shell");
    let buildspec = |shell: &str| {
        format!(
            "version: 0.2\nenv:\n{shell}  exported-variables: [EXE]\nphases:\n  build:\n    commands:\n      - EXE=$(readlink -f /proc/$$/exe)\n"
        )
    };
    let (outcome, lines) = run(request(dir.path(), &buildspec(""))).await;
    let sh = std::fs::canonicalize("/bin/sh").expect("/bin/sh");
    assert_eq!(outcome.exported["EXE"], sh.to_string_lossy(), "{lines:#?}");
    position(&lines, "Shell: /bin/sh");

    let (outcome, _) = run(request(dir.path(), &buildspec("  shell: bash\n"))).await;
    assert!(
        outcome.exported["EXE"].ends_with("/bash"),
        "{}",
        outcome.exported["EXE"]
    );
}

#[tokio::test]
async fn a_command_that_ends_the_shell_fails_and_the_next_shell_keeps_exports_and_directory() {
    let dir = TempDir::new("exit");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    for shell in ["", "  shell: bash\n"] {
        let (outcome, lines) = run(request(
            dir.path(),
            &format!(
                r#"version: 0.2
env:
{shell}  exported-variables: [KEPT, WHERE, CHECKED]
phases:
  build:
    commands:
      - export KEPT="$(printf "with 'quotes' and\\na newline")"
      - cd sub
      - echo "${{UNSET_VARIABLE:?is not set}}"
  post_build:
    commands:
      - WHERE=$(basename "$(pwd)")
      - CHECKED=$KEPT
"#
            ),
        ))
        .await;
        let BuildStatus::Failed {
            phase, exit_code, ..
        } = &outcome.status
        else {
            panic!("expected a failure: {lines:#?}");
        };
        assert_eq!(phase, "BUILD");
        assert!(
            matches!(exit_code, Some(code) if *code != 0),
            "{exit_code:?}"
        );
        assert!(lines.iter().any(|l| l.contains("is not set")), "{lines:#?}");
        assert_eq!(
            outcome.exported["CHECKED"], "with 'quotes' and\na newline",
            "{shell}"
        );
        assert_eq!(outcome.exported["WHERE"], "sub", "{shell}");
    }

    // `exit 0` ends the command successfully.
    let (outcome, _) = run(request(
        dir.path(),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 0\n      - touch after-exit-0\n",
    ))
    .await;
    assert_eq!(outcome.status, BuildStatus::Succeeded);
    assert!(dir.path().join("after-exit-0").exists());
}

#[tokio::test]
async fn version_0_1_runs_each_command_in_its_own_shell() {
    let dir = TempDir::new("v01");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let (outcome, lines) = run(request(
        dir.path(),
        r#"version: 0.1
env:
  variables:
    GIVEN: given
  exported-variables: [SET, GIVEN]
phases:
  build:
    commands:
      - cd sub
      - export SET=set
      - touch where-am-i
      - test -z "$SET"
      - exit 3
      - echo still here
"#,
    ))
    .await;
    assert!(dir.path().join("where-am-i").exists(), "cd did not carry");
    assert!(!outcome.exported.contains_key("SET"));
    assert_eq!(outcome.exported["GIVEN"], "given");
    assert!(
        matches!(&outcome.status, BuildStatus::Failed { command, exit_code: Some(3), .. } if command == "exit 3")
    );
    assert!(!lines.iter().any(|l| l.contains("ended the build's shell")));
}

#[tokio::test]
async fn a_timeout_kills_the_command_and_its_children() {
    let dir = TempDir::new("timeout");
    let mut build = request(
        dir.path(),
        r#"version: 0.2
phases:
  install:
    commands:
      - echo installing
  build:
    commands:
      - sleep 1000 & echo $! > child.pid; sh -c 'sleep 1000 & echo $! > grandchild.pid; wait' & wait
"#,
    );
    build.timeout = Duration::from_secs(2);
    let started = std::time::Instant::now();
    let (outcome, lines) = run(build).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        outcome.status,
        BuildStatus::TimedOut {
            phase: "BUILD".into()
        },
        "{lines:#?}"
    );
    assert_eq!(
        outcome.phases.last().map(|p| &p.status),
        Some(&PhaseStatus::TimedOut)
    );
    assert!(outcome.exported.is_empty());
    position(&lines, "Build timed out after 2 seconds");
    for file in ["child.pid", "grandchild.pid"] {
        let pid = read_pid(&dir.path().join(file)).await;
        assert!(
            wait_gone(pid, Duration::from_secs(5)),
            "{file} {pid} is still running"
        );
    }
}

#[tokio::test]
async fn dropping_the_build_kills_its_processes() {
    let dir = TempDir::new("drop");
    let build = request(
        dir.path(),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1000 & echo $! > child.pid; wait\n",
    );
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let pid_file = dir.path().join("child.pid");
    let pid = tokio::select! {
        _ = local_codebuild::run(build, tx) => panic!("the build ended"),
        pid = read_pid(&pid_file) => pid,
    };
    // The select! dropped the build's future.
    assert!(
        wait_gone(pid, Duration::from_secs(5)),
        "{pid} is still running"
    );
}

#[tokio::test]
async fn background_processes_do_not_outlive_the_build() {
    let dir = TempDir::new("background");
    let (outcome, _) = run(request(
        dir.path(),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1000 > /dev/null 2>&1 & echo $! > bg.pid\n      - echo done\n",
    ))
    .await;
    assert_eq!(outcome.status, BuildStatus::Succeeded);
    let pid = read_pid(&dir.path().join("bg.pid")).await;
    assert!(
        wait_gone(pid, Duration::from_secs(5)),
        "{pid} is still running"
    );
    assert!(pid_is_gone(pid));
}

#[tokio::test]
async fn invalid_requests_are_errors() {
    let dir = TempDir::new("invalid");
    let mut build = request(
        dir.path(),
        "version: 0.2\nphases:\n  build:\n    commands: [echo]\n",
    );
    build.environment = vec![("CODEBUILD_BUILD_ID".into(), "mine".into())];
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    match local_codebuild::run(build, tx).await {
        Err(BuildError::InvalidRequest(message)) => {
            assert!(message.contains("CODEBUILD_BUILD_ID"), "{message}")
        }
        other => panic!("expected an invalid request, got {other:?}"),
    }

    let mut build = request(
        dir.path(),
        "version: 0.2\nphases:\n  build:\n    commands: [echo]\n",
    );
    build.source_dir = dir.path().join("missing");
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    assert!(matches!(
        local_codebuild::run(build, tx).await,
        Err(BuildError::Io { .. })
    ));
}

#[tokio::test]
async fn runtime_versions_and_other_sections_are_logged_as_not_emulated() {
    let dir = TempDir::new("notes");
    let (outcome, lines) = run(request(
        dir.path(),
        "version: 0.2\nphases:\n  install:\n    runtime-versions:\n      python: 3.12\nartifacts:\n  files: ['**/*']\n",
    ))
    .await;
    assert_eq!(outcome.status, BuildStatus::Succeeded);
    position(&lines, "Skipping install of runtimes (python: 3.12)");
    position(&lines, "Not emulated locally: artifacts");
}
