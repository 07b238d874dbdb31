//! Matching the segments of two pages: by element id, or by paragraph
//! order and length in the manner of Gale and Church (1993).

use std::collections::HashMap;
use std::ops::Range;

/// One crawled page: its lines (the paragraphs of `text`) and the block id
/// of each (`""` when none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub doc_id: String,
    pub url: String,
    pub lines: Vec<String>,
    pub ids: Vec<String>,
}

/// A matched pair: lines of the source page and of the target page.
#[derive(Debug, Clone, PartialEq)]
pub struct Bead {
    pub src: Range<usize>,
    pub tgt: Range<usize>,
    /// The shared element id, for a pair made by id.
    pub id: Option<String>,
    /// Gale–Church's length-match probability of the two sides, 0–1.
    pub score: f64,
}

/// A text whitespace-free and lower-cased: the key two texts are compared
/// by when repeats are found (align's and examples' `duplicate`, a title's
/// line in its page).
pub fn text_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Lengths in characters, ignoring whitespace.
pub fn length(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// A Han character (CJK unified ideographs and their extensions).
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FFFF)
}

/// Lines joined into one segment: nothing between two CJK characters, a
/// space otherwise.
pub fn join(lines: &[String]) -> String {
    let mut out = String::new();
    for line in lines {
        if let (Some(a), Some(b)) = (out.chars().last(), line.chars().next())
            && !(is_cjk(a) && is_cjk(b))
        {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

/// Gale and Church's model of the target length of a source segment:
/// `tgt ≈ ratio × src`, with variance `variance × src`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LengthModel {
    pub ratio: f64,
    pub variance: f64,
}

impl LengthModel {
    /// Gale and Church's figures for European languages (lengths in
    /// characters).
    pub const EUROPEAN: Self = Self {
        ratio: 1.0,
        variance: 6.8,
    };

    /// Estimates the model from pairs of lengths (ratio of sums; variance
    /// of the residuals per source character), with `fallback` when there
    /// are too few pairs.
    pub fn estimate(pairs: &[(usize, usize)], fallback: Self) -> Self {
        let usable: Vec<(f64, f64)> = pairs
            .iter()
            .filter(|(a, b)| *a > 0 && *b > 0)
            .map(|&(a, b)| (a as f64, b as f64))
            .collect();
        if usable.len() < 20 {
            return fallback;
        }
        let (sa, sb) = usable
            .iter()
            .fold((0.0, 0.0), |(x, y), (a, b)| (x + a, y + b));
        let ratio = sb / sa;
        // Var(tgt − ratio·src) = variance · src, so variance is the sum of
        // the squared residuals over the sum of the source lengths.
        let sq: f64 = usable.iter().map(|(a, b)| (b - ratio * a).powi(2)).sum();
        let variance = (sq / sa).max(0.5);
        Self { ratio, variance }
    }

    /// δ of two lengths: how many standard deviations `tgt` is from what
    /// `src` predicts.
    pub fn delta(&self, src: usize, tgt: usize) -> f64 {
        let (a, b) = (src as f64, tgt as f64);
        let mean = (a + b / self.ratio) / 2.0;
        if mean == 0.0 {
            return 0.0;
        }
        (b - a * self.ratio) / (mean * self.variance).sqrt()
    }

    /// Probability that lengths this far apart are translations of each
    /// other: 2·(1 − Φ(|δ|)).
    pub fn score(&self, src: usize, tgt: usize) -> f64 {
        (2.0 * (1.0 - normal_cdf(self.delta(src, tgt).abs()))).clamp(0.0, 1.0)
    }
}

/// Φ, the standard normal distribution function (Abramowitz and Stegun
/// 7.1.26 for erf; error below 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// The ids of `page` that hold one contiguous run of lines, with that run.
fn id_runs(page: &Page) -> HashMap<&str, Range<usize>> {
    let mut runs: HashMap<&str, Option<Range<usize>>> = HashMap::new();
    let mut i = 0;
    while i < page.ids.len() {
        let id = page.ids[i].as_str();
        let mut j = i + 1;
        while j < page.ids.len() && page.ids[j] == id {
            j += 1;
        }
        if !id.is_empty() {
            runs.entry(id)
                .and_modify(|r| *r = None)
                .or_insert(Some(i..j));
        }
        i = j;
    }
    runs.into_iter()
        .filter_map(|(id, r)| r.map(|r| (id, r)))
        .collect()
}

/// The share of the shorter page's lines whose id (one run on each page)
/// the other page has too.
pub fn shared_id_share(src: &Page, tgt: &Page) -> f64 {
    let (a, b) = (id_runs(src), id_runs(tgt));
    let shared = |x: &HashMap<&str, Range<usize>>, y: &HashMap<&str, Range<usize>>| -> usize {
        x.iter()
            .filter(|(id, _)| y.contains_key(*id))
            .map(|(_, r)| r.len())
            .sum()
    };
    let shorter = src.lines.len().min(tgt.lines.len());
    if shorter == 0 {
        return 0.0;
    }
    (shared(&a, &b).min(shared(&b, &a)) as f64 / shorter as f64).min(1.0)
}

/// Pairs the lines of two pages by the ids they share, in source order.
/// The beads' scores are left at 0: the caller scores them once its length
/// model is known (it is estimated from these very pairs).
pub fn by_ids(src: &Page, tgt: &Page) -> Vec<Bead> {
    let tgt_runs = id_runs(tgt);
    let mut src_runs: Vec<(&str, Range<usize>)> = id_runs(src).into_iter().collect();
    src_runs.sort_by_key(|(_, r)| r.start);
    src_runs
        .into_iter()
        .filter_map(|(id, s)| {
            let t = tgt_runs.get(id)?.clone();
            Some(Bead {
                src: s,
                tgt: t,
                id: Some(id.to_string()),
                score: 0.0,
            })
        })
        .collect()
}

/// The moves of the alignment and their prior probabilities (Gale and
/// Church 1993, table 5: 1-1 0.89, 1-0 or 0-1 0.0099, 2-1 or 1-2 0.089,
/// 2-2 0.011).
const MOVES: [(usize, usize, f64); 7] = [
    (1, 1, 0.89),
    (1, 0, 0.00495),
    (0, 1, 0.00495),
    (2, 1, 0.0445),
    (1, 2, 0.0445),
    (2, 2, 0.011),
    (0, 0, 0.0),
];

/// What leaving a paragraph out costs beyond its prior: that of a match
/// two standard deviations off (−ln 0.0455). Gale and Church price it as
/// a match of the paragraph with nothing, which grows with its length, so
/// that a long paragraph one side lacks is always merged into a neighbour
/// instead; a flat price lets it be skipped when merging fits worse.
const SKIP_COST: f64 = 3.09;

/// Aligns two lists of paragraph lengths by dynamic programming over the
/// moves above, each costing −log(prior · P(match | δ)) (a skip:
/// −log(prior) + [`SKIP_COST`]). Returns the
/// beads that pair lines on both sides (1-1, 2-1, 1-2, 2-2); lines of a
/// 1-0 or 0-1 move are left unaligned.
pub fn gale_church(src: &[usize], tgt: &[usize], model: &LengthModel) -> Vec<Bead> {
    let (n, m) = (src.len(), tgt.len());
    let mut cost = vec![f64::INFINITY; (n + 1) * (m + 1)];
    let mut back = vec![(0usize, 0usize); (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    cost[at(0, 0)] = 0.0;
    for i in 0..=n {
        for j in 0..=m {
            if i == 0 && j == 0 {
                continue;
            }
            let mut best = (f64::INFINITY, (0, 0));
            for &(di, dj, prior) in &MOVES[..6] {
                if di > i || dj > j {
                    continue;
                }
                let prev = cost[at(i - di, j - dj)];
                if !prev.is_finite() {
                    continue;
                }
                let a: usize = src[i - di..i].iter().sum();
                let b: usize = tgt[j - dj..j].iter().sum();
                let fit = if di == 0 || dj == 0 {
                    SKIP_COST
                } else {
                    -model.score(a, b).max(1e-12).ln()
                };
                let c = prev - prior.ln() + fit;
                if c < best.0 {
                    best = (c, (di, dj));
                }
            }
            cost[at(i, j)] = best.0;
            back[at(i, j)] = best.1;
        }
    }
    let mut beads = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let (di, dj) = back[at(i, j)];
        if di == 0 && dj == 0 {
            break;
        }
        if di > 0 && dj > 0 {
            let a: usize = src[i - di..i].iter().sum();
            let b: usize = tgt[j - dj..j].iter().sum();
            beads.push(Bead {
                src: i - di..i,
                tgt: j - dj..j,
                id: None,
                score: model.score(a, b),
            });
        }
        i -= di;
        j -= dj;
    }
    beads.reverse();
    beads
}

/// Pairs the lines of two pages by order and length.
pub fn by_order(src: &Page, tgt: &Page, model: &LengthModel) -> Vec<Bead> {
    let a: Vec<usize> = src.lines.iter().map(|l| length(l)).collect();
    let b: Vec<usize> = tgt.lines.iter().map(|l| length(l)).collect();
    gale_church(&a, &b, model)
}

/// The lines of a page that no bead covers.
pub fn unaligned(lines: usize, covered: impl Iterator<Item = Range<usize>>) -> Vec<usize> {
    let mut used = vec![false; lines];
    for r in covered {
        for i in r {
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
        }
    }
    (0..lines).filter(|&i| !used[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(lines: &[&str], ids: &[&str]) -> Page {
        Page {
            doc_id: "d".into(),
            url: "u".into(),
            lines: lines.iter().map(|s| s.to_string()).collect(),
            ids: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }

    #[test]
    fn joins_cjk_without_spaces_and_latin_with() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join(&l(&["选择", "表格。"])), "选择表格。");
        assert_eq!(join(&l(&["Choose", "Table."])), "Choose Table.");
        assert_eq!(join(&l(&["插入", "Writer"])), "插入 Writer");
    }

    #[test]
    fn ids_pair_once_only_and_keep_source_order() {
        let zh = page(
            &[
                "标题",
                "第一段",
                "第一段续",
                "重复",
                "中间",
                "重复",
                "只有中文",
            ],
            &["h", "p1", "p1", "dup", "", "dup", "zh_only"],
        );
        let en = page(
            &[
                "Title",
                "First paragraph, continued",
                "Repeated",
                "Repeated",
                "English only",
            ],
            &["h", "p1", "dup", "dup", "en_only"],
        );
        let beads = by_ids(&zh, &en);
        let got: Vec<(Range<usize>, Range<usize>, &str)> = beads
            .iter()
            .map(|b| (b.src.clone(), b.tgt.clone(), b.id.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![(0..1, 0..1, "h"), (1..3, 1..2, "p1")],
            "dup is not one run on zh"
        );
        assert_eq!(
            unaligned(7, beads.iter().map(|b| b.src.clone())),
            vec![3, 4, 5, 6]
        );
    }

    #[test]
    fn order_alignment_skips_an_inserted_and_a_dropped_paragraph() {
        // The target drops source paragraph 2 and inserts one of its own
        // three paragraphs later; both are long enough that merging them
        // into a neighbour fits worse than leaving them out.
        let src = [40, 120, 250, 300, 80, 60, 200, 90, 150];
        let tgt = [41, 121, 301, 79, 61, 199, 500, 91, 151];
        let beads = gale_church(&src, &tgt, &LengthModel::EUROPEAN);
        let pairs: Vec<(Range<usize>, Range<usize>)> = beads
            .iter()
            .map(|b| (b.src.clone(), b.tgt.clone()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (0..1, 0..1),
                (1..2, 1..2),
                (3..4, 2..3),
                (4..5, 3..4),
                (5..6, 4..5),
                (6..7, 5..6),
                (7..8, 7..8),
                (8..9, 8..9)
            ]
        );
    }

    #[test]
    fn order_alignment_merges_a_split_paragraph() {
        let src = [100, 200, 90];
        let tgt = [98, 95, 110, 88];
        let beads = gale_church(&src, &tgt, &LengthModel::EUROPEAN);
        let pairs: Vec<(Range<usize>, Range<usize>)> = beads
            .iter()
            .map(|b| (b.src.clone(), b.tgt.clone()))
            .collect();
        assert_eq!(pairs, vec![(0..1, 0..1), (1..2, 1..3), (2..3, 3..4)]);
    }

    #[test]
    fn the_model_is_estimated_from_pairs() {
        let pairs: Vec<(usize, usize)> = (1..100).map(|i| (i * 3, i * 9 + (i % 5))).collect();
        let m = LengthModel::estimate(&pairs, LengthModel::EUROPEAN);
        assert!((m.ratio - 3.0).abs() < 0.1, "{m:?}");
        assert!(m.score(10, 30) > 0.5 && m.score(10, 90) < 0.01, "{m:?}");
        assert_eq!(
            LengthModel::estimate(&pairs[..5], LengthModel::EUROPEAN),
            LengthModel::EUROPEAN
        );
    }
}
