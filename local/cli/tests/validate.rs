//! `sagemaker-cicd validate` as a user runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validate(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sagemaker-cicd"))
        .arg("validate")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A copy of the sample model repository's configuration, to break.
fn sample_copy(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("validate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("configuration")).unwrap();
    for file in ["trainingjob.json", "tuning.json", "evaluation.json"] {
        let from = repo_root()
            .join("examples/model-repo/configuration")
            .join(file);
        if from.exists() {
            std::fs::copy(from, dir.join("configuration").join(file)).unwrap();
        }
    }
    dir
}

#[test]
fn the_sample_model_repository_is_valid() {
    let root = repo_root().join("examples/model-repo");
    let (code, out) = validate(&[root.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ok       configuration/trainingjob.json"),
        "{out}"
    );
    assert!(
        out.contains("ok       configuration/deployment.json"),
        "{out}"
    );
    assert!(out.ends_with("The model repository is valid.\n"), "{out}");
}

#[test]
fn a_broken_deployment_json_names_its_place() {
    let dir = sample_copy("broken-deployment");
    std::fs::write(
        dir.join("configuration/deployment.json"),
        "{\n  \"SmokeTest\": {\"Requests\": [{\"Body\": \"tests/none.csv\", \"ContentType\": \"text/csv\"}]}\n}\n",
    )
    .unwrap();
    let (code, out) = validate(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("configuration/deployment.json:2:")
            && out.contains(
                "at SmokeTest.Requests[0].Body: the repository has no file `tests/none.csv`"
            ),
        "{out}"
    );
    std::fs::remove_file(dir.join("configuration/deployment.json")).unwrap();
    let (code, out) = validate(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("absent   configuration/deployment.json"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn errors_name_file_line_column_and_exit_non_zero() {
    let dir = sample_copy("broken");
    let path = dir.join("configuration/trainingjob.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("\"RoleArn\"", "\"roleArn\"", 1);
    std::fs::write(&path, text).unwrap();
    std::fs::write(
        dir.join("configuration/evaluation.json"),
        "{\"Conditions\": []}",
    )
    .unwrap();
    let (code, out) = validate(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("configuration/trainingjob.json:") && out.contains("write `RoleArn`"),
        "{out}"
    );
    assert!(
        out.contains("tuning derives from trainingjob.json, which has errors")
            || !dir.join("configuration/tuning.json").exists(),
        "{out}"
    );
    assert!(out.contains("configuration/evaluation.json:1:"), "{out}");

    let (code, out) = validate(&[dir.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["valid"], false);
    let diagnostics = report["files"][0]["diagnostics"].as_array().unwrap();
    assert!(
        diagnostics
            .iter()
            .any(|d| d["path"] == "roleArn" && d["line"].as_u64().unwrap() > 1),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn missing_configuration_is_an_error() {
    let dir = std::env::temp_dir().join(format!("validate-{}-empty", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, out) = validate(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("missing: the Train action needs it"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}
