//! The Build action (provider CodeBuild): the input artifact unpacked as the build's source, the
//! project's and the action's environment variables, the buildspec run by the local CodeBuild,
//! its exported variables as the action's output variables.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use local_codebuild::{BuildRequest, BuildStatus, Buildspec};
use serde::Deserialize;

use crate::run::{LocalPipeline, Outcome, Progress, Running};
use crate::services::ACCOUNT_ID;

/// Lines of the build's log quoted in a failure message.
const TAIL_LINES: usize = 25;

/// An item of the action's `EnvironmentVariables` configuration (a JSON array).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentVariable {
    name: String,
    value: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

fn action_environment(json: Option<&String>) -> Result<Vec<(String, String)>, String> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let items: Vec<EnvironmentVariable> = serde_json::from_str(json).map_err(|e| {
        format!(
            "the action's EnvironmentVariables is not a JSON array of {{\"name\", \"value\", \
             \"type\"}} objects: {e}"
        )
    })?;
    items
        .into_iter()
        .map(|v| match v.kind.as_deref() {
            None | Some("PLAINTEXT") => Ok((v.name, v.value)),
            Some(other) => Err(format!(
                "the environment variable {} is of type {other}, which the local run cannot \
                 resolve (it has no Parameter Store or Secrets Manager); use PLAINTEXT locally",
                v.name
            )),
        })
        .collect()
}

async fn download_source(
    pipeline: &LocalPipeline<'_>,
    run: &Running<'_>,
    dir: &Path,
) -> Result<(), String> {
    let Some(input) = run.inputs.first() else {
        return Err("the Build action has no input artifact".to_owned());
    };
    let object = pipeline
        .s3()
        .get_object()
        .bucket(&input.bucket)
        .key(&input.key)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot download the input artifact {}: {}",
                input.name,
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| format!("cannot read the input artifact {}: {e}", input.name))?
        .into_bytes();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("the input artifact {} is not a zip: {e}", input.name))?;
    archive
        .extract(dir)
        .map_err(|e| format!("cannot unpack the input artifact {}: {e}", input.name))
}

pub(crate) async fn run(
    pipeline: &LocalPipeline<'_>,
    run: &Running<'_>,
    commit_id: &str,
) -> Outcome {
    let settings = pipeline.settings();
    let Some(project_name) = run.configuration.get("ProjectName") else {
        return Outcome::failed("ConfigurationError", "the Build action has no ProjectName");
    };
    let Some(project) = settings.stack.build_project(project_name) else {
        return Outcome::failed(
            "ConfigurationError",
            format!("the build project {project_name} is not in the template"),
        );
    };
    let action_env = match action_environment(run.configuration.get("EnvironmentVariables")) {
        Ok(env) => env,
        Err(message) => return Outcome::failed("ConfigurationError", message),
    };
    let source_dir = settings
        .work_dir
        .join("builds")
        .join(run.execution_id)
        .join("src");
    if let Err(e) = std::fs::create_dir_all(&source_dir) {
        return Outcome::failed(
            "JobFailed",
            format!("cannot create {}: {e}", source_dir.display()),
        );
    }
    if let Err(message) = download_source(pipeline, run, &source_dir).await {
        return Outcome::failed("JobFailed", message);
    }
    let buildspec = match Buildspec::load(&source_dir.join("buildspec.yml")) {
        Ok(b) => b,
        Err(e) => return Outcome::failed("JobFailed", format!("buildspec.yml: {e}")),
    };
    // CodeBuild: the project's variables, then the action's (which win), then ours.
    let mut environment: BTreeMap<String, String> = project.environment.clone();
    environment.extend(action_env);
    environment.extend(pipeline.services().env());
    let request = BuildRequest {
        project_name: project.name.clone(),
        source_dir: source_dir.clone(),
        buildspec,
        environment: environment.into_iter().collect(),
        resolved_source_version: commit_id.to_owned(),
        initiator: format!("codepipeline/{}", settings.stack.pipeline.name),
        region: settings.stack.region.clone(),
        account_id: ACCOUNT_ID.to_owned(),
        timeout: project.timeout,
        path_prefix: settings.build_path.clone(),
    };
    let (log_tx, mut log_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stage = run.stage.to_owned();
    let action = run.action.name.clone();
    let progress = run.progress.clone();
    let forward = tokio::spawn(async move {
        while let Some(line) = log_rx.recv().await {
            let _ = progress.send(Progress::ActionLog {
                stage: stage.clone(),
                action: action.clone(),
                line,
            });
        }
    });
    let result = local_codebuild::run(request, log_tx).await;
    let _ = forward.await;
    let _ = std::fs::remove_dir_all(source_dir.parent().unwrap_or(&source_dir));
    match result {
        Err(e) => Outcome::failed("JobFailed", format!("the local CodeBuild failed: {e}")),
        Ok(build) => {
            let seconds = build.duration.as_secs_f64();
            let tail = || {
                let lines = &build.log_tail[build.log_tail.len().saturating_sub(TAIL_LINES)..];
                lines.join("\n")
            };
            match &build.status {
                BuildStatus::Succeeded => Outcome::succeeded(
                    build.exported.clone(),
                    Some(format!(
                        "Build {} succeeded in {seconds:.1}s",
                        build.build_id
                    )),
                ),
                BuildStatus::Failed {
                    phase,
                    command,
                    exit_code,
                } => Outcome::failed(
                    "JobFailed",
                    format!(
                        "Build {} failed in phase {phase}: `{command}` exited with {}. Last \
                         lines of its log:\n{}",
                        build.build_id,
                        exit_code.map_or_else(|| "a signal".to_owned(), |c| c.to_string()),
                        tail()
                    ),
                ),
                BuildStatus::TimedOut { phase } => Outcome::failed(
                    "JobFailed",
                    format!(
                        "Build {} timed out in phase {phase} after {:?} (the project's \
                         TimeoutInMinutes). Last lines of its log:\n{}",
                        build.build_id,
                        project.timeout,
                        tail()
                    ),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_environment_variables_are_read_from_their_json() {
        let json =
            r#"[{"name":"COMMIT_ID","value":"abc","type":"PLAINTEXT"},{"name":"X","value":"1"}]"#;
        assert_eq!(
            action_environment(Some(&json.to_owned())).unwrap(),
            vec![("COMMIT_ID".into(), "abc".into()), ("X".into(), "1".into())]
        );
        let secret = r#"[{"name":"T","value":"/p","type":"PARAMETER_STORE"}]"#;
        assert!(
            action_environment(Some(&secret.to_owned()))
                .unwrap_err()
                .contains("PLAINTEXT")
        );
        assert!(action_environment(Some(&"{}".to_owned())).is_err());
        assert!(action_environment(None).unwrap().is_empty());
    }
}
