//! Continuation tokens: a function's state as JSON with a checksum, `<json>~<checksum>`, so that
//! it reads in the console and an altered or garbled token is refused rather than misread.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// Hex digits of the checksum.
const CHECKSUM_LEN: usize = 16;

/// The token of `state`.
pub fn seal<T: Serialize>(state: &T) -> String {
    let json = serde_json::to_string(state).unwrap_or_default();
    let sum = checksum(&json);
    format!("{json}~{sum}")
}

/// The state of a token `seal` made; `None` when it was altered or is not one.
pub fn open<T: DeserializeOwned>(token: &str) -> Option<T> {
    let (json, sum) = token.rsplit_once('~')?;
    if sum.len() != CHECKSUM_LEN || checksum(json) != sum {
        return None;
    }
    serde_json::from_str(json).ok()
}

fn checksum(json: &str) -> String {
    Sha256::digest(json.as_bytes())
        .iter()
        .take(CHECKSUM_LEN / 2)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_state_opens_and_altered_state_does_not() {
        let token = seal(&serde_json::json!({"phase": "tuning", "n": 3}));
        let opened: Option<serde_json::Value> = open(&token);
        assert_eq!(opened, Some(serde_json::json!({"phase": "tuning", "n": 3})));
        let altered = token.replace('3', "4");
        assert_eq!(open::<serde_json::Value>(&altered), None);
        for garbage in ["", "~", "{}", "{}~0000000000000000", "\u{0}~\u{0}"] {
            assert_eq!(open::<serde_json::Value>(garbage), None, "{garbage:?}");
        }
    }
}
