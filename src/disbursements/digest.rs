//! Keys of the repeated-voucher check: a (contract code, voucher) pair as two digests.

use std::hash::BuildHasher;

/// A (contract code, voucher) pair as two independent SipHash digests, keyed at random per
/// import, of 64 and 32 bits. A million-row file keeps one per row to find repeated vouchers:
/// 12 bytes instead of a 40-byte key and a copy of the voucher, about 50 MB less at a million
/// rows. Two different pairs share both digests with a chance of about n^2 / 2^97 (10^-17
/// for a million rows), and such a collision could only report a payment as a duplicate,
/// refusing the file: it can never let a wrong row in.
#[derive(Default)]
pub(super) struct PairDigest {
    a: std::hash::RandomState,
    b: std::hash::RandomState,
}

impl PairDigest {
    pub(super) fn of(&self, code: &str, voucher: &str) -> Digest {
        Digest {
            hash: self.a.hash_one((code, voucher)),
            check: self.b.hash_one((code, voucher)) as u32,
        }
    }
}

/// A pair's digests: `hash` places it in the table, `check` tells apart two pairs that share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Digest {
    hash: u64,
    check: u32,
}

/// The (code, voucher) pairs of a file seen so far, each with its first row and, once
/// accepted as a new payment, its amount (what a later reversal in the file may name).
///
/// One table of indices into columns rather than a map of 16-byte keys to a separate list:
/// at a million rows a map of digests took 2^21 buckets of 25 bytes (52 MB, and 78 MB while
/// it grew) plus 24 MB of (row, amount) pairs; this takes 5-byte buckets and 24 bytes a pair,
/// about 35 MB. The digests are already uniformly random: the first is the hash.
#[derive(Default)]
pub(super) struct Seen {
    index: hashbrown::HashTable<u32>,
    hashes: Vec<u64>,
    checks: Vec<u32>,
    rows: Vec<u32>,
    /// The amount in fen, or `NOT_ACCEPTED`.
    amounts: Vec<i64>,
}

/// No amount is `i64::MIN` fen: `Money` holds at most `i64::MAX` fen either way (money.rs).
const NOT_ACCEPTED: i64 = i64::MIN;

impl Seen {
    /// The pair's index: `Err` with the earlier one's if it was seen, else `Ok` with its new
    /// index, noted at `row`.
    pub(super) fn insert(&mut self, digest: Digest, row: u32) -> Result<usize, usize> {
        if let Some(i) = self.get(digest) {
            return Err(i);
        }
        let i = self.hashes.len();
        let hashes = &self.hashes;
        self.index
            .insert_unique(digest.hash, i as u32, |&j| hashes[j as usize]);
        self.hashes.push(digest.hash);
        self.checks.push(digest.check);
        self.rows.push(row);
        self.amounts.push(NOT_ACCEPTED);
        Ok(i)
    }

    pub(super) fn get(&self, digest: Digest) -> Option<usize> {
        self.index
            .find(digest.hash, |&i| {
                self.hashes[i as usize] == digest.hash && self.checks[i as usize] == digest.check
            })
            .map(|&i| i as usize)
    }

    pub(super) fn first_row(&self, i: usize) -> u32 {
        self.rows[i]
    }

    pub(super) fn amount(&self, i: usize) -> Option<i64> {
        Some(self.amounts[i]).filter(|&a| a != NOT_ACCEPTED)
    }

    pub(super) fn accept(&mut self, i: usize, amount_fen: i64) {
        self.amounts[i] = amount_fen;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_seen_again_names_its_first_row_and_its_amount_once_accepted() {
        let d = PairDigest::default();
        let mut seen = Seen::default();
        let a = seen.insert(d.of("GD-001", "V1"), 2).unwrap();
        let b = seen.insert(d.of("GD-002", "V1"), 3).unwrap();
        assert_ne!(a, b);
        assert_eq!(seen.insert(d.of("GD-001", "V1"), 9), Err(a));
        assert_eq!(seen.first_row(a), 2);
        assert_eq!(seen.amount(a), None);
        seen.accept(a, -5);
        assert_eq!(seen.amount(a), Some(-5));
        assert_eq!(seen.get(d.of("GD-002", "V1")), Some(b));
        assert_eq!(seen.get(d.of("GD-003", "V1")), None);
        for row in 0..100_000u32 {
            assert!(seen.insert(d.of("GD-009", &row.to_string()), row).is_ok());
        }
        assert_eq!(
            seen.get(d.of("GD-009", "77")).map(|i| seen.first_row(i)),
            Some(77)
        );
    }

    #[test]
    fn pairs_that_share_the_hash_but_not_the_check_are_different_pairs() {
        let mut seen = Seen::default();
        let one = Digest { hash: 7, check: 1 };
        let other = Digest { hash: 7, check: 2 };
        let a = seen.insert(one, 2).unwrap();
        let b = seen.insert(other, 3).unwrap();
        assert_ne!(a, b);
        assert_eq!(seen.insert(other, 4), Err(b));
        assert_eq!(seen.get(one), Some(a));
    }
}
