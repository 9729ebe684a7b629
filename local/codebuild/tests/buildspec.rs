//! buildspec.yml parsing: every key of the reference, and errors with file, line and key.

use std::path::{Path, PathBuf};

use local_codebuild::{Buildspec, BuildspecError, OnFailure, Phase, Shell, Version};
use proptest::prelude::*;

fn parse(text: &str) -> Result<Buildspec, BuildspecError> {
    Buildspec::parse(text, Path::new("repo/buildspec.yml"))
}

/// The error's (line, key, message), and its Display starts with `file:line:column: key:`.
fn error(text: &str) -> (usize, String, String) {
    let error = parse(text).expect_err("the buildspec should be rejected");
    let display = error.to_string();
    match error {
        BuildspecError::Invalid {
            file,
            line,
            column,
            key,
            message,
        } => {
            assert_eq!(file, PathBuf::from("repo/buildspec.yml"));
            let prefix = if key.is_empty() {
                format!("repo/buildspec.yml:{line}:{column}: ")
            } else {
                format!("repo/buildspec.yml:{line}:{column}: {key}: ")
            };
            assert!(
                display.starts_with(&prefix),
                "{display:?} should start with {prefix:?}"
            );
            (line, key, message)
        }
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

const EVERY_KEY: &str = r#"version: 0.2

run-as: builder

env:
  shell: bash
  variables:
    JAVA_HOME: "/usr/lib/jvm/java-8-openjdk-amd64"
    RETRIES: 3
    EMPTY:
  exported-variables:
    - SOURCE_DIR_URI
    - IMAGE_URI
    - SOURCE_DIR_URI
    - AWS_SECRET
  git-credential-helper: yes

proxy:
  upload-artifacts: no
  logs: yes

batch:
  fast-fail: false
  build-list:
    - identifier: one

phases:
  install:
    run-as: installer
    on-failure: ABORT
    runtime-versions:
      python: 3.12
      nodejs: 20
    commands:
      - echo install
    finally:
      - echo install done
  pre_build:
    on-failure: CONTINUE
    commands:
      - echo pre_build
  build:
    commands:
      - 'echo "build: with a colon"'
      - true
      - 42
      - |
        for x in a b; do
          echo $x
        done
    finally:
      - echo build done
  post_build:
    commands:
      - echo post_build

reports:
  unit-tests:
    files:
      - "**/*"
    base-directory: reports
    discard-paths: no
    file-format: JUNITXML

artifacts:
  files:
    - target/app.jar
  name: app-$(date +%Y-%m-%d)
  discard-paths: yes
  base-directory: target
  exclude-paths: tmp/*
  enable-symlinks: no
  s3-prefix: builds
  secondary-artifacts:
    extra:
      files:
        - extra.txt
      name: extra

cache:
  paths:
    - /root/.m2/**/*
"#;

#[test]
fn every_key_of_the_reference_is_accepted() {
    let spec = parse(EVERY_KEY).expect("valid buildspec");
    assert_eq!(spec.version(), Version::V0_2);
    assert_eq!(spec.shell(), Some(Shell::Bash));
    assert_eq!(spec.origin(), Path::new("repo/buildspec.yml"));
    assert_eq!(
        spec.variables(),
        &[
            (
                "JAVA_HOME".to_owned(),
                "/usr/lib/jvm/java-8-openjdk-amd64".to_owned()
            ),
            ("RETRIES".to_owned(), "3".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ]
    );
    // Duplicates once; AWS_ names are not exported (CodeBuild does not export them).
    assert_eq!(spec.exported_variables(), &["SOURCE_DIR_URI", "IMAGE_URI"]);

    let install = spec.phase(Phase::Install).expect("install");
    assert_eq!(install.on_failure, Some(OnFailure::Abort));
    assert_eq!(install.run_as.as_deref(), Some("installer"));
    assert_eq!(
        install.runtime_versions,
        vec![
            ("python".to_owned(), "3.12".to_owned()),
            ("nodejs".to_owned(), "20".to_owned())
        ]
    );
    assert_eq!(install.commands[0].text, "echo install");
    assert_eq!(install.commands[0].line, 35);
    assert_eq!(install.finally[0].text, "echo install done");
    assert_eq!(
        spec.phase(Phase::PreBuild).expect("pre_build").on_failure,
        Some(OnFailure::Continue)
    );

    let build = spec.phase(Phase::Build).expect("build");
    assert_eq!(build.on_failure, None);
    let texts: Vec<&str> = build.commands.iter().map(|c| c.text.as_str()).collect();
    // Scalars keep their text: `true` and `42` are commands, not a boolean and a number.
    assert_eq!(
        texts,
        vec![
            "echo \"build: with a colon\"",
            "true",
            "42",
            "for x in a b; do\n  echo $x\ndone\n"
        ]
    );
    assert_eq!(build.finally.len(), 1);
    assert_eq!(
        spec.phase(Phase::PostBuild).expect("post_build").commands[0].text,
        "echo post_build"
    );

    let notes = spec.notes().join("\n");
    for what in [
        "run-as: builder",
        "env.exported-variables[3]: AWS_SECRET is not exported",
        "env.git-credential-helper",
        "proxy",
        "batch",
        "phases.install.run-as: installer",
        "reports",
        "artifacts",
        "cache",
    ] {
        assert!(notes.contains(what), "notes should mention {what}: {notes}");
    }
}

#[test]
fn the_sample_repository_buildspec_loads() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/model-repo/buildspec.yml");
    let spec = Buildspec::load(&path).expect("the sample's buildspec is valid");
    assert_eq!(spec.version(), Version::V0_2);
    assert_eq!(spec.shell(), None);
    assert_eq!(spec.exported_variables(), &["SOURCE_DIR_URI"]);
    assert_eq!(
        spec.phase(Phase::PreBuild)
            .expect("pre_build")
            .commands
            .len(),
        1
    );
    assert!(spec.phase(Phase::Build).expect("build").commands.len() >= 5);
    assert!(spec.phase(Phase::Install).is_none());
    assert!(spec.notes().is_empty(), "{:?}", spec.notes());
}

#[test]
fn a_quoted_version_and_a_minimal_buildspec() {
    let spec = parse("version: \"0.1\"\nphases:\n  build:\n    commands: []\n").expect("valid");
    assert_eq!(spec.version(), Version::V0_1);
    assert!(spec.phase(Phase::Build).expect("build").commands.is_empty());
    assert!(spec.exported_variables().is_empty());
}

#[test]
fn a_wrong_type_names_line_and_key() {
    let (line, key, message) = error("version: 0.2\nphases:\n  build:\n    commands: make all\n");
    assert_eq!(line, 4);
    assert_eq!(key, "phases.build.commands");
    assert!(message.contains("expected a list of commands"), "{message}");
    assert!(message.contains("`make all`"), "{message}");

    let (line, key, message) = error(
        "version: 0.2\nenv:\n  variables:\n    - A=1\nphases:\n  build:\n    commands: [make]\n",
    );
    assert_eq!((line, key.as_str()), (4, "env.variables"));
    assert!(message.contains("mapping"), "{message}");

    let (line, key, _) =
        error("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a\n      - [nested]\n");
    assert_eq!((line, key.as_str()), (6, "phases.build.commands[1]"));
}

#[test]
fn an_unknown_phase_names_line_key_and_the_phase_meant() {
    let (line, key, message) = error(
        "version: 0.2\nphases:\n  pre_build:\n    commands: [ls]\n  biuld:\n    commands: [make]\n",
    );
    assert_eq!(line, 5);
    assert_eq!(key, "phases.biuld");
    assert!(message.contains("unknown key `biuld`"), "{message}");
    assert!(message.contains("Did you mean `build`?"), "{message}");
    assert!(
        message.contains("install, pre_build, build, post_build"),
        "{message}"
    );
}

#[test]
fn unknown_keys_anywhere_are_errors() {
    let cases = [
        (
            "version: 0.2\nphase:\n  build:\n    commands: [make]\n",
            2,
            "phase",
        ),
        (
            "version: 0.2\nenv:\n  variable:\n    A: b\nphases:\n  build:\n    commands: [make]\n",
            3,
            "env.variable",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    command: [make]\n",
            4,
            "phases.build.command",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    commands: [make]\nartifacts:\n  file: [a]\n",
            6,
            "artifacts.file",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    commands: [make]\ncache:\n  path: [a]\n",
            6,
            "cache.path",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    commands: [make]\nreports:\n  r:\n    files: [a]\n    format: X\n",
            8,
            "reports.r.format",
        ),
    ];
    for (text, want_line, want_key) in cases {
        let (line, key, message) = error(text);
        assert_eq!((line, key.as_str()), (want_line, want_key), "{message}");
        assert!(message.starts_with("unknown key"), "{message}");
    }
    let (_, _, message) = error(
        "version: 0.2\nphases:\n  build:\n    runtime-versions:\n      python: 3\n    commands: [make]\n",
    );
    assert!(
        message.contains("runtime-versions belongs to the install phase"),
        "{message}"
    );
}

#[test]
fn parameter_store_and_secrets_manager_are_not_available_locally() {
    let (line, key, message) = error(
        "version: 0.2\nenv:\n  variables:\n    A: b\n  parameter-store:\n    LOGIN_PASSWORD: /CodeBuild/dockerLoginPassword\nphases:\n  build:\n    commands: [make]\n",
    );
    assert_eq!(line, 5);
    assert_eq!(key, "env.parameter-store");
    assert!(
        message.contains("Parameter Store is not available"),
        "{message}"
    );
    assert!(message.contains("LOGIN_PASSWORD"), "{message}");
    assert!(message.contains("env.variables"), "{message}");

    let (line, key, message) = error(
        "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: prod/token:token\nphases:\n  build:\n    commands: [make]\n",
    );
    assert_eq!((line, key.as_str()), (3, "env.secrets-manager"));
    assert!(
        message.contains("Secrets Manager is not available"),
        "{message}"
    );
}

#[test]
fn values_codebuild_does_not_know_are_errors() {
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "phases:\n  build:\n    commands: [make]\n",
            1,
            "version",
            "missing `version`",
        ),
        (
            "version: 0.3\nphases:\n  build:\n    commands: [make]\n",
            1,
            "version",
            "`0.3` is not a buildspec version",
        ),
        ("version: 0.2\n", 1, "phases", "missing `phases`"),
        (
            "version: 0.2\nenv:\n  shell: zsh\nphases:\n  build:\n    commands: [make]\n",
            3,
            "env.shell",
            "write `bash` or `/bin/sh`",
        ),
        (
            "version: 0.2\nenv:\n  shell: powershell.exe\nphases:\n  build:\n    commands: [make]\n",
            3,
            "env.shell",
            "Windows shell",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n    commands: [make]\n",
            4,
            "phases.build.on-failure",
            "ABORT or CONTINUE",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    finally: [make]\n",
            3,
            "phases.build",
            "no `commands:`",
        ),
        (
            "version: 0.2\nphases:\n  build:\n",
            3,
            "phases.build",
            "is empty",
        ),
        (
            "version: 0.2\nenv:\n  variables:\n    CODEBUILD_X: y\nphases:\n  build:\n    commands: [make]\n",
            4,
            "env.variables.CODEBUILD_X",
            "reserved",
        ),
        (
            "version: 0.2\nenv:\n  exported-variables:\n    - SOURCE-DIR\nphases:\n  build:\n    commands: [make]\n",
            4,
            "env.exported-variables[0]",
            "not a variable name",
        ),
        (
            "version: 0.2\nversion: 0.2\nphases:\n  build:\n    commands: [make]\n",
            2,
            "",
            "duplicated key",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a\n      -\n",
            6,
            "phases.build.commands[1]",
            "empty command",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo key: value\n",
            5,
            "phases.build.commands[0]",
            "must be quoted",
        ),
        (
            "version: 0.2\nenv:\n  git-credential-helper: maybe\nphases:\n  build:\n    commands: [make]\n",
            3,
            "env.git-credential-helper",
            "yes or no",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    commands: !Ref Commands\n",
            4,
            "phases.build.commands",
            "tagged `!Ref`",
        ),
    ];
    for &(text, want_line, want_key, want_message) in cases {
        let (line, key, message) = error(text);
        assert_eq!(
            (line, key.as_str()),
            (want_line, want_key),
            "{text}: {message}"
        );
        assert!(message.contains(want_message), "{text}: {message}");
    }
}

