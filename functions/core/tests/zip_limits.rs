//! The caps on a zip artifact hold for the zips an attacker would craft: entries with data
//! descriptors, an end record that claims a huge central directory, sizes that lie, and two
//! entries of one name.

use std::io::{Cursor, Write};

use pipeline_core::ArtifactLimits;
use pipeline_core::SourceArchive;
use pipeline_core::artifact::ArtifactError;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

const MIB: u64 = 1024 * 1024;
const NAME: &str = "input artifact SourceOutput";

fn open(bytes: Vec<u8>, limits: ArtifactLimits) -> Result<SourceArchive, ArtifactError> {
    SourceArchive::from_bytes(NAME, bytes, limits)
}

fn zip_of(files: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in files {
        out.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn find_all(bytes: &[u8], signature: &[u8; 4]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == signature)
        .map(|(i, _)| i)
        .collect()
}

const LOCAL: &[u8; 4] = b"PK\x03\x04";
const CENTRAL: &[u8; 4] = b"PK\x01\x02";
const END: &[u8; 4] = b"PK\x05\x06";

fn end_record(bytes: &[u8]) -> usize {
    *find_all(bytes, END).last().unwrap()
}

#[test]
fn entries_with_data_descriptors_count_towards_the_total() {
    // A streamed zip has no sizes in its local headers (bit 3, data descriptors): the zip
    // crate's own total gives up on it, so it must not bypass the cap.
    let mut out = zip::ZipWriter::new_stream(Vec::new());
    for name in ["a.bin", "b.bin"] {
        out.start_file(
            name,
            SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
        )
        .unwrap();
        out.write_all(&vec![0u8; 12 * MIB as usize]).unwrap();
    }
    let bomb = out.finish().unwrap().into_inner();
    let flags = u16::from_le_bytes([bomb[6], bomb[7]]);
    assert_ne!(flags & 0x0008, 0, "the entries use data descriptors");
    assert!(bomb.len() < 200_000, "{}", bomb.len());

    let limits = ArtifactLimits {
        max_total_uncompressed_bytes: 16 * MIB,
        ..ArtifactLimits::default()
    };
    let err = open(bomb, limits).err().expect("refused");
    assert!(
        matches!(err, ArtifactError::TotalTooLarge { size, .. } if size == u128::from(24 * MIB)),
        "{err}"
    );
}

#[test]
fn the_declared_sizes_bound_what_is_read() {
    // The total is checked against the central directory's sizes: that holds only because data
    // beyond an entry's declared size is never handed out. Two stored entries of 80 bytes whose
    // central directory says 1 byte each:
    let data = [b'x'; 80];
    let mut bytes = zip_of(
        &[("a.txt", &data), ("b.txt", &data)],
        CompressionMethod::Stored,
    );
    for at in find_all(&bytes, CENTRAL) {
        bytes[at + 24..at + 28].copy_from_slice(&1u32.to_le_bytes());
    }
    let limits = ArtifactLimits {
        max_total_uncompressed_bytes: 100,
        ..ArtifactLimits::default()
    };
    let mut zip = open(bytes, limits).expect("the declared total is 2 bytes");
    for path in ["a.txt", "b.txt"] {
        let err = zip.read_text(path).unwrap_err();
        assert!(
            err.to_string()
                .contains("larger than its declared uncompressed size"),
            "{err}"
        );
    }
}

#[test]
fn the_entry_count_of_the_end_record_is_checked_before_the_directory_is_parsed() {
    // The end record claims 60000 entries; the directory holds 2. Parsing it would cost 60000
    // headers' worth of memory for a real one: the claim alone is refused.
    let mut bytes = zip_of(&[("a", b"1"), ("b", b"2")], CompressionMethod::Stored);
    let end = end_record(&bytes);
    bytes[end + 8..end + 10].copy_from_slice(&60_000u16.to_le_bytes());
    bytes[end + 10..end + 12].copy_from_slice(&60_000u16.to_le_bytes());
    let limits = ArtifactLimits {
        max_entries: 10,
        ..ArtifactLimits::default()
    };
    let err = open(bytes, limits).err().expect("refused");
    assert!(
        matches!(
            err,
            ArtifactError::TooManyEntries {
                count: 60_000,
                limit: 10,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "input artifact SourceOutput has 60000 entries; the limit is 10"
    );
}

#[test]
fn the_entry_count_of_a_zip64_end_record_is_checked_before_the_directory_is_parsed() {
    let bytes = zip_of(&[("a", b"1"), ("b", b"2")], CompressionMethod::Stored);
    let end = end_record(&bytes);
    let cd_size = u64::from(u32::from_le_bytes(
        bytes[end + 12..end + 16].try_into().unwrap(),
    ));
    let cd_offset = u64::from(u32::from_le_bytes(
        bytes[end + 16..end + 20].try_into().unwrap(),
    ));
    // The same zip with a ZIP64 end record (and its locator) claiming a million entries.
    let mut zip64 = bytes[..end].to_vec();
    let record_at = zip64.len() as u64;
    zip64.extend_from_slice(b"PK\x06\x06");
    zip64.extend_from_slice(&44u64.to_le_bytes()); // size of the rest of the record
    zip64.extend_from_slice(&45u16.to_le_bytes()); // made by
    zip64.extend_from_slice(&45u16.to_le_bytes()); // needed
    zip64.extend_from_slice(&0u32.to_le_bytes()); // this disk
    zip64.extend_from_slice(&0u32.to_le_bytes()); // disk of the directory
    zip64.extend_from_slice(&1_000_000u64.to_le_bytes()); // entries on this disk
    zip64.extend_from_slice(&1_000_000u64.to_le_bytes()); // entries
    zip64.extend_from_slice(&cd_size.to_le_bytes());
    zip64.extend_from_slice(&cd_offset.to_le_bytes());
    zip64.extend_from_slice(b"PK\x06\x07");
    zip64.extend_from_slice(&0u32.to_le_bytes());
    zip64.extend_from_slice(&record_at.to_le_bytes());
    zip64.extend_from_slice(&1u32.to_le_bytes());
    zip64.extend_from_slice(END);
    zip64.extend_from_slice(&[0; 4]); // disks
    zip64.extend_from_slice(&u16::MAX.to_le_bytes());
    zip64.extend_from_slice(&u16::MAX.to_le_bytes());
    zip64.extend_from_slice(&u32::MAX.to_le_bytes());
    zip64.extend_from_slice(&u32::MAX.to_le_bytes());
    zip64.extend_from_slice(&0u16.to_le_bytes()); // comment length

    let err = open(zip64, ArtifactLimits::default())
        .err()
        .expect("refused");
    assert!(
        matches!(
            err,
            ArtifactError::TooManyEntries {
                count: 1_000_000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn duplicate_entry_names_are_refused_naming_the_path() {
    // The zip writer refuses duplicates: write two names of one length, then rename the second.
    let mut bytes = zip_of(
        &[
            ("configuration/a.json", b"{\"first\": true}"),
            ("configuration/b.json", b"{\"second\": true}"),
        ],
        CompressionMethod::Deflated,
    );
    let rename = |bytes: &mut Vec<u8>, signature: &[u8; 4], name_at: usize| {
        for at in find_all(bytes, signature) {
            let name = &mut bytes[at + name_at..at + name_at + 20];
            if name == b"configuration/b.json" {
                name.copy_from_slice(b"configuration/a.json");
            }
        }
    };
    rename(&mut bytes, LOCAL, 30);
    rename(&mut bytes, CENTRAL, 46);

    let err = open(bytes, ArtifactLimits::default())
        .err()
        .expect("refused");
    assert!(
        matches!(&err, ArtifactError::DuplicateEntry { path, .. } if path == "configuration/a.json"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "`configuration/a.json` appears more than once in input artifact SourceOutput; tools \
         disagree on which copy counts, so the artifact is refused"
    );
    assert_eq!(
        pipeline_core::JobError::from(err).kind,
        pipeline_core::FailureKind::ConfigurationError
    );
}

#[test]
fn an_ordinary_zip_still_opens() {
    let mut zip = open(
        zip_of(
            &[
                ("configuration/trainingjob.json", b"{}"),
                ("README.md", b"hi"),
            ],
            CompressionMethod::Deflated,
        ),
        ArtifactLimits {
            max_entries: 2,
            max_total_uncompressed_bytes: 4,
            ..ArtifactLimits::default()
        },
    )
    .unwrap();
    assert_eq!(
        zip.read_text("configuration/trainingjob.json")
            .unwrap()
            .as_deref(),
        Some("{}")
    );
    assert_eq!(zip.read_text("README.md").unwrap().as_deref(), Some("hi"));
}
