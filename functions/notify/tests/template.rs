//! template.yaml and the code agree: one concept, one name, one number. Read as text: the
//! resources in question are simple, and the workspace has no YAML parser to pull in for it.

mod support;

use notify::event::State;
use notify::marker::{LEASE, PREFIX};
use notify::settings::{BUCKET_VAR, JOB_PREFIX_VAR, TOPIC_VAR};
use support::repo_root;

/// The lines of a top-level resource, from its name to the next resource.
fn resource(name: &str) -> String {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let header = format!("  {name}:");
    let mut lines = template.lines().skip_while(|l| *l != header);
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no resource {name} in template.yaml"));
    let rest = lines
        .take_while(|l| l.is_empty() || l.starts_with("   ") || l.trim_start().starts_with('#'));
    std::iter::once(first)
        .chain(rest)
        .collect::<Vec<_>>()
        .join("\n")
}

fn value_of(block: &str, key: &str) -> String {
    block
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in\n{block}"))
        .trim()
        .to_owned()
}

#[test]
fn the_marker_lease_fits_the_function_timeout_and_lambdas_retry_delay() {
    let function = resource("NotifyFunction");
    let timeout: u64 = value_of(&function, "Timeout").parse().unwrap();
    assert!(
        timeout < LEASE.as_secs(),
        "NotifyFunction's Timeout ({timeout} s) must stay under the marker lease ({} s): \
         a live sender would be overtaken",
        LEASE.as_secs()
    );
    assert!(
        LEASE.as_secs() <= 60,
        "the lease must end before Lambda's first retry (60 s): the retry of a sender that ended \
         without writing the outcome must report it unconfirmed, not take it for in flight"
    );
}

#[test]
fn the_function_gets_the_settings_the_code_reads() {
    let function = resource("NotifyFunction");
    assert!(function.contains(&format!("{TOPIC_VAR}: !Ref NotificationTopic")));
    assert!(function.contains(&format!("{BUCKET_VAR}: !Ref ArtifactBucket")));
    assert!(function.contains(&format!("{JOB_PREFIX_VAR}: !Ref AWS::StackName")));
    assert_eq!(value_of(&function, "Binary"), "notify");
    assert_eq!(value_of(&function, "Runtime"), "provided.al2023");
    assert!(function.contains("Destination: !GetAtt NotifyFailureQueue.Arn"));
}

#[test]
fn the_role_may_write_the_markers_and_nothing_else_in_the_bucket() {
    let role = resource("NotifyRole");
    assert!(
        role.contains(&format!("Resource: !Sub ${{ArtifactBucket.Arn}}/{PREFIX}*")),
        "{role}"
    );
    assert_eq!(role.matches("ArtifactBucket.Arn").count(), 1, "{role}");
}

#[test]
fn the_rule_sends_exactly_the_final_states() {
    let rule = resource("NotifyRule");
    let states: Vec<&str> = rule
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("- "))
        .filter(|s| s.chars().all(|c| c.is_ascii_uppercase()))
        .collect();
    assert_eq!(
        states,
        ["SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELED"]
    );
    for s in ["STARTED", "STOPPING", "RESUMED"] {
        assert!(!State::from(s.to_owned()).is_final());
    }
    for s in &states {
        assert!(State::from((*s).to_owned()).is_final(), "{s}");
    }
    assert!(rule.contains("- CodePipeline Pipeline Execution State Change"));
    assert!(rule.contains(&format!("- {}", notify::event::DETAIL_TYPE)));
    assert!(rule.contains("- !Sub ${AWS::StackName}-pipeline"));
}
