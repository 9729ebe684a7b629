//! Input artifacts: zip objects in the pipeline's artifact bucket, read with the job's own
//! short-lived credentials (never the function's role) and under size caps, so that a huge
//! repository, a zip bomb or an object that is not a zip ends in a clear failure.

use std::io::{Cursor, Read};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use zip::ZipArchive;
use zip::result::ZipError;

use crate::{ArtifactCredentials, InputArtifact, JobError};

const MIB: u64 = 1024 * 1024;

/// Caps on what an artifact may cost us. The defaults suit a model repository's source: code and
/// configuration, with data kept in S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactLimits {
    /// Size of the zip object itself.
    pub max_download_bytes: u64,
    /// Uncompressed size of one file read out of the zip.
    pub max_entry_bytes: u64,
    /// Uncompressed size of all files of the zip, as the central directory declares it (a read
    /// never yields more than an entry's declared size).
    pub max_total_uncompressed_bytes: u64,
    /// Number of entries of the zip, as its end record declares it (checked before the central
    /// directory is parsed) and as parsed.
    pub max_entries: usize,
}

impl Default for ArtifactLimits {
    fn default() -> Self {
        ArtifactLimits {
            max_download_bytes: 64 * MIB,
            max_entry_bytes: MIB,
            max_total_uncompressed_bytes: 512 * MIB,
            max_entries: 50_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    #[error("{artifact} does not exist (the source revision may have expired): {reason}")]
    NotFound { artifact: String, reason: String },
    #[error("{artifact} could not be read with the job's artifact credentials: {reason}")]
    AccessDenied { artifact: String, reason: String },
    #[error("{artifact} could not be downloaded: {reason}")]
    Download { artifact: String, reason: String },
    #[error(
        "{artifact} is {size} bytes; the limit is {limit} bytes. Keep training data out of the \
         repository (read it from S3 in InputDataConfig) or raise the limit"
    )]
    TooLarge {
        artifact: String,
        size: u64,
        limit: u64,
    },
    #[error(
        "{artifact} is not a zip archive ({reason}); the source action must produce a zip (CODE_ZIP)"
    )]
    NotAZip { artifact: String, reason: String },
    #[error("{artifact} has {count} entries; the limit is {limit}")]
    TooManyEntries {
        artifact: String,
        count: usize,
        limit: usize,
    },
    #[error(
        "{artifact} would unpack to {size} bytes; the limit is {limit} bytes (a zip bomb, or data that \
         belongs in S3)"
    )]
    TotalTooLarge {
        artifact: String,
        size: u128,
        limit: u64,
    },
    #[error(
        "`{path}` in {artifact} is larger than {limit} bytes uncompressed; a configuration file must be smaller"
    )]
    EntryTooLarge {
        artifact: String,
        path: String,
        limit: u64,
    },
    #[error("`{path}` in {artifact} cannot be read: {reason}")]
    Entry {
        artifact: String,
        path: String,
        reason: String,
    },
    #[error("`{path}` in {artifact} is not UTF-8 text; save it as UTF-8")]
    NotUtf8 { artifact: String, path: String },
    #[error(
        "`{path}` appears more than once in {artifact}; tools disagree on which copy counts, so \
         the artifact is refused"
    )]
    DuplicateEntry { artifact: String, path: String },
}

impl From<ArtifactError> for JobError {
    fn from(err: ArtifactError) -> Self {
        let message = err.to_string();
        match err {
            ArtifactError::NotFound { .. } => JobError::revision(message),
            ArtifactError::AccessDenied { .. } => JobError::permission(message),
            ArtifactError::Download { .. } => JobError::system(message),
            _ => JobError::config(message),
        }
    }
}

/// Opens input artifacts. Holds the function's SDK configuration (region, endpoints, retries)
/// but never uses its credentials: each job brings its own.
#[derive(Clone)]
pub struct ArtifactStore {
    base: SdkConfig,
    force_path_style: bool,
    limits: ArtifactLimits,
}

