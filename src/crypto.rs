//! The two hashes and the one source of secrets the program uses: SHA-256 of files and of
//! session ids and tokens (stored instead of the secrets), and random secrets.

use rand::Rng;
use sha2::{Digest, Sha256};

/// SHA-256 of bytes, lowercase hex: a file's fingerprint as the imports page shows it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of a text (a session id, a token), lowercase hex: what the database keeps.
pub fn sha256(s: &str) -> String {
    sha256_hex(s.as_bytes())
}

/// A random secret, hex: 32 bytes for sessions and tokens.
pub fn secret() -> String {
    hex::encode(rand::rng().random::<[u8; 32]>())
}

/// Equal in time whatever the first difference: for comparing a secret someone shows (a
/// CSRF token) with the one kept.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
