//! The random numbers of one variant: a small generator seeded from the run
//! seed, the example's id and the op's place, never a global one.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The seed of variant `variant` of example `example_id` under run seed
/// `run_seed`: what the row's `aug_seed` records.
pub fn variant_seed(run_seed: u64, example_id: &str, variant: u64) -> u64 {
    let mut key = Vec::with_capacity(example_id.len() + 8);
    key.extend_from_slice(example_id.as_bytes());
    key.extend_from_slice(&variant.to_le_bytes());
    xxh3_64_with_seed(&key, run_seed)
}

/// The seed of op `op` (its index in the config) inside a variant.
pub fn op_seed(variant_seed: u64, op: usize) -> u64 {
    xxh3_64_with_seed(&(op as u64).to_le_bytes(), variant_seed)
}

/// SplitMix64: fast, small state, and good enough for choosing edits.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), without modulo bias worth noticing.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p >= 1.0 || self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `k` distinct elements of `items`, in the order drawn (partial
    /// Fisher–Yates on a copy).
    pub fn sample<T: Copy>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut pool = items.to_vec();
        let k = k.min(pool.len());
        for i in 0..k {
            let j = i + self.below(pool.len() - i);
            pool.swap(i, j);
        }
        pool.truncate(k);
        pool
    }

    /// An index drawn with probability proportional to its weight (all
    /// weights zero: uniform).
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        if total == 0 {
            return self.below(weights.len());
        }
        let mut x = ((u128::from(self.next_u64()) * u128::from(total)) >> 64) as u64;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_depend_on_every_part() {
        let a = variant_seed(1, "x", 0);
        assert_eq!(a, variant_seed(1, "x", 0));
        assert_ne!(a, variant_seed(2, "x", 0));
        assert_ne!(a, variant_seed(1, "y", 0));
        assert_ne!(a, variant_seed(1, "x", 1));
        assert_ne!(op_seed(a, 0), op_seed(a, 1));
    }

    #[test]
    fn draws_stay_in_range_and_spread() {
        let mut rng = Rng::new(7);
        let mut seen = [0usize; 5];
        for _ in 0..5000 {
            seen[rng.below(5)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        let s = rng.sample(&[1, 2, 3, 4, 5, 6], 4);
        let mut d = s.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), 4);
        let mut heavy = 0;
        for _ in 0..1000 {
            heavy += usize::from(rng.weighted(&[1, 0, 9]) == 2);
        }
        assert!(heavy > 820, "{heavy}");
        assert_ne!(rng.weighted(&[1, 0, 9]), 1);
    }
}
