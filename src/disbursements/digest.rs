//! Keys of the repeated-voucher check: a (contract code, voucher) pair as two digests.

use std::hash::BuildHasher;

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

/// The (code, voucher) pairs of a file seen so far, each with its first row and, once
/// accepted as a new payment, its amount (what a later reversal in the file may name).
///
/// One table of indices into columns rather than a map of 16-byte keys to a separate list:
/// at a million rows a map of digests took 2^21 buckets of 25 bytes (52 MB, and 78 MB while
/// it grew) plus 24 MB of (row, amount) pairs; this takes 5-byte buckets and 28 bytes a pair,
/// about 40 MB. The digests are already uniformly random: the first is the hash.
#[derive(Default)]
pub(super) struct Seen {
    index: hashbrown::HashTable<u32>,
    digests: Vec<[u64; 2]>,
    rows: Vec<u32>,
    /// The amount in fen, or `NOT_ACCEPTED`.
    amounts: Vec<i64>,
}

/// No amount is `i64::MIN` fen: `Money` holds at most `i64::MAX` fen either way (money.rs).
const NOT_ACCEPTED: i64 = i64::MIN;

impl Seen {
    /// The pair's index: `Err` with the earlier one's if it was seen, else `Ok` with its new
    /// index, noted at `row`.
    pub(super) fn insert(&mut self, digest: [u64; 2], row: u32) -> Result<usize, usize> {
        let digests = &self.digests;
        if let Some(&i) = self
            .index
            .find(digest[0], |&i| digests[i as usize] == digest)
        {
            return Err(i as usize);
        }
        let i = self.digests.len();
        let digests = &self.digests;
        self.index
            .insert_unique(digest[0], i as u32, |&j| digests[j as usize][0]);
        self.digests.push(digest);
        self.rows.push(row);
        self.amounts.push(NOT_ACCEPTED);
        Ok(i)
    }

    pub(super) fn get(&self, digest: [u64; 2]) -> Option<usize> {
        self.index
            .find(digest[0], |&i| self.digests[i as usize] == digest)
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
}
