//! Names and tags the pipeline gives a training job.
//!
//! The name is deterministic: a second delivery of the same CodePipeline job computes the same
//! name, finds the job the first delivery started and adopts it. A retry of the stage is a new
//! job (new job id) and so trains again under a new name.

use sagemaker_requests::Tag;
use sha2::{Digest, Sha256};

use crate::Settings;

/// SageMaker's limit for training job names.
pub const TRAINING_JOB_NAME_MAX: usize = 63;
/// SageMaker's limit for hyperparameter tuning job names.
pub const TUNING_JOB_NAME_MAX: usize = 32;
const HASH_LEN: usize = 8;
const COMMIT_LEN: usize = 7;

/// `<prefix>[-<name>]-<commit>-<hash>`, at most 63 characters, matching
/// `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`. `prefix` (the stack name) comes first so IAM can scope
/// permissions to `training-job/<prefix>-*`; `name` is the user's TrainingJobName, kept for people.
pub fn training_job_name(
    prefix: &str,
    name: Option<&str>,
    commit: &str,
    execution_id: &str,
    job_id: &str,
) -> String {
    job_name(
        TRAINING_JOB_NAME_MAX,
        prefix,
        name,
        commit,
        execution_id,
        job_id,
    )
}

/// `<prefix>-<commit>-<hash>`, at most 32 characters: SageMaker names a tuning job's training
/// jobs `<tuning job>-<NNN>-<8 hex>`. The commit is left out before the prefix is cut.
pub fn tuning_job_name(prefix: &str, commit: &str, execution_id: &str, job_id: &str) -> String {
    job_name(
        TUNING_JOB_NAME_MAX,
        prefix,
        None,
        commit,
        execution_id,
        job_id,
    )
}

fn job_name(
    max: usize,
    prefix: &str,
    name: Option<&str>,
    commit: &str,
    execution_id: &str,
    job_id: &str,
) -> String {
    let digest = Sha256::digest(format!("{execution_id}\n{job_id}").as_bytes());
    let hash: String = digest
        .iter()
        .take(HASH_LEN / 2)
        .map(|b| format!("{b:02x}"))
        .collect();
    let commit = sanitize(commit);
    let commit = &commit[..commit.len().min(COMMIT_LEN)];

    let mut head = sanitize(prefix);
    if head.is_empty() {
        head = "training".to_owned();
    }
    if let Some(name) = name.map(sanitize).filter(|n| !n.is_empty() && *n != head) {
        head = format!("{head}-{name}");
    }
    let with_commit = format!("{commit}-{hash}");
    let tail = if commit.is_empty() || head.len() + 1 + with_commit.len() > max {
        hash
    } else {
        with_commit
    };
    head.truncate(max - tail.len() - 1);
    let head = head.trim_end_matches('-');
    format!("{head}-{tail}")
}

/// Lowercase ASCII letters, digits and single hyphens; no hyphen at either end. Lowercase because
/// SageMaker lowercases names in ARNs, which IAM policies match.
fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Tag keys of the lineage the pipeline writes on every job it starts.
pub mod tag {
    pub const REPOSITORY: &str = "pipeline:repository";
    pub const BRANCH: &str = "pipeline:branch";
    pub const COMMIT: &str = "pipeline:commit";
    pub const EXECUTION: &str = "pipeline:execution-id";
    /// The CodePipeline job that started it: how a duplicate delivery recognises its own job.
    pub const JOB: &str = "pipeline:job-id";
}

/// Every lineage tag key.
pub const LINEAGE: [&str; 5] = [
    tag::REPOSITORY,
    tag::BRANCH,
    tag::COMMIT,
    tag::EXECUTION,
    tag::JOB,
];

/// `tags` with the pipeline's lineage tags added, replacing user tags of the same keys.
pub fn with_lineage(tags: Option<Vec<Tag>>, settings: &Settings, job_id: &str) -> Vec<Tag> {
    let mut tags = tags.unwrap_or_default();
    tags.retain(|t| !LINEAGE.contains(&t.key.as_str()));
    let lineage = Lineage {
        repository: settings.repository.as_deref(),
        branch: settings.branch.as_deref(),
        commit: &settings.commit_id,
        execution: &settings.execution_id,
        job: Some(job_id),
    };
    tags.extend(
        lineage
            .pairs()
            .into_iter()
            .map(|(key, value)| Tag { key, value }),
    );
    tags
}

