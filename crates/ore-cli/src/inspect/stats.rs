//! Per-column statistics computed in one streaming pass: nulls, lengths of
//! strings (in characters) and lists, numeric ranges, distinct counts (exact
//! up to a bound, then a HyperLogLog estimate) and, for `reject_reason`, the
//! count of each reason.

use std::collections::{BTreeMap, HashSet};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_cast::cast;
use arrow_schema::DataType;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::values::cells;

/// Distinct values are counted exactly up to this many, then estimated.
const EXACT_DISTINCT_LIMIT: usize = 200_000;
/// Columns whose values are counted one by one (reasons, labels).
const COUNTED_COLUMNS: &[&str] = &[ore_core::REJECT_REASON];

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Range {
    pub(crate) min: f64,
    pub(crate) mean: f64,
    pub(crate) max: f64,
}

/// Figures of one column.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ColumnStats {
    pub(crate) name: String,
    pub(crate) rows: u64,
    pub(crate) nulls: u64,
    pub(crate) distinct: u64,
    pub(crate) distinct_is_estimate: bool,
    /// Characters per string value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) chars: Option<Range>,
    /// Items per list value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) items: Option<Range>,
    /// Numeric values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) values: Option<Range>,
    /// Smallest and largest value as text (timestamps, dates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_max: Option<(String, String)>,
    /// Count of each value, for `reject_reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) counts: Option<BTreeMap<String, u64>>,
}

/// Accumulates [`ColumnStats`] over batches.
#[derive(Debug)]
pub(crate) struct Accumulator {
    name: String,
    rows: u64,
    nulls: u64,
    distinct: Distinct,
    chars: RangeAcc,
    items: RangeAcc,
    values: RangeAcc,
    min_max: Option<(ArrayRef, ArrayRef)>,
    counts: Option<BTreeMap<String, u64>>,
}

impl Accumulator {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            rows: 0,
            nulls: 0,
            distinct: Distinct::default(),
            chars: RangeAcc::default(),
            items: RangeAcc::default(),
            values: RangeAcc::default(),
            min_max: None,
            counts: COUNTED_COLUMNS.contains(&name).then(BTreeMap::new),
        }
    }

    pub(crate) fn update(&mut self, array: &ArrayRef) {
        self.rows += array.len() as u64;
        self.nulls += array.null_count() as u64;
        let dt = array.data_type();
        if is_string(dt)
            && let Ok(strings) = cast(array, &DataType::Utf8)
        {
            for s in strings.as_string::<i32>().iter().flatten() {
                self.chars.add(s.chars().count() as f64);
                self.distinct.add(xxh3_64(s.as_bytes()));
                if let Some(counts) = &mut self.counts {
                    *counts.entry(s.to_string()).or_default() += 1;
                }
            }
            return;
        }
        if dt.is_numeric()
            && let Ok(numbers) = cast(array, &DataType::Float64)
        {
            let numbers = numbers.as_primitive::<arrow_array::types::Float64Type>();
            for v in numbers.iter().flatten() {
                self.values.add(v);
                self.distinct.add(xxh3_64(&v.to_bits().to_le_bytes()));
            }
            return;
        }
        match dt {
            DataType::List(_) => self.add_list_lengths(array.as_list::<i32>().iter()),
            DataType::LargeList(_) => self.add_list_lengths(array.as_list::<i64>().iter()),
            _ => {}
        }
        if dt.is_temporal() {
            self.update_min_max(array);
        }
        // Any other type: count distinct values by their displayed form.
        for text in cells(array).into_iter().flatten() {
            self.distinct.add(xxh3_64(text.as_bytes()));
        }
    }

    fn add_list_lengths(&mut self, lists: impl Iterator<Item = Option<ArrayRef>>) {
        for list in lists.flatten() {
            self.items.add(list.len() as f64);
        }
    }

    fn update_min_max(&mut self, array: &ArrayRef) {
        let Ok(ints) = cast(array, &DataType::Int64) else {
            return;
        };
        let ints = ints.as_primitive::<arrow_array::types::Int64Type>();
        let mut best: Option<(usize, usize)> = None;
        for (i, v) in ints.iter().enumerate() {
            let Some(v) = v else { continue };
            best = Some(match best {
                None => (i, i),
                Some((lo, hi)) => (
                    if v < ints.value(lo) { i } else { lo },
                    if v > ints.value(hi) { i } else { hi },
                ),
            });
        }
        let Some((lo, hi)) = best else { return };
        let as_int = |a: &ArrayRef| {
            cast(a, &DataType::Int64)
                .ok()
                .map(|c| c.as_primitive::<arrow_array::types::Int64Type>().value(0))
        };
        let (new_lo, new_hi) = (array.slice(lo, 1), array.slice(hi, 1));
        self.min_max = Some(match self.min_max.take() {
            None => (new_lo, new_hi),
            Some((old_lo, old_hi)) => (
                if as_int(&new_lo) < as_int(&old_lo) {
                    new_lo
                } else {
                    old_lo
                },
                if as_int(&new_hi) > as_int(&old_hi) {
                    new_hi
                } else {
                    old_hi
                },
            ),
        });
    }

    pub(crate) fn finish(self) -> ColumnStats {
        let (distinct, distinct_is_estimate) = self.distinct.count();
        let text = |a: &ArrayRef| cells(a).into_iter().next().flatten().unwrap_or_default();
        ColumnStats {
            name: self.name,
            rows: self.rows,
            nulls: self.nulls,
            distinct,
            distinct_is_estimate,
            chars: self.chars.finish(),
            items: self.items.finish(),
            values: self.values.finish(),
            min_max: self.min_max.map(|(lo, hi)| (text(&lo), text(&hi))),
            counts: self.counts,
        }
    }
}

