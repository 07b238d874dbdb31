//! MinHash signatures over shingles (character n-grams for CJK text, word
//! n-grams otherwise), their similarity estimate, and the LSH parameters
//! and band keys that [`crate::lsh`] buckets them by.

use rayon::prelude::*;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::is_cjk;

/// Computes signatures with `num_perm` hash functions derived from a seed.
#[derive(Debug, Clone)]
pub struct MinHasher {
    a: Vec<u64>,
    b: Vec<u64>,
    char_shingle: usize,
    word_shingle: usize,
}

impl MinHasher {
    pub fn new(num_perm: usize, seed: u64, char_shingle: usize, word_shingle: usize) -> Self {
        // Each permutation is h ↦ (a·h + b) >> 32 over 64-bit shingle hashes,
        // with odd multipliers: multiply-shift hashing.
        let a = (0..num_perm as u64)
            .map(|i| xxh3_64_with_seed(&i.to_le_bytes(), seed) | 1)
            .collect();
        let b = (0..num_perm as u64)
            .map(|i| xxh3_64_with_seed(&i.to_le_bytes(), seed ^ 0x9E37_79B9_7F4A_7C15))
            .collect();
        Self {
            a,
            b,
            char_shingle: char_shingle.max(1),
            word_shingle: word_shingle.max(1),
        }
    }

    /// Distinct shingle hashes of a text, sorted: character n-grams
    /// (whitespace dropped) when `cjk`, else lowercase word n-grams (joined
    /// by a space).
    pub fn shingles(&self, text: &str, cjk: bool) -> Vec<u64> {
        let mut hashes = self.shingle_hashes(text, cjk);
        radix_sort(&mut hashes);
        hashes.dedup();
        hashes
    }

    /// The signature of a text: that of its shingles, without sorting them
    /// or removing repeats first, which do not change a minimum.
    pub fn text_signature(&self, text: &str, cjk: bool) -> Vec<u32> {
        self.signature(&self.shingle_hashes(text, cjk))
    }

    /// The hash of every shingle of a text, in order, repeats included.
    ///
    /// Each gram is hashed where it lies in one compacted copy of the text,
    /// so no string is built per gram.
    fn shingle_hashes(&self, text: &str, cjk: bool) -> Vec<u64> {
        // The compacted text, and the byte offset where each unit starts
        // and ends (for characters, a unit ends where the next starts).
        let mut compact = String::with_capacity(text.len());
        let mut starts: Vec<usize> = Vec::new();
        let mut ends: Vec<usize> = Vec::new();
        let n = if cjk {
            for c in text.chars().filter(|c| !c.is_whitespace()) {
                starts.push(compact.len());
                compact.push(c);
            }
            ends.extend(starts.iter().skip(1));
            ends.push(compact.len());
            self.char_shingle
        } else {
            for word in text.split_whitespace() {
                if !compact.is_empty() {
                    compact.push(' ');
                }
                starts.push(compact.len());
                if word.is_ascii() {
                    compact.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
                } else {
                    compact.push_str(&word.to_lowercase());
                }
                ends.push(compact.len());
            }
            self.word_shingle
        };
        let bytes = compact.as_bytes();
        match starts.len() {
            0 => Vec::new(),
            units if units < n => vec![xxh3_64(bytes)],
            units => (0..=units - n)
                .map(|i| xxh3_64(&bytes[starts[i]..ends[i + n - 1]]))
                .collect(),
        }
    }