/// What the pipeline records of a job or a model: where it came from.
pub struct Lineage<'a> {
    pub repository: Option<&'a str>,
    pub branch: Option<&'a str>,
    pub commit: &'a str,
    pub execution: &'a str,
    /// The CodePipeline job that started it, where that is how duplicates are recognised.
    pub job: Option<&'a str>,
}

impl Lineage<'_> {
    /// (tag key, cleaned value) for every part that is known.
    pub fn pairs(&self) -> Vec<(String, String)> {
        [
            (tag::REPOSITORY, self.repository),
            (tag::BRANCH, self.branch),
            (tag::COMMIT, Some(self.commit)),
            (tag::EXECUTION, Some(self.execution)),
            (tag::JOB, self.job),
        ]
        .into_iter()
        .filter_map(|(key, value)| {
            value
                .filter(|v| !v.is_empty())
                .map(|v| (key.to_owned(), tag_value(v)))
        })
        .collect()
    }
}

/// SageMaker tag values allow `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`, at most 256 characters.
pub fn tag_value(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn is_valid(name: &str) -> bool {
        is_valid_within(name, TRAINING_JOB_NAME_MAX)
    }

    fn is_valid_within(name: &str, max: usize) -> bool {
        let bytes = name.as_bytes();
        !name.is_empty()
            && name.len() <= max
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    }

    const EXEC: &str = "3137f7cb-8b1f-4f2b-a6a5-2f1e9e6f0b5e";
    const JOB: &str = "11111111-abcd-1111-abcd-111111abcdef";

    #[test]
    fn reads_well() {
        let name = training_job_name("sagemaker-cicd", None, "9f2c1e4d0b7a", EXEC, JOB);
        assert!(name.starts_with("sagemaker-cicd-9f2c1e4-"), "{name}");
        assert_eq!(name.len(), "sagemaker-cicd-9f2c1e4-".len() + HASH_LEN);
        let with_user_name = training_job_name(
            "sagemaker-cicd",
            Some("XGBoost_Churn"),
            "9f2c1e4",
            EXEC,
            JOB,
        );
        assert!(
            with_user_name.starts_with("sagemaker-cicd-xgboost-churn-9f2c1e4-"),
            "{with_user_name}"
        );
    }

    #[test]
    fn same_job_same_name_other_job_other_name() {
        let a = training_job_name("p", None, "c", EXEC, JOB);
        assert_eq!(a, training_job_name("p", None, "c", EXEC, JOB));
        assert_ne!(
            a,
            training_job_name("p", None, "c", EXEC, "22222222-abcd-1111-abcd-111111abcdef")
        );
        assert_ne!(a, training_job_name("p", None, "c", "other-execution", JOB));
    }

    #[test]
    fn odd_prefixes_still_give_valid_names() {
        for prefix in ["", "---", "My Stack!", "ünïcödé", &"x".repeat(200), "-a-"] {
            let name = training_job_name(prefix, Some("__"), "", EXEC, JOB);
            assert!(is_valid(&name), "{prefix:?} -> {name:?}");
        }
    }

    #[test]
    fn tuning_names_keep_the_prefix_first() {
        let name = tuning_job_name("sagemaker-cicd", "9f2c1e4d", EXEC, JOB);
        assert!(name.starts_with("sagemaker-cicd-9f2c1e4-"), "{name}");
        assert!(name.len() <= TUNING_JOB_NAME_MAX);
        // A long prefix drops the commit before it is cut.
        let name = tuning_job_name("my-long-stack-name-x", "9f2c1e4d", EXEC, JOB);
        assert!(name.starts_with("my-long-stack-name-x-"), "{name}");
        assert!(!name.contains("9f2c1e4"), "{name}");
    }

    #[test]
    fn tag_values_are_cleaned() {
        assert_eq!(tag_value("owner/repo"), "owner/repo");
        assert_eq!(tag_value("feature#1"), "feature_1");
        assert_eq!(tag_value(&"x".repeat(300)).len(), 256);
    }

    proptest! {
        #[test]
        fn names_are_always_valid(prefix in ".{0,80}", name in proptest::option::of(".{0,80}"), commit in ".{0,50}",
                                  exec in ".{0,40}", job in ".{0,40}") {
            let made = training_job_name(&prefix, name.as_deref(), &commit, &exec, &job);
            prop_assert!(is_valid(&made), "{:?}", made);
            prop_assert_eq!(&made, &training_job_name(&prefix, name.as_deref(), &commit, &exec, &job));
            let tuning = tuning_job_name(&prefix, &commit, &exec, &job);
            prop_assert!(is_valid_within(&tuning, TUNING_JOB_NAME_MAX), "{:?}", tuning);
        }
    }
}