fn is_string(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

#[derive(Debug, Default)]
struct RangeAcc {
    n: u64,
    min: f64,
    max: f64,
    sum: f64,
}

impl RangeAcc {
    fn add(&mut self, v: f64) {
        if self.n == 0 || v < self.min {
            self.min = v;
        }
        if self.n == 0 || v > self.max {
            self.max = v;
        }
        self.n += 1;
        self.sum += v;
    }

    fn finish(&self) -> Option<Range> {
        (self.n > 0).then(|| Range {
            min: self.min,
            mean: self.sum / self.n as f64,
            max: self.max,
        })
    }
}

/// Exact distinct count over 64-bit hashes while small, HyperLogLog after.
#[derive(Debug, Default)]
struct Distinct {
    exact: HashSet<u64>,
    hll: Option<HyperLogLog>,
}

impl Distinct {
    fn add(&mut self, hash: u64) {
        match &mut self.hll {
            Some(hll) => hll.add(hash),
            None => {
                self.exact.insert(hash);
                if self.exact.len() > EXACT_DISTINCT_LIMIT {
                    let mut hll = HyperLogLog::new();
                    self.exact.drain().for_each(|h| hll.add(h));
                    self.hll = Some(hll);
                }
            }
        }
    }

    fn count(&self) -> (u64, bool) {
        match &self.hll {
            Some(hll) => (hll.estimate().round() as u64, true),
            None => (self.exact.len() as u64, false),
        }
    }
}

/// HyperLogLog with 2^14 registers (standard error about 0.8%).
#[derive(Debug)]
struct HyperLogLog {
    registers: Vec<u8>,
}

impl HyperLogLog {
    const P: u32 = 14;

    fn new() -> Self {
        Self {
            registers: vec![0; 1 << Self::P],
        }
    }

    fn add(&mut self, hash: u64) {
        let index = (hash >> (64 - Self::P)) as usize;
        let rest = (hash << Self::P) | (1 << (Self::P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ListArray, StringArray, types::Int32Type};

    use super::*;

    #[test]
    fn string_lengths_count_characters() {
        let mut acc = Accumulator::new("text");
        let array: ArrayRef = Arc::new(StringArray::from(vec![
            Some("中文"),
            None,
            Some("abcd"),
            Some("中文"),
        ]));
        acc.update(&array);
        let s = acc.finish();
        assert_eq!((s.rows, s.nulls, s.distinct), (4, 1, 2));
        assert_eq!(
            s.chars,
            Some(Range {
                min: 2.0,
                mean: 8.0 / 3.0,
                max: 4.0
            })
        );
    }

    #[test]
    fn list_lengths() {
        let mut acc = Accumulator::new("tokens");
        let array: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![]),
            None,
        ]));
        acc.update(&array);
        let s = acc.finish();
        assert_eq!(
            s.items,
            Some(Range {
                min: 0.0,
                mean: 1.0,
                max: 2.0
            })
        );
        assert_eq!(s.nulls, 1);
    }

    #[test]
    fn reject_reasons_are_counted() {
        let mut acc = Accumulator::new("reject_reason");
        let array: ArrayRef = Arc::new(StringArray::from(vec!["http_404", "robots", "http_404"]));
        acc.update(&array);
        let counts = acc.finish().counts.unwrap();
        assert_eq!(counts["http_404"], 2);
        assert_eq!(counts["robots"], 1);
    }

    #[test]
    fn distinct_estimate_is_close() {
        let mut d = Distinct::default();
        let n = 1_000_000u64;
        for i in 0..n {
            d.add(xxh3_64(&i.to_le_bytes()));
        }
        let (estimate, is_estimate) = d.count();
        assert!(is_estimate);
        let error = (estimate as f64 - n as f64).abs() / n as f64;
        assert!(error < 0.03, "estimate {estimate} for {n}");
    }
}
