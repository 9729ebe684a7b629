//! gzipped tar archives, as SageMaker takes a source directory (sourcedir.tar.gz).

use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

/// A gzipped tar of `(path, text)` files.
pub fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        let appended = tar.append_data(&mut header, path, text.as_bytes());
        assert!(appended.is_ok(), "tar entry {path}: {appended:?}");
    }
    finish(tar)
}

/// A gzipped tar of the files directly in `dir` (at the archive's root; folders are left out).
pub fn tar_gz_dir(dir: &Path) -> Vec<u8> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let appended = tar.append_path_with_name(entry.path(), entry.file_name());
            assert!(
                appended.is_ok(),
                "tar entry {}: {appended:?}",
                entry.path().display()
            );
        }
    }
    finish(tar)
}

fn finish(tar: tar::Builder<GzEncoder<Vec<u8>>>) -> Vec<u8> {
    let gz = tar.into_inner().unwrap_or_else(|e| panic!("tar: {e}"));
    gz.finish().unwrap_or_else(|e| panic!("gzip: {e}"))
}
