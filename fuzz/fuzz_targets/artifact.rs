//! The artifact zip reader: any bytes are refused or read without a panic, under the caps, both
//! with the functions' limits and with tight ones (so every refusal is reached).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_core::{ArtifactLimits, SourceArchive};

/// What the functions read, and entries of the archive itself (a few: each may inflate to the cap).
const PATHS: &[&str] = &[
    "configuration/trainingjob.json",
    "configuration/tuning.json",
    "configuration/evaluation.json",
    "configuration/deployment.json",
];
const ENTRIES_READ: usize = 8;

fn read(data: &[u8], limits: ArtifactLimits) {
    let Ok(mut zip) =
        SourceArchive::from_bytes("input artifact SourceOutput", data.to_vec(), limits)
    else {
        return;
    };
    let names = zip.file_names();
    assert!(names.len() <= limits.max_entries, "{} entries", names.len());
    for path in PATHS
        .iter()
        .copied()
        .chain(names.iter().map(String::as_str).take(ENTRIES_READ))
    {
        if let Ok(Some(text)) = zip.read_text(path) {
            assert!(
                text.len() as u64 <= limits.max_entry_bytes,
                "{path}: {} bytes",
                text.len()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    read(data, ArtifactLimits::default());
    read(
        data,
        ArtifactLimits {
            max_download_bytes: 64 * 1024,
            max_entry_bytes: 256,
            max_total_uncompressed_bytes: 4096,
            max_entries: 4,
        },
    );
});