    /// The signature of a set of shingle hashes (all `u32::MAX` when empty).
    ///
    /// The same loop is compiled three times: for AVX-512 (whose 64-bit
    /// vector multiply makes it about six times faster than plain x86-64),
    /// for AVX2, and for the baseline; the CPU picks at run time, and all
    /// three give the same signature.
    pub fn signature(&self, shingles: &[u64]) -> Vec<u32> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                // SAFETY: the CPU has AVX-512F and AVX-512DQ, checked above,
                // which is all `signature_avx512` requires.
                #[allow(unsafe_code)]
                let signature = unsafe { signature_avx512(&self.a, &self.b, shingles) };
                return signature;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, checked above.
                #[allow(unsafe_code)]
                let signature = unsafe { signature_avx2(&self.a, &self.b, shingles) };
                return signature;
            }
        }
        signature_lanes(&self.a, &self.b, shingles)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn signature_avx512(a: &[u64], b: &[u64], shingles: &[u64]) -> Vec<u32> {
    signature_lanes(a, b, shingles)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn signature_avx2(a: &[u64], b: &[u64], shingles: &[u64]) -> Vec<u32> {
    signature_lanes(a, b, shingles)
}

/// Permutation `k` maps a shingle hash `h` to `(a[k]·h + b[k]) >> 32`; the
/// signature holds each permutation's minimum.
#[inline(always)]
fn signature_lanes(a: &[u64], b: &[u64], shingles: &[u64]) -> Vec<u32> {
    // Sixteen permutations at a time: their minima stay in registers while
    // the shingles stream past, and the sixteen independent lanes let the
    // compiler use vector multiplies where the CPU has them.
    const LANES: usize = 16;
    let mut out = Vec::with_capacity(a.len());
    let mut a = a.chunks_exact(LANES);
    let mut b = b.chunks_exact(LANES);
    for (a, b) in (&mut a).zip(&mut b) {
        let a: &[u64; LANES] = a.try_into().expect("chunk of LANES");
        let b: &[u64; LANES] = b.try_into().expect("chunk of LANES");
        let mut min = [u64::MAX; LANES];
        for &h in shingles {
            for k in 0..LANES {
                min[k] = min[k].min(a[k].wrapping_mul(h).wrapping_add(b[k]) >> 32);
            }
        }
        out.extend(min.iter().map(|&m| m.min(u64::from(u32::MAX)) as u32));
    }
    for (&a, &b) in a.remainder().iter().zip(b.remainder()) {
        let min = shingles
            .iter()
            .map(|&h| a.wrapping_mul(h).wrapping_add(b) >> 32)
            .fold(u64::from(u32::MAX), u64::min);
        out.push(min as u32);
    }
    out
}

/// Whether a text is shingled by characters.
pub fn use_char_shingles(text: &str) -> bool {
    let (mut cjk, mut letters) = (0usize, 0usize);
    for c in text.chars() {
        if is_cjk(c) {
            cjk += 1;
            letters += 1;
        } else if c.is_alphabetic() {
            letters += 1;
        }
    }
    letters > 0 && cjk * 10 >= letters * 3
}

/// The fraction of positions where two signatures agree: the estimate of
/// the Jaccard similarity of the shingle sets.
pub fn estimate(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// Exact Jaccard similarity of two sorted, deduplicated shingle sets.
pub fn exact_jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// Bands and rows per band for a Jaccard threshold, minimising the area of
/// false positives below it plus false negatives above it (equal weights),
/// as datasketch's `MinHashLSH` chooses them.
pub fn lsh_params(threshold: f64, num_perm: usize) -> (usize, usize) {
    // Some 700 (b, r) pairs of two integrals each at 128 permutations: a few
    // milliseconds, on the serial path between pass 2 and the candidates,
    // so spread over the pool. Equal errors go to the smallest (b, r), as a
    // scan in that order would pick.
    let (_, b, r) = (1..=num_perm)
        .into_par_iter()
        .flat_map_iter(|b| (1..=num_perm / b).map(move |r| (b, r)))
        .map(|(b, r)| {
            let p = |s: f64| 1.0 - (1.0 - s.powi(r as i32)).powi(b as i32);
            let fp = integrate(&p, 0.0, threshold);
            let fn_ = integrate(&|s| 1.0 - p(s), threshold, 1.0);
            (0.5 * fp + 0.5 * fn_, b, r)
        })
        .reduce(
            || (f64::INFINITY, 1, num_perm.max(1)),
            |x, y| {
                let better = y.0 < x.0 || (y.0 == x.0 && (y.1, y.2) < (x.1, x.2));
                if better { y } else { x }
            },
        );
    (b, r)
}

/// Composite Simpson's rule.
fn integrate(f: &impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let n = 256;
    let h = (b - a) / n as f64;
    let mut sum = f(a) + f(b);
    for i in 1..n {
        let x = a + i as f64 * h;
        sum += f(x) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    sum * h / 3.0
}

/// Sorts 64-bit hashes: a least-significant-digit radix sort on bytes,
/// skipping a byte that every value shares; short slices use the standard
/// sort. For the thousands of random hashes of a document this is several
/// times faster than comparison sorting.
pub fn radix_sort(values: &mut Vec<u64>) {
    if values.len() < 256 {
        values.sort_unstable();
        return;
    }
    let mut counts = [[0usize; 256]; 8];
    for &v in values.iter() {
        for (byte, count) in counts.iter_mut().enumerate() {
            count[((v >> (8 * byte)) & 0xff) as usize] += 1;
        }
    }
    let mut from = std::mem::take(values);
    let mut to = vec![0u64; from.len()];
    for (byte, count) in counts.iter().enumerate() {
        if count.contains(&from.len()) {
            continue;
        }
        let mut next = [0usize; 256];
        let mut sum = 0;
        for (slot, &n) in next.iter_mut().zip(count) {
            *slot = sum;
            sum += n;
        }
        for &v in &from {
            let digit = ((v >> (8 * byte)) & 0xff) as usize;
            to[next[digit]] = v;
            next[digit] += 1;
        }
        std::mem::swap(&mut from, &mut to);
    }
    *values = from;
}

/// The bucket key of band `band` of a signature: the band's number and
/// values hashed together, through `buf` (reused between calls).
pub fn band_key(sig: &[u32], band: usize, rows: usize, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    buf.extend_from_slice(&(band as u64).to_le_bytes());
    for v in &sig[band * rows..(band + 1) * rows] {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    xxh3_64(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jaccard(a: &[u64], b: &[u64]) -> f64 {
        let sa: std::collections::HashSet<_> = a.iter().collect();
        let sb: std::collections::HashSet<_> = b.iter().collect();
        sa.intersection(&sb).count() as f64 / sa.union(&sb).count() as f64
    }

    #[test]
    fn radix_sort_sorts_like_the_standard_sort() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in [0, 1, 255, 256, 257, 1000, 40_000] {
            for shape in 0..4 {
                let values: Vec<u64> = (0..len)
                    .map(|i| match shape {
                        0 => next(),
                        // Repeats, and bytes shared by every value.
                        1 => next() % 50,
                        2 => 0xdead_0000_0000_beef | ((next() & 0xff) << 24),
                        _ => (len - i) as u64,
                    })
                    .collect();
                let mut expected = values.clone();
                expected.sort_unstable();
                let mut sorted = values;
                radix_sort(&mut sorted);
                assert_eq!(sorted, expected, "length {len}, shape {shape}");
            }
        }
    }

    #[test]
    fn signature_estimates_jaccard() {
        let m = MinHasher::new(256, 7, 5, 3);
        let a = "在数据库中，查询可以从一个或多个表中检索记录，并按照指定的条件排序和筛选结果。"
            .repeat(3);
        let b = a.replace("排序", "分组");
        let (sa, sb) = (m.shingles(&a, true), m.shingles(&b, true));
        let exact = jaccard(&sa, &sb);
        let est = estimate(&m.signature(&sa), &m.signature(&sb));
        assert!((exact - est).abs() < 0.1, "exact {exact} estimate {est}");
        assert_eq!(m.text_signature(&a, true), m.signature(&sa));
        let en = "The Quick brown fox jumps over the lazy dog; the quick brown fox jumps again. Ünïcode WORDS";
        assert_eq!(
            m.text_signature(en, false),
            m.signature(&m.shingles(en, false))
        );
    }

    #[test]
    fn signature_is_the_minimum_of_each_permutation() {
        // 37 permutations: two chunks of sixteen and a remainder of five.
        let m = MinHasher::new(37, 3, 5, 3);
        let shingles = m.shingles("a b c d e f g h i j k l m n o p", false);
        let expected: Vec<u32> =
            m.a.iter()
                .zip(&m.b)
                .map(|(&a, &b)| {
                    shingles
                        .iter()
                        .map(|&h| (a.wrapping_mul(h).wrapping_add(b) >> 32) as u32)
                        .min()
                        .unwrap_or(u32::MAX)
                })
                .collect();
        assert_eq!(m.signature(&shingles), expected);
        assert_eq!(signature_lanes(&m.a, &m.b, &shingles), expected);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present, checked just above.
                #[allow(unsafe_code)]
                let avx2 = unsafe { signature_avx2(&m.a, &m.b, &shingles) };
                assert_eq!(avx2, expected);
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                // SAFETY: AVX-512F and DQ are present, checked just above.
                #[allow(unsafe_code)]
                let avx512 = unsafe { signature_avx512(&m.a, &m.b, &shingles) };
                assert_eq!(avx512, expected);
            }
        }
        assert_eq!(m.signature(&[]), vec![u32::MAX; 37]);
    }

    #[test]
    fn lsh_params_match_datasketch() {
        // datasketch 2.0's _optimal_param(t, 128, 0.5, 0.5).
        assert_eq!(lsh_params(0.8, 128), (9, 13));
        assert_eq!(lsh_params(0.7, 128), (14, 9));
        assert_eq!(lsh_params(0.5, 128), (25, 5));
    }

    #[test]
    fn cjk_detection_for_shingling() {
        assert!(use_char_shingles("我们 use LibreOffice 来写文档"));
        assert!(!use_char_shingles(
            "LibreOffice Writer is a word processor 的"
        ));
    }
}
