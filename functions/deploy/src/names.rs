//! The names this action creates: deterministic per execution and stage, so a second delivery
//! of the same job finds what the first one created instead of creating it twice.

use sha2::{Digest, Sha256};

/// SageMaker's limit on model and endpoint config names.
const MAX_NAME: usize = 63;

/// `<endpoint>-<commit 7>-<hash 8 of the execution>`: one model and one endpoint config per
/// deployment, named alike (the config of a deployment serves the model of the same name).
pub fn deployment_name(endpoint: &str, commit: &str, execution_id: &str) -> String {
    let digest = Sha256::digest(execution_id.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let commit: String = commit
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(7)
        .collect();
    let suffix = format!("-{commit}-{hash}");
    let keep = MAX_NAME.saturating_sub(suffix.len());
    let base: String = endpoint.chars().take(keep).collect();
    format!("{}{suffix}", base.trim_end_matches('-'))
}

/// The variant of every endpoint this pipeline deploys.
pub const VARIANT: &str = "AllTraffic";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_valid_and_bounded() {
        let a = deployment_name("sagemaker-cicd-staging", "9f2c1e4d0b7a", "3137f7cb-8b1f");
        assert_eq!(
            a,
            deployment_name("sagemaker-cicd-staging", "9f2c1e4d0b7a", "3137f7cb-8b1f")
        );
        assert!(a.starts_with("sagemaker-cicd-staging-9f2c1e4-"), "{a}");
        assert_ne!(
            a,
            deployment_name("sagemaker-cicd-staging", "9f2c1e4d0b7a", "other")
        );
        let long = deployment_name(&"e".repeat(80), "abc", "x");
        assert!(long.len() <= MAX_NAME, "{long}");
        let pattern = regex::Regex::new("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$").unwrap();
        assert!(pattern.is_match(&a) && pattern.is_match(&long));
    }
}
