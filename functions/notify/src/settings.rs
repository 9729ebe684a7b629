//! The function's settings: environment variables the template sets.

/// The SNS topic the notifications go to.
pub const TOPIC_VAR: &str = "NOTIFICATION_TOPIC_ARN";
/// The artifact bucket; the markers live under `notifications/` in it.
pub const BUCKET_VAR: &str = "ARTIFACT_BUCKET";
/// The stack name, with which the names of the jobs the pipeline starts begin.
pub const JOB_PREFIX_VAR: &str = "JOB_PREFIX";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub topic_arn: String,
    pub bucket: String,
    pub job_prefix: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the environment variable {0} is not set: the template sets it on NotifyFunction")]
pub struct MissingSetting(pub &'static str);

impl Settings {
    /// From the process environment.
    pub fn from_env() -> Result<Settings, MissingSetting> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, MissingSetting> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(MissingSetting(name))
        };
        Ok(Settings {
            topic_arn: get(TOPIC_VAR)?,
            bucket: get(BUCKET_VAR)?,
            job_prefix: get(JOB_PREFIX_VAR)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_are_required() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            Settings::from_lookup(env(&[
                (TOPIC_VAR, "arn:t"),
                (BUCKET_VAR, " b "),
                (JOB_PREFIX_VAR, "stack")
            ])),
            Ok(Settings {
                topic_arn: "arn:t".into(),
                bucket: "b".into(),
                job_prefix: "stack".into(),
            })
        );
        let err =
            Settings::from_lookup(env(&[(TOPIC_VAR, "arn:t"), (BUCKET_VAR, "")])).unwrap_err();
        assert_eq!(err, MissingSetting(BUCKET_VAR));
        assert!(err.to_string().contains("ARTIFACT_BUCKET is not set"));
    }
}