#[test]
fn invalid_yaml_and_odd_files_are_reported_with_a_line() {
    let (line, key, message) = error("version: 0.2\nphases:\n  build:\n    commands: [make\n");
    assert!(line >= 4, "line {line}: {message}");
    assert_eq!(key, "");
    assert!(message.starts_with("invalid YAML"), "{message}");

    let (line, _, message) = error("");
    assert_eq!(line, 1);
    assert!(message.contains("empty"), "{message}");
    let (line, _, message) =
        error("version: 0.2\nphases:\n  build:\n    commands: [a]\n---\nb: c\n");
    assert_eq!(line, 6, "{message}");
    assert!(message.contains("one YAML document"), "{message}");
    let (line, _, message) = error("- version\n- 0.2\n");
    assert_eq!(line, 1);
    assert!(message.contains("mapping"), "{message}");
}

#[test]
fn load_reports_unreadable_files() {
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/no-such-buildspec.yml");
    match Buildspec::load(&missing) {
        Err(BuildspecError::Read { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected a read error, got {other:?}"),
    }

    let dir = std::env::temp_dir().join(format!("codebuild-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let latin1 = dir.join("latin1.yml");
    std::fs::write(&latin1, b"version: 0.2\n# caf\xe9\n").expect("write");
    let error = Buildspec::load(&latin1).expect_err("not UTF-8");
    assert_eq!(error.line(), Some(2), "{error}");
    assert!(error.to_string().contains("UTF-8"), "{error}");

    let huge = dir.join("huge.yml");
    std::fs::write(&huge, vec![b'#'; 2 * 1024 * 1024]).expect("write");
    let error = Buildspec::load(&huge).expect_err("too large");
    assert!(error.to_string().contains("larger than"), "{error}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any text: a buildspec or an error, never a panic.
    #[test]
    fn parse_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    /// The valid buildspec with any single character replaced or removed: still no panic, and
    /// every error points into the text.
    #[test]
    fn mutations_never_panic(at in 0usize..EVERY_KEY.len(), replacement in prop::option::of(any::<char>())) {
        let mut text: String = EVERY_KEY.chars().take(at).collect();
        if let Some(c) = replacement {
            text.push(c);
        }
        text.extend(EVERY_KEY.chars().skip(at + 1));
        if let Err(BuildspecError::Invalid { line, .. }) = parse(&text) {
            prop_assert!(line >= 1 && line <= text.lines().count() + 1);
        }
    }

    /// YAML structure soup.
    #[test]
    fn structural_soup_never_panics(parts in prop::collection::vec(
        prop::sample::select(vec![
            "version: 0.2\n", "phases:\n", "  build:\n", "    commands:\n", "      - echo\n",
            "[", "]", "{", "}", ": ", "- ", "&a ", "*a ", "!t ", "? ", "|\n", ">\n", "'", "\"",
            "\n", "  ", "---\n", "...\n", "#", "env:\n", "  variables:\n", "    A: 1\n",
        ]),
        0..40,
    )) {
        let _ = parse(&parts.concat());
    }
}
