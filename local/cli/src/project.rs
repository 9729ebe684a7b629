//! Where things are: the project (template.yaml, scripts/setup, the .venv with moto and the AWS
//! CLI) and the function binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The project whose template.yaml the local run reads.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
}

fn is_project(dir: &Path) -> bool {
    dir.join("template.yaml").is_file() && dir.join("scripts/setup").is_file()
}

impl Project {
    /// `explicit`, else the nearest folder holding template.yaml and scripts/setup above the
    /// current directory, else above this executable (`target/<profile>/sagemaker-cicd`).
    pub fn locate(explicit: Option<&Path>) -> Result<Project, String> {
        if let Some(dir) = explicit {
            return if dir.join("template.yaml").is_file() {
                Ok(Project {
                    root: dir.to_owned(),
                })
            } else {
                Err(format!("{} has no template.yaml", dir.display()))
            };
        }
        let cwd = std::env::current_dir().ok();
        let exe = std::env::current_exe().ok();
        [cwd, exe]
            .iter()
            .flatten()
            .flat_map(|start| start.ancestors())
            .find(|dir| is_project(dir))
            .map(|dir| Project {
                root: dir.to_owned(),
            })
            .ok_or_else(|| {
                "cannot find the project (a folder with template.yaml and scripts/setup) above \
                 the current folder or this program; run from the project or pass --project"
                    .to_owned()
            })
    }

    pub fn template(&self) -> PathBuf {
        self.root.join("template.yaml")
    }

    pub fn venv(&self) -> PathBuf {
        self.root.join(".venv")
    }

    /// The venv's bin folder: moto_server, aws, python3 (first on the build's PATH).
    pub fn venv_bin(&self) -> PathBuf {
        self.venv().join("bin")
    }

    /// Creates `.venv` (pinned moto and AWS CLI) on first use, with `scripts/setup --local-run`.
    pub fn ensure_venv(&self) -> Result<(), String> {
        let bin = self.venv_bin();
        if bin.join("moto_server").is_file() && bin.join("aws").is_file() {
            return Ok(());
        }
        if Command::new("python3").arg("--version").output().is_err() {
            return Err(
                "python3 is not installed: the local run needs it for moto and the \
                 AWS CLI (Debian: apt-get install python3 python3-venv)"
                    .to_owned(),
            );
        }
        eprintln!(
            "First run: installing the pinned local services into .venv (scripts/setup --local-run) ..."
        );
        let status = Command::new(self.root.join("scripts/setup"))
            .arg("--local-run")
            .current_dir(&self.root)
            .status()
            .map_err(|e| format!("cannot run scripts/setup: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "scripts/setup --local-run failed ({status}); see above"
            ))
        }
    }
}

/// The folder of the function binaries: `explicit`, else this executable's own folder (a
/// `cargo build` of the functions and the CLI puts them side by side in `target/<profile>`).
pub fn functions_dir(explicit: Option<&Path>) -> Result<PathBuf, String> {
    match explicit {
        Some(dir) => Ok(dir.to_owned()),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .ok_or_else(|| "cannot tell where this program is; pass --functions-dir".to_owned()),
    }
}
