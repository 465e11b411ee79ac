//! A hasher for keys the trading platform issues (logins, symbol names): a multiply and a
//! rotate per word, where the standard library's SipHash, built to resist keys chosen by an
//! attacker, costs more than the rest of adding a deal to the scoring. These keys are not
//! chosen by whoever could profit from colliding them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by a login or a symbol name.
pub(crate) type PlatformKeyMap<K, V> = HashMap<K, V, BuildHasherDefault<PlatformKeyHasher>>;

/// After rustc's `FxHasher` (rustc-hash 2): add, multiply, and a rotate at the end.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PlatformKeyHasher(u64);

const MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;

impl Hasher for PlatformKeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(n).wrapping_mul(MULTIPLIER);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    /// The multiply leaves its best-mixed bits at the top; the table picks buckets by the
    /// bottom ones.
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    fn hash<T: std::hash::Hash>(key: T) -> u64 {
        BuildHasherDefault::<PlatformKeyHasher>::default().hash_one(key)
    }

    #[test]
    fn consecutive_logins_and_similar_symbols_spread_over_the_buckets() {
        // the bottom 10 bits pick one of 1024 buckets: 1024 consecutive logins fill most
        let buckets: HashSet<u64> = (5_000_000u64..5_001_024).map(|l| hash(l) & 1023).collect();
        assert!(buckets.len() > 600, "{} buckets", buckets.len());
        let symbols = [
            "EURUSD", "EURUSD.m", "EURUSD.", "USDEUR", "", "XAUUSD", "XAGUSD",
        ];
        let hashes: HashSet<u64> = symbols.iter().map(hash).collect();
        assert_eq!(hashes.len(), symbols.len());
        let mut map = PlatformKeyMap::default();
        map.insert(7u64, "seven");
        assert_eq!(map.get(&7), Some(&"seven"));
    }
}
