//! The keys of a model package's CustomerMetadataProperties: 1 to 128 characters of letters,
//! digits, spaces and `_.:/=+-@`. A metric name may be up to 255 characters of anything, so
//! every metric gets a key that SageMaker accepts and that the next evaluation finds again.

use sha2::{Digest, Sha256};

/// Metadata key prefix of a metric recorded on a registered model.
pub const METRIC_PREFIX: &str = "metric:";
const KEY_MAX: usize = 128;
/// `@` and 8 hex digits of the name's SHA-256, for a name that is not a key as it is.
const HASH_SUFFIX: usize = 9;

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c)
}

/// Whether SageMaker accepts `key` as a metadata key (the ASCII part of its pattern: a key with
/// other letters is hashed although SageMaker would take it, which only makes it less legible).
pub fn is_valid_key(key: &str) -> bool {
    (1..=KEY_MAX).contains(&key.len()) && key.chars().all(allowed)
}

/// `metric:<name>`, or, when that is not a valid key, the name's allowed characters (others
/// as `_`), cut to fit, then `@` and a hash of the whole name: distinct names, distinct keys.
pub fn metric_key(metric: &str) -> String {
    let plain = format!("{METRIC_PREFIX}{metric}");
    if is_valid_key(&plain) {
        return plain;
    }
    let kept: String = metric
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .take(KEY_MAX - METRIC_PREFIX.len() - HASH_SUFFIX)
        .collect();
    let hash: String = Sha256::digest(metric.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{METRIC_PREFIX}{kept}@{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_names_are_kept_as_they_read() {
        assert_eq!(metric_key("test:accuracy"), "metric:test:accuracy");
        assert_eq!(metric_key("validation:rmse"), "metric:validation:rmse");
    }

    #[test]
    fn long_and_unusual_names_get_a_valid_distinct_key() {
        let long = "m".repeat(200);
        let key = metric_key(&long);
        assert!(is_valid_key(&key) && key.len() == KEY_MAX, "{key}");
        assert_ne!(key, metric_key(&"m".repeat(201)));
        let odd = metric_key("f1 (macro, %)");
        assert!(
            is_valid_key(&odd) && odd.starts_with("metric:f1 _macro_ __@"),
            "{odd}"
        );
        assert_ne!(odd, metric_key("f1 (macro; %)"));
    }

    proptest! {
        #[test]
        fn every_metric_name_has_a_valid_stable_key(name in "\\PC{1,255}") {
            let key = metric_key(&name);
            prop_assert!(is_valid_key(&key), "{}", key);
            prop_assert_eq!(key, metric_key(&name));
        }
    }
}
