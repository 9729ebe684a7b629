//! tar.gz as SageMaker uses it: the submit directory comes as one, `model/` and
//! `output/data/` leave as one, with their files at the archive's root.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter};
use std::path::Path;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// Unpacks `archive` into `dest`. Entries that would land outside `dest` (`..`, absolute
/// paths) are refused by `tar` itself.
pub fn unpack(archive: &Path, dest: &Path) -> io::Result<()> {
    let file = BufReader::new(File::open(archive)?);
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    tar.set_preserve_permissions(true);
    tar.unpack(dest)
}

/// Packs the contents of `dir` into `archive`: `dir/a/b` becomes `a/b`.
pub fn pack(dir: &Path, archive: &Path) -> io::Result<()> {
    let file = BufWriter::new(File::create(archive)?);
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    tar.follow_symlinks(false);
    append_children(&mut tar, dir, Path::new(""))?;
    tar.into_inner()?.finish()?.into_inner()?.sync_all()
}

fn append_children<W: io::Write>(
    tar: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &Path,
) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    // Sorted, so the same files give the same archive.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = prefix.join(entry.file_name());
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            tar.append_dir(&name, &path)?;
            append_children(tar, &path, &name)?;
        } else {
            tar.append_path_with_name(&path, &name)?;
        }
    }
    Ok(())
}

/// Whether `dir` holds anything.
pub fn has_files(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_then_unpack_gives_the_same_files_at_the_root() {
        let base = std::env::temp_dir().join(format!("archive-test-{}", std::process::id()));
        let src = base.join("model");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("model.json"), "{}").unwrap();
        fs::write(src.join("sub").join("w.bin"), [1u8, 2, 3]).unwrap();
        let archive = base.join("model.tar.gz");
        pack(&src, &archive).unwrap();

        let file = GzDecoder::new(File::open(&archive).unwrap());
        let mut names: Vec<String> = tar::Archive::new(file)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["model.json", "sub", "sub/w.bin"]);

        let dest = base.join("out");
        fs::create_dir_all(&dest).unwrap();
        unpack(&archive, &dest).unwrap();
        assert_eq!(fs::read(dest.join("sub").join("w.bin")).unwrap(), [1, 2, 3]);
        assert!(has_files(&dest));
        assert!(!has_files(&base.join("missing")));
        fs::remove_dir_all(&base).unwrap();
    }
}
