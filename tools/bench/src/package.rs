//! Release zips: our functions' `bootstrap` per architecture (built by cargo-lambda), and the
//! Python baseline's handler, alone and with boto3 vendored. Zipped by `tools/bench/sam_zip.py`
//! exactly as `sam deploy` zips a function (Python's zipfile, deflate at zlib's default level).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::report::Zip;

/// What boto3 brings (Lambda's Python runtime ships these).
pub const BOTO3_PACKAGES: [&str; 7] = [
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "six.py",
    "urllib3",
];

pub struct Packager {
    /// A Python 3 to run sam_zip.py with.
    pub python: PathBuf,
    pub sam_zip: PathBuf,
    /// Where the zips go.
    pub out: PathBuf,
}

/// The ELF machine of a binary's header: `arm64`, `x86_64` or `None`.
pub fn elf_arch(header: &[u8]) -> Option<&'static str> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        return None;
    }
    match u16::from_le_bytes([header[18], header[19]]) {
        0xb7 => Some("arm64"),
        0x3e => Some("x86_64"),
        _ => None,
    }
}

impl Packager {
    fn zip(&self, out: &Path, inputs: &[PathBuf]) -> Result<u64, String> {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let status = Command::new(&self.python)
            .arg(&self.sam_zip)
            .arg(out)
            .args(inputs)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        if !status.success() {
            return Err(format!("sam_zip.py {} failed ({status})", out.display()));
        }
        std::fs::metadata(out)
            .map(|m| m.len())
            .map_err(|e| format!("{}: {e}", out.display()))
    }

    /// The zip of `<lambda_dir>/<arch>/<function>/bootstrap`; `None` when it was not built.
    pub fn ours(
        &self,
        lambda_dir: &Path,
        function: &str,
        arch: &str,
    ) -> Result<Option<Zip>, String> {
        let bootstrap = lambda_dir.join(arch).join(function).join("bootstrap");
        let Ok(bytes) = std::fs::read(&bootstrap) else {
            return Ok(None);
        };
        if elf_arch(&bytes) != Some(arch) {
            return Err(format!(
                "{} is not an {arch} ELF binary",
                bootstrap.display()
            ));
        }
        let out = self.out.join(arch).join(format!("{function}.zip"));
        let size = self.zip(&out, &[bootstrap])?;
        Ok(Some(Zip {
            arch: arch.to_owned(),
            bytes: size,
            contents: "bootstrap".to_owned(),
        }))
    }

    /// The baseline's zips: the handler alone (Lambda's Python runtime provides boto3) and the
    /// handler with boto3 and its dependencies vendored from `site_packages`.
    pub fn baseline(&self, handler: &Path, site_packages: &Path) -> Result<Vec<Zip>, String> {
        let alone = self.zip(
            &self.out.join("baseline/handler-only.zip"),
            &[handler.to_owned()],
        )?;
        let mut inputs = vec![handler.to_owned()];
        for package in BOTO3_PACKAGES {
            let path = site_packages.join(package);
            if !path.exists() {
                return Err(format!(
                    "{} is missing (run tools/bench/venv)",
                    path.display()
                ));
            }
            inputs.push(path);
        }
        let vendored = self.zip(&self.out.join("baseline/handler-boto3.zip"), &inputs)?;
        Ok(vec![
            Zip {
                arch: "any".to_owned(),
                bytes: alone,
                contents: "handler.py".to_owned(),
            },
            Zip {
                arch: "any".to_owned(),
                bytes: vendored,
                contents: format!("handler.py + boto3 ({})", BOTO3_PACKAGES.join(", ")),
            },
        ])
    }
}

/// `<venv>/lib/python3.X/site-packages`.
pub fn site_packages(venv: &Path) -> Option<PathBuf> {
    std::fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_machines() {
        let mut header = vec![0u8; 20];
        header[..4].copy_from_slice(b"\x7fELF");
        header[18] = 0xb7;
        assert_eq!(elf_arch(&header), Some("arm64"));
        header[18] = 0x3e;
        assert_eq!(elf_arch(&header), Some("x86_64"));
        header[18] = 0x28;
        assert_eq!(elf_arch(&header), None);
        assert_eq!(elf_arch(b"#!/bin/sh"), None);
    }
}