impl ArtifactStore {
    /// Path-style addressing is used when an S3 endpoint is overridden (a local S3 has no
    /// virtual-host buckets).
    pub fn new(base: &SdkConfig) -> Self {
        let overridden = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
        ArtifactStore {
            base: base.clone(),
            force_path_style: overridden,
            limits: ArtifactLimits::default(),
        }
    }

    pub fn with_limits(mut self, limits: ArtifactLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn with_path_style(mut self, force_path_style: bool) -> Self {
        self.force_path_style = force_path_style;
        self
    }

    /// An S3 client with the function's own credentials (its role), for what the function
    /// itself reads or writes, addressed as the artifact clients are.
    pub fn own_client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.base)
            .force_path_style(self.force_path_style)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// An S3 client that signs with the job's artifact credentials.
    pub fn client_for(&self, credentials: &ArtifactCredentials) -> aws_sdk_s3::Client {
        let credentials = Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            credentials.session_token.clone(),
            None,
            "codepipeline-artifact-credentials",
        );
        let config = aws_sdk_s3::config::Builder::from(&self.base)
            .credentials_provider(credentials)
            .force_path_style(self.force_path_style)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Downloads `artifact` (at most `max_download_bytes`) and opens it as a zip.
    pub async fn open(
        &self,
        credentials: &ArtifactCredentials,
        artifact: &InputArtifact,
    ) -> Result<SourceArchive, ArtifactError> {
        let bytes = self
            .download(&self.client_for(credentials), artifact)
            .await?;
        SourceArchive::from_bytes(&artifact.to_string(), bytes, self.limits)
    }

