//! Groups (connected components of rows that share a key) and their
//! placement into splits by rows.

/// Union-find over row numbers, with path halving and union by size.
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    pub fn union(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }

    /// The group of every element, numbered 0.. in order of first element.
    pub fn groups(&mut self) -> (Vec<u32>, usize) {
        let n = self.parent.len();
        let mut number = vec![u32::MAX; n];
        let mut of = Vec::with_capacity(n);
        let mut next = 0u32;
        for x in 0..n as u32 {
            let root = self.find(x) as usize;
            if number[root] == u32::MAX {
                number[root] = next;
                next += 1;
            }
            of.push(number[root]);
        }
        (of, next as usize)
    }
}

/// A group still to be placed.
#[derive(Debug, Clone, Copy)]
pub struct Free {
    pub group: u32,
    pub rows: u64,
    /// Groups are taken in ascending order of this key (a seeded hash of the
    /// group for the ratio rule, its newest time reversed for the time rule).
    pub order: u64,
}

/// Places `free` groups so that each split's rows come as close to its
/// target as one group allows, given the rows `counts` already placed.
///
/// Groups are taken in `order` and fill the splits in the order `fill`
/// names them: a group goes to the split being filled while it overshoots
/// that split's target by at most half its own rows; otherwise filling
/// moves on, and the last split takes the rest. Returns the split of each
/// free group, in `free`'s order; `counts` is updated.
pub fn place(free: &[Free], targets: [f64; 3], counts: &mut [u64; 3], fill: [usize; 3]) -> Vec<u8> {
    let mut order: Vec<usize> = (0..free.len()).collect();
    order.sort_by_key(|&i| (free[i].order, free[i].group));
    let mut out = vec![0u8; free.len()];
    let mut k = 0;
    for i in order {
        let rows = free[i].rows;
        while k + 1 < fill.len() {
            let s = fill[k];
            if (counts[s] + rows) as f64 <= targets[s] + rows as f64 / 2.0 {
                break;
            }
            k += 1;
        }
        let s = fill[k];
        out[i] = s as u8;
        counts[s] += rows;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_numbered_in_order_of_first_row() {
        let mut uf = UnionFind::new(6);
        uf.union(4, 1);
        uf.union(5, 4);
        uf.union(2, 3);
        let (of, n) = uf.groups();
        assert_eq!(n, 3);
        assert_eq!(of, vec![0, 1, 2, 2, 1, 1]);
    }

    #[test]
    fn placement_meets_targets_within_a_group() {
        let free: Vec<Free> = (0..100)
            .map(|g| Free {
                group: g,
                rows: 1 + (g as u64 * 7919) % 13,
                order: (g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            })
            .collect();
        let total: u64 = free.iter().map(|f| f.rows).sum();
        let ratios = [0.8, 0.1, 0.1];
        let targets = ratios.map(|r| r * total as f64);
        let mut counts = [0; 3];
        let placed = place(&free, targets, &mut counts, [0, 1, 2]);
        assert_eq!(counts.iter().sum::<u64>(), total);
        for s in 0..3 {
            assert!(
                (counts[s] as f64 - targets[s]).abs() <= 13.0,
                "{counts:?} vs {targets:?}"
            );
            let rows: u64 = free
                .iter()
                .zip(&placed)
                .filter(|(_, p)| **p as usize == s)
                .map(|(f, _)| f.rows)
                .sum();
            assert_eq!(rows, counts[s]);
        }
    }
}
