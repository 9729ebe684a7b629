//! The Source action of the local run: the model repository's working tree as a CODE_ZIP
//! artifact, and the source variables a CodeConnections source outputs.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

/// Folders never packed: version control, Python caches, virtual environments.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    "__pycache__",
    ".venv",
    ".pytest_cache",
    "node_modules",
];

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read the model repository {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot zip the model repository: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error(
        "{0} has no configuration/trainingjob.json: is it a model repository? (see \
         examples/model-repo)"
    )]
    NotAModelRepository(PathBuf),
}

/// The working tree, packed.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The repository's name (its folder's, as GitHub allows names).
    pub repository: String,
    pub zip: Vec<u8>,
    pub files: usize,
    /// The commit when the tree is a clean git checkout; otherwise a content hash, so the same
    /// tree gives the same id.
    pub commit_id: String,
    pub commit_message: String,
    pub branch: String,
    pub author_date: SystemTime,
}

pub fn snapshot(repo: &Path) -> Result<Snapshot, SourceError> {
    if !repo.join("configuration/trainingjob.json").is_file() {
        return Err(SourceError::NotAModelRepository(repo.to_owned()));
    }
    let read_err = |path: &Path, source| SourceError::Read {
        path: path.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    let walker = walkdir::WalkDir::new(repo)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        });
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(repo).to_owned();
            read_err(&path, e.into())
        })?;
        if entry.file_type().is_file() {
            paths.push(entry.into_path());
        }
    }
    let mut hash = Sha256::new();
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for path in &paths {
        let name = path
            .strip_prefix(repo)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(path).map_err(|e| read_err(path, e))?;
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(&bytes);
        zip.start_file(name.as_str(), options)?;
        zip.write_all(&bytes).map_err(|e| read_err(path, e))?;
    }
    let zip = zip.finish()?.into_inner();
    let content_id: String = hash.finalize()[..20]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let git = GitInfo::of(repo);
    let (commit_id, commit_message) = match &git {
        Some(info) if info.clean => (info.commit.clone(), info.message.clone()),
        Some(info) => (
            content_id,
            format!(
                "Working tree of {} (uncommitted changes on {})",
                dir_name(repo),
                &info.commit[..info.commit.len().min(7)]
            ),
        ),
        None => (content_id, format!("Working tree of {}", dir_name(repo))),
    };
    Ok(Snapshot {
        repository: repository_name(repo),
        zip,
        files: paths.len(),
        commit_id,
        commit_message,
        branch: git
            .as_ref()
            .map_or_else(|| "main".to_owned(), |g| g.branch.clone()),
        author_date: SystemTime::now(),
    })
}

fn dir_name(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// What git says about a directory that is the top of its own repository (a model repository
/// inside another repository, like examples/model-repo, has no commit of its own).
struct GitInfo {
    commit: String,
    message: String,
    branch: String,
    clean: bool,
}

impl GitInfo {
    fn of(repo: &Path) -> Option<GitInfo> {
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(repo)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        let top = git(&["rev-parse", "--show-toplevel"])?;
        if std::fs::canonicalize(&top).ok()? != std::fs::canonicalize(repo).ok()? {
            return None;
        }
        Some(GitInfo {
            commit: git(&["rev-parse", "HEAD"])?,
            message: git(&["log", "-1", "--format=%s"]).unwrap_or_default(),
            branch: git(&["rev-parse", "--abbrev-ref", "HEAD"])
                .filter(|b| b != "HEAD")
                .unwrap_or_else(|| "main".to_owned()),
            clean: git(&["status", "--porcelain"]).is_some_and(|s| s.is_empty()),
        })
    }
}

/// Repository names as GitHub allows them, from a directory name.
pub fn repository_name(repo: &Path) -> String {
    let name: String = dir_name(repo)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "model-repo".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/model-repo")
    }

    #[test]
    fn the_sample_is_packed_without_caches_and_named_by_its_content() {
        let a = snapshot(&sample()).unwrap();
        let b = snapshot(&sample()).unwrap();
        assert_eq!(a.commit_id, b.commit_id, "same tree, same id");
        assert_eq!(a.commit_id.len(), 40);
        let archive = zip::ZipArchive::new(Cursor::new(a.zip)).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n == "configuration/trainingjob.json"),
            "{names:?}"
        );
        assert!(names.iter().any(|n| n == "buildspec.yml"));
        assert!(!names.iter().any(|n| n.contains("__pycache__")));
        assert_eq!(names.len(), a.files);
        assert!(
            a.commit_message.contains("model-repo"),
            "{}",
            a.commit_message
        );
    }

    #[test]
    fn a_folder_without_trainingjob_json_is_refused() {
        let err = snapshot(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_err();
        assert!(
            err.to_string().contains("configuration/trainingjob.json"),
            "{err}"
        );
    }

    #[test]
    fn repository_names_are_github_names() {
        assert_eq!(repository_name(&sample()), "model-repo");
        assert_eq!(repository_name(Path::new("/tmp/my model")), "my-model");
    }
}