    async fn download(
        &self,
        s3: &aws_sdk_s3::Client,
        artifact: &InputArtifact,
    ) -> Result<Vec<u8>, ArtifactError> {
        let name = artifact.to_string();
        let limit = self.limits.max_download_bytes;
        let response = s3
            .get_object()
            .bucket(&artifact.bucket)
            .key(&artifact.key)
            .send()
            .await
            .map_err(|err| {
                let reason = DisplayErrorContext(&err).to_string();
                let no_such_key = err.as_service_error().is_some_and(|e| e.is_no_such_key());
                match err.code() {
                    _ if no_such_key => ArtifactError::NotFound {
                        artifact: name.clone(),
                        reason,
                    },
                    Some("NoSuchKey" | "NoSuchBucket" | "NotFound") => ArtifactError::NotFound {
                        artifact: name.clone(),
                        reason,
                    },
                    Some(
                        "AccessDenied"
                        | "InvalidAccessKeyId"
                        | "SignatureDoesNotMatch"
                        | "ExpiredToken",
                    ) => ArtifactError::AccessDenied {
                        artifact: name.clone(),
                        reason,
                    },
                    _ => ArtifactError::Download {
                        artifact: name.clone(),
                        reason,
                    },
                }
            })?;
        if let Some(size) = response
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            && size > limit
        {
            return Err(ArtifactError::TooLarge {
                artifact: name,
                size,
                limit,
            });
        }
        // The declared length may lie; count what actually arrives.
        let mut body = response.body;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.try_next().await.map_err(|e| ArtifactError::Download {
            artifact: name.clone(),
            reason: e.to_string(),
        })? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(ArtifactError::TooLarge {
                    artifact: name,
                    size: (bytes.len() + chunk.len()) as u64,
                    limit,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// A zip artifact held in memory, from which single files are read as text.
pub struct SourceArchive {
    name: String,
    zip: ZipArchive<Cursor<Vec<u8>>>,
    limits: ArtifactLimits,
}

impl SourceArchive {
    /// Checks the central directory against the caps before any file is inflated.
    pub fn from_bytes(
        name: &str,
        bytes: Vec<u8>,
        limits: ArtifactLimits,
    ) -> Result<Self, ArtifactError> {
        let artifact = name.to_owned();
        if bytes.len() as u64 > limits.max_download_bytes {
            return Err(ArtifactError::TooLarge {
                artifact,
                size: bytes.len() as u64,
                limit: limits.max_download_bytes,
            });
        }
        // The zip crate allocates and parses as many headers as the end record claims.
        if let Some(count) = declared_entries(&bytes)
            && count > limits.max_entries as u64
        {
            return Err(ArtifactError::TooManyEntries {
                artifact,
                count: usize::try_from(count).unwrap_or(usize::MAX),
                limit: limits.max_entries,
            });
        }
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| ArtifactError::NotAZip {
            artifact: artifact.clone(),
            reason: e.to_string(),
        })?;
        if zip.len() > limits.max_entries {
            return Err(ArtifactError::TooManyEntries {
                artifact,
                count: zip.len(),
                limit: limits.max_entries,
            });
        }
        if zip.has_duplicate_names() {
            let start = zip.central_directory_start();
            let bytes = zip.into_inner().into_inner();
            return Err(ArtifactError::DuplicateEntry {
                path: duplicate_name(&bytes, start).unwrap_or_else(|| "an entry name".to_owned()),
                artifact,
            });
        }
        // The central directory's sizes, also of entries with data descriptors (for which the
        // zip crate's `decompressed_size` gives up); reads stop at an entry's declared size.
        let metadata = zip.metadata();
        let size: u128 = (0..metadata.len())
            .filter_map(|i| metadata.entry(i).ok())
            .map(|entry| u128::from(entry.size()))
            .sum();
        if size > u128::from(limits.max_total_uncompressed_bytes) {
            return Err(ArtifactError::TotalTooLarge {
                artifact,
                size,
                limit: limits.max_total_uncompressed_bytes,
            });
        }
        Ok(SourceArchive {
            name: artifact,
            zip,
            limits,
        })
    }

    /// The text of the file at `path` (e.g. `configuration/trainingjob.json`), or `None` when the
    /// artifact has no such file. Reads at most `max_entry_bytes` whatever the header claims.
    pub fn read_text(&mut self, path: &str) -> Result<Option<String>, ArtifactError> {
        let path = path.trim_start_matches("./").trim_start_matches('/');
        let entry_error = |reason: String| ArtifactError::Entry {
            artifact: self.name.clone(),
            path: path.to_owned(),
            reason,
        };
        let file = match self.zip.by_name(path) {
            Ok(file) => file,
            Err(ZipError::FileNotFound) => return Ok(None),
            Err(err) => return Err(entry_error(err.to_string())),
        };
        let limit = self.limits.max_entry_bytes;
        if file.is_dir() {
            return Err(entry_error("it is a directory".into()));
        }
        if file.size() > limit {
            return Err(ArtifactError::EntryTooLarge {
                artifact: self.name.clone(),
                path: path.to_owned(),
                limit,
            });
        }
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| entry_error(e.to_string()))?;
        if bytes.len() as u64 > limit {
            return Err(ArtifactError::EntryTooLarge {
                artifact: self.name.clone(),
                path: path.to_owned(),
                limit,
            });
        }
        String::from_utf8(bytes)
            .map(|text| {
                Some(
                    text.strip_prefix('\u{feff}')
                        .map(str::to_owned)
                        .unwrap_or(text),
                )
            })
            .map_err(|_| ArtifactError::NotUtf8 {
                artifact: self.name.clone(),
                path: path.to_owned(),
            })
    }

    /// Names of the entries, for messages such as "no such file; the artifact has ...".
    pub fn file_names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter_map(Result::ok)
            .map(|n| n.into_owned())
            .collect()
    }
}

const END: &[u8; 4] = b"PK\x05\x06";
const END64: &[u8; 4] = b"PK\x06\x06";
const CENTRAL: &[u8; 4] = b"PK\x01\x02";
/// An end record is 22 bytes and ends the file but for a comment of up to 64 KiB.
const END_LEN: usize = 22;
const END_SEARCH: usize = END_LEN + (1 << 16);

fn u16_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        bytes.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        bytes.get(at..at + 4)?.try_into().ok()?,
    )))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn positions<'a>(bytes: &'a [u8], signature: &'a [u8; 4]) -> impl Iterator<Item = usize> + 'a {
    bytes
        .windows(signature.len())
        .enumerate()
        .filter(move |(_, window)| window == signature)
        .map(|(at, _)| at)
}

