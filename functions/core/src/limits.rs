//! CodePipeline's API limits, enforced before a call so that a result is never rejected.

/// `continuationToken`: 1 to 2048 characters.
pub const CONTINUATION_TOKEN_MAX: usize = 2048;
/// `failureDetails.message`: 1 to 5000 characters.
pub const FAILURE_MESSAGE_MAX: usize = 5000;
/// `executionDetails.summary`: 1 to 2048 characters.
pub const SUMMARY_MAX: usize = 2048;
/// `UserParameters` of an action configuration.
pub const USER_PARAMETERS_MAX: usize = 1000;

const ELLIPSIS: &str = " [...]";

/// Cuts `text` to at most `max` bytes (so also at most `max` characters) at a character boundary,
/// marking the cut. Bytes are the stricter measure, so the result fits however AWS counts.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(ELLIPSIS.len());
    let mut end = keep;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(max);
    out.push_str(&text[..end]);
    out.push_str(&ELLIPSIS[..ELLIPSIS.len().min(max)]);
    out
}

/// An output variable key must match `[A-Za-z0-9@\-_]+`.
pub fn is_valid_variable_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_text_is_kept() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcde", 5), "abcde");
    }

    #[test]
    fn long_text_is_cut_and_marked() {
        let cut = truncate(&"x".repeat(6000), FAILURE_MESSAGE_MAX);
        assert_eq!(cut.len(), FAILURE_MESSAGE_MAX);
        assert!(cut.ends_with(" [...]"));
    }

    #[test]
    fn cut_never_splits_a_character() {
        // 'é' is two bytes: an odd limit falls inside one.
        let cut = truncate(&"é".repeat(100), 21);
        assert!(cut.len() <= 21);
        assert!(cut.starts_with("ééééééé"));
    }

    #[test]
    fn variable_keys() {
        assert!(is_valid_variable_key("TrainingJobName"));
        assert!(is_valid_variable_key("a-b_c@1"));
        assert!(!is_valid_variable_key(""));
        assert!(!is_valid_variable_key("a.b"));
        assert!(!is_valid_variable_key("a b"));
        assert!(!is_valid_variable_key("é"));
    }

    proptest! {
        #[test]
        fn truncate_always_fits(text in ".{0,300}", max in 1usize..300) {
            let cut = truncate(&text, max);
            prop_assert!(cut.len() <= max);
            prop_assert!(cut.chars().count() <= max);
            if text.len() <= max { prop_assert_eq!(&cut, &text); }
            else { prop_assert!(text.starts_with(cut.trim_end_matches(&ELLIPSIS[..ELLIPSIS.len().min(max)]))); }
        }
    }
}
