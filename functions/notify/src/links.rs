//! Console links for what the email mentions. Built from names and the region alone, so they
//! need no API call.

/// The console host of a region's partition.
fn console(region: &str) -> String {
    if region.starts_with("cn-") {
        "https://console.amazonaws.cn".to_owned()
    } else if region.starts_with("us-gov-") {
        "https://console.amazonaws-us-gov.com".to_owned()
    } else {
        format!("https://{}.console.aws.amazon.com", encode(region))
    }
}

pub fn execution(region: &str, pipeline: &str, execution_id: &str) -> String {
    format!(
        "{}/codesuite/codepipeline/pipelines/{}/executions/{}/timeline?region={}",
        console(region),
        encode(pipeline),
        encode(execution_id),
        encode(region)
    )
}

pub fn training_job(region: &str, name: &str) -> String {
    sagemaker(region, &format!("jobs/{}", encode(name)))
}

pub fn tuning_job(region: &str, name: &str) -> String {
    sagemaker(region, &format!("hyper-tuning-jobs/{}", encode(name)))
}

/// The model package's group in the model registry, from the package ARN
/// (`arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>`). `None` for an ARN
/// of another shape (an unversioned package has no group).
pub fn model_package(region: &str, arn: &str) -> Option<String> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.split('/');
    let (kind, group, version) = (parts.next()?, parts.next()?, parts.next()?);
    if kind != "model-package" || group.is_empty() || version.is_empty() {
        return None;
    }
    Some(sagemaker(
        region,
        &format!("model-registry/{}", encode(group)),
    ))
}

fn sagemaker(region: &str, fragment: &str) -> String {
    format!(
        "{}/sagemaker/home?region={}#/{fragment}",
        console(region),
        encode(region)
    )
}

/// Percent-encodes everything but unreserved characters: names here are ASCII identifiers,
/// but a link must never break on an unexpected one.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_link() {
        assert_eq!(
            execution("eu-west-1", "sagemaker-cicd-pipeline", "3137f7cb-8b1f"),
            "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/\
             sagemaker-cicd-pipeline/executions/3137f7cb-8b1f/timeline?region=eu-west-1"
        );
    }

    #[test]
    fn partitions() {
        assert!(training_job("cn-north-1", "j").starts_with("https://console.amazonaws.cn/"));
        assert!(
            tuning_job("us-gov-west-1", "t")
                .starts_with("https://console.amazonaws-us-gov.com/sagemaker/home?region=us-gov-west-1#/hyper-tuning-jobs/t")
        );
    }

    #[test]
    fn model_package_group_from_arn() {
        assert_eq!(
            model_package(
                "eu-west-1",
                "arn:aws:sagemaker:eu-west-1:123456789012:model-package/acme-churn-model/3"
            )
            .as_deref(),
            Some(
                "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/model-registry/acme-churn-model"
            )
        );
        assert_eq!(
            model_package("eu-west-1", "arn:aws:sagemaker:eu-west-1:1:model-package/x"),
            None
        );
        assert_eq!(model_package("eu-west-1", "not an arn"), None);
    }

    #[test]
    fn odd_characters_are_encoded() {
        assert_eq!(encode("a b/c#d"), "a%20b%2Fc%23d");
    }
}