/// The largest entry count any end record claims, read without parsing the central directory.
/// Every candidate the zip crate may settle on counts: each end signature in the last 64 KiB
/// and, when one of them defers to ZIP64, every ZIP64 end record before it.
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    let from = bytes.len().saturating_sub(END_SEARCH);
    let mut most = None;
    // The last end record that defers to ZIP64: every ZIP64 record before it is a candidate. The
    // file is searched for them once, not once per end record (quadratic: minutes on 64 KiB of
    // end records after 32 MiB).
    let mut deferring = None;
    for at in positions(&bytes[from..], END).map(|at| from + at) {
        let (Some(on_disk), Some(total), Some(size), Some(offset)) = (
            u16_at(bytes, at + 8),
            u16_at(bytes, at + 10),
            u32_at(bytes, at + 12),
            u32_at(bytes, at + 16),
        ) else {
            continue;
        };
        most = most.max(Some(on_disk.max(total)));
        let zip64 = total == u64::from(u16::MAX)
            || size == u64::from(u32::MAX)
            || offset == u64::from(u32::MAX);
        if zip64 {
            deferring = Some(at);
        }
    }
    if let Some(at) = deferring {
        for record in positions(&bytes[..at], END64) {
            let counts = u64_at(bytes, record + 24).zip(u64_at(bytes, record + 32));
            most = most.max(counts.map(|(on_disk, total)| on_disk.max(total)));
        }
    }
    most
}

