//! Lambda deployment packages: one zip per function holding the `bootstrap` and the compiled
//! pipeline (`pipeline.json`), byte-for-byte reproducible (fixed order, timestamps, modes and
//! compression level), so the same inputs always give the same SHA-256 and a plan shows a
//! code change only when the code or the pipeline changed. Also the check that a bootstrap
//! runs on Lambda's provided.al2023 (glibc 2.34).

use sha2::{Digest, Sha256};
use std::io::Write;
use zip::write::SimpleFileOptions;

/// The functions of a pipeline, each a zip of the same bootstrap run with its own handler.
pub const FUNCTIONS: [&str; 3] = ["transform", "compact", "notify"];

/// The newest glibc symbol version Lambda's provided.al2023 has.
pub const LAMBDA_GLIBC: (u32, u32) = (2, 34);

/// A built package.
pub struct Package {
    pub bytes: Vec<u8>,
}

impl Package {
    /// Hex SHA-256 of the zip.
    pub fn sha256_hex(&self) -> String {
        sha256_hex(&self.bytes)
    }

    /// What Lambda reports as the function's `CodeSha256`: base64 of the SHA-256.
    pub fn code_sha256(&self) -> String {
        stk_deploy::graph::sha256_base64(&self.bytes)
    }
}

/// Hex SHA-256 of some bytes, as `sha256sum` and `SHA256SUMS` write it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The zip of a bootstrap and a compiled pipeline.
pub fn build(bootstrap: &[u8], pipeline_json: &str) -> zip::result::ZipResult<Package> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let base = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(zip::DateTime::default())
        .system(zip::System::Unix);
    w.start_file("bootstrap", base.unix_permissions(0o755))?;
    w.write_all(bootstrap)?;
    w.start_file("pipeline.json", base.unix_permissions(0o644))?;
    w.write_all(pipeline_json.as_bytes())?;
    Ok(Package {
        bytes: w.finish()?.into_inner(),
    })
}

/// The newest `GLIBC_x.y` symbol version an ELF binary names (its dynamic string table
/// holds the version names it needs), or `None` for a static binary.
pub fn newest_glibc(binary: &[u8]) -> Option<(u32, u32)> {
    const TAG: &[u8] = b"GLIBC_";
    let mut newest: Option<(u32, u32)> = None;
    let mut i = 0;
    while let Some(pos) = find(&binary[i..], TAG) {
        let start = i + pos + TAG.len();
        let digits: Vec<u8> = binary[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .copied()
            .collect();
        let text = String::from_utf8_lossy(&digits);
        let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
        if let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) {
            newest = newest.max(Some((major, minor)));
        }
        i = start;
    }
    newest
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_inputs_give_the_same_zip() {
        let a = build(b"\x7fELF fake", "{}").unwrap();
        let b = build(b"\x7fELF fake", "{}").unwrap();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.sha256_hex().len(), 64);
        let c = build(b"\x7fELF fake", "{\"x\":1}").unwrap();
        assert_ne!(a.sha256_hex(), c.sha256_hex());
    }

    #[test]
    fn zip_entries_have_fixed_modes_and_times() {
        let p = build(b"bin", "{}").unwrap();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(p.bytes)).unwrap();
        let names: Vec<String> = z.file_names().map(|n| n.unwrap().into_owned()).collect();
        assert_eq!(names, ["bootstrap", "pipeline.json"]);
        let f = z.by_name("bootstrap").unwrap();
        assert_eq!(f.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(f.last_modified(), Some(zip::DateTime::default()));
    }

    #[test]
    fn glibc_versions_are_read_from_the_string_table() {
        let bin = b"\0libc.so.6\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0";
        assert_eq!(newest_glibc(bin), Some((2, 34)));
        assert_eq!(newest_glibc(b"static"), None);
    }
}
