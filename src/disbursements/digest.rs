//! Keys of the repeated-voucher check: a (contract code, voucher) pair as two digests.

use std::hash::{BuildHasher, Hasher};

/// A (contract code, voucher) pair as two independent 64-bit SipHash digests, keyed at
/// random per import. A million-row file keeps one per row to find repeated vouchers: 16
/// bytes instead of a 40-byte key and a copy of the voucher, about 50 MB less at a million
/// rows. Two different pairs share both digests with a chance of about n^2 / 2^129 (10^-27
/// for a million rows), and such a collision could only report a payment as a duplicate,
/// refusing the file: it can never let a wrong row in.
#[derive(Default)]
pub(super) struct PairDigest {
    a: std::hash::RandomState,
    b: std::hash::RandomState,
}

impl PairDigest {
    pub(super) fn of(&self, code: &str, voucher: &str) -> [u64; 2] {
        [
            self.a.hash_one((code, voucher)),
            self.b.hash_one((code, voucher)),
        ]
    }
}

/// The digests are already uniformly random: the map uses the first as the hash.
#[derive(Default)]
pub(super) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `[u64; 2]` keys are hashed (a length prefix, then both words as bytes): the
        // words XORed are as random as either.
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(w);
        }
    }
}