/// The first name that appears twice in the central directory; the zip crate keeps only the
/// last entry of a name.
fn duplicate_name(bytes: &[u8], central_directory_start: u64) -> Option<String> {
    let mut at = usize::try_from(central_directory_start).ok()?;
    let mut seen = std::collections::HashSet::new();
    // Bounded: the entry count was checked, and every header moves forward.
    while bytes.get(at..at + 4) == Some(&CENTRAL[..]) {
        let name_len = usize::try_from(u16_at(bytes, at + 28)?).ok()?;
        let extra_len = usize::try_from(u16_at(bytes, at + 30)?).ok()?;
        let comment_len = usize::try_from(u16_at(bytes, at + 32)?).ok()?;
        let name = bytes.get(at + 46..at + 46 + name_len)?;
        if !seen.insert(name) {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in files {
            out.start_file(
                *name,
                SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
            )
            .unwrap();
            out.write_all(data).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    fn open(bytes: Vec<u8>, limits: ArtifactLimits) -> Result<SourceArchive, ArtifactError> {
        SourceArchive::from_bytes("input artifact SourceOutput", bytes, limits)
    }

    #[test]
    fn reads_a_file_and_reports_a_missing_one() {
        let mut zip = open(
            zip_of(&[("configuration/trainingjob.json", b"{}")]),
            ArtifactLimits::default(),
        )
        .unwrap();
        assert_eq!(
            zip.read_text("configuration/trainingjob.json")
                .unwrap()
                .as_deref(),
            Some("{}")
        );
        assert_eq!(
            zip.read_text("./configuration/trainingjob.json")
                .unwrap()
                .as_deref(),
            Some("{}")
        );
        assert_eq!(zip.read_text("configuration/tuning.json").unwrap(), None);
        assert_eq!(
            zip.file_names(),
            vec!["configuration/trainingjob.json".to_owned()]
        );
    }

    #[test]
    fn strips_a_byte_order_mark() {
        let mut zip = open(
            zip_of(&[("a.json", "\u{feff}{}".as_bytes())]),
            ArtifactLimits::default(),
        )
        .unwrap();
        assert_eq!(zip.read_text("a.json").unwrap().as_deref(), Some("{}"));
    }

    #[test]
    fn not_a_zip() {
        let err = open(b"this is not a zip".to_vec(), ArtifactLimits::default())
            .err()
            .unwrap();
        assert!(matches!(err, ArtifactError::NotAZip { .. }), "{err}");
        assert!(JobError::from(err).message.contains("not a zip archive"));
    }

    #[test]
    fn zip_bomb_is_refused_before_inflating() {
        // 64 MiB of zeros deflates to a few tens of KiB.
        let bomb = zip_of(&[("zeros.bin", &vec![0u8; 64 * MIB as usize])]);
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        let limits = ArtifactLimits {
            max_total_uncompressed_bytes: 16 * MIB,
            ..ArtifactLimits::default()
        };
        let err = open(bomb, limits).err().unwrap();
        assert!(matches!(err, ArtifactError::TotalTooLarge { .. }), "{err}");
    }

    #[test]
    fn large_entry_is_refused() {
        let mut zip = open(
            zip_of(&[("big.json", &vec![b' '; 2 * MIB as usize])]),
            ArtifactLimits::default(),
        )
        .unwrap();
        let err = zip.read_text("big.json").unwrap_err();
        assert!(matches!(err, ArtifactError::EntryTooLarge { .. }), "{err}");
    }

    #[test]
    fn too_many_entries_and_too_large_download() {
        let files: Vec<(String, &[u8])> = (0..20).map(|i| (format!("f{i}"), &b"x"[..])).collect();
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        let limits = ArtifactLimits {
            max_entries: 10,
            ..ArtifactLimits::default()
        };
        assert!(matches!(
            open(zip_of(&refs), limits),
            Err(ArtifactError::TooManyEntries { count: 20, .. })
        ));
        let limits = ArtifactLimits {
            max_download_bytes: 10,
            ..ArtifactLimits::default()
        };
        assert!(matches!(
            open(zip_of(&refs), limits),
            Err(ArtifactError::TooLarge { .. })
        ));
    }

    #[test]
    fn binary_file_is_not_text() {
        let mut zip = open(
            zip_of(&[("a.json", &[0xff, 0xfe, 0x00])]),
            ArtifactLimits::default(),
        )
        .unwrap();
        assert!(matches!(
            zip.read_text("a.json"),
            Err(ArtifactError::NotUtf8 { .. })
        ));
    }

    #[test]
    fn many_end_records_deferring_to_zip64_are_read_in_linear_time() {
        // Found while fuzzing the zip reader (with a crafted input: the fuzzer's are too small to
        // show it): every end signature that deferred to ZIP64 searched the whole file again.
        let mut end = b"PK\x05\x06".to_vec();
        end.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // disks and entry counts
        end.extend_from_slice(&[0xff; 8]); // directory size and offset: see the ZIP64 record
        end.extend_from_slice(&[0, 0]); // comment length
        let tail = end.repeat(65_536 / end.len());
        let mut bytes = vec![0u8; 8 * MIB as usize - tail.len()];
        bytes.extend_from_slice(&tail);
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(open(bytes, ArtifactLimits::default()).err());
        });
        let result = finished.recv_timeout(std::time::Duration::from_secs(60));
        assert!(
            matches!(result, Ok(Some(ArtifactError::NotAZip { .. }))),
            "{result:?}"
        );
    }

    #[test]
    fn errors_map_to_failure_kinds() {
        use crate::FailureKind;
        let nf = ArtifactError::NotFound {
            artifact: "a".into(),
            reason: "r".into(),
        };
        assert_eq!(JobError::from(nf).kind, FailureKind::RevisionUnavailable);
        let ad = ArtifactError::AccessDenied {
            artifact: "a".into(),
            reason: "r".into(),
        };
        assert_eq!(JobError::from(ad).kind, FailureKind::PermissionError);
    }
}
