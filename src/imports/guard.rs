//! TEMPORARY stub; replaced by the guard branch.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_rows: u32,
    pub max_uncompressed_bytes: u64,
    pub max_ratio: u64,
    pub max_shared_strings: u64,
}
impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 50 << 20,
            max_rows: 1_048_576,
            max_uncompressed_bytes: 2 << 30,
            max_ratio: 1000,
            max_shared_strings: 10_000_000,
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
    Csv,
}
#[derive(Debug, thiserror::Error)]
#[error("bad file")]
pub struct GuardError;
impl GuardError {
    pub fn zh(&self) -> String {
        "坏文件".into()
    }
}
pub fn inspect(bytes: &[u8], _limits: &Limits) -> Result<FileFormat, GuardError> {
    if bytes.is_empty() {
        return Err(GuardError);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(FileFormat::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Ok(FileFormat::Xls);
    }
    Ok(FileFormat::Csv)
}
