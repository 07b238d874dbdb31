//! Turning Arrow values into terminal text and JSON, and short type names.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, TimeUnit};
use serde_json::{Map, Number, Value};
use std::sync::Arc;

/// A short, readable type name: `utf8`, `list<utf8>`, `timestamp[us, UTC]`,
/// `struct<start: u32, end: u32, label: utf8>`.
pub(crate) fn type_name(dt: &DataType) -> String {
    match dt {
        DataType::Null => "null".into(),
        DataType::Boolean => "bool".into(),
        DataType::Int8 => "i8".into(),
        DataType::Int16 => "i16".into(),
        DataType::Int32 => "i32".into(),
        DataType::Int64 => "i64".into(),
        DataType::UInt8 => "u8".into(),
        DataType::UInt16 => "u16".into(),
        DataType::UInt32 => "u32".into(),
        DataType::UInt64 => "u64".into(),
        DataType::Float16 => "f16".into(),
        DataType::Float32 => "f32".into(),
        DataType::Float64 => "f64".into(),
        DataType::Utf8 => "utf8".into(),
        DataType::LargeUtf8 => "large_utf8".into(),
        DataType::Utf8View => "utf8_view".into(),
        DataType::Binary => "binary".into(),
        DataType::LargeBinary => "large_binary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            };
            match tz {
                Some(tz) => format!("timestamp[{unit}, {tz}]"),
                None => format!("timestamp[{unit}]"),
            }
        }
        DataType::List(f) | DataType::ListView(f) => format!("list<{}>", type_name(f.data_type())),
        DataType::LargeList(f) | DataType::LargeListView(f) => {
            format!("large_list<{}>", type_name(f.data_type()))
        }
        DataType::FixedSizeList(f, n) => format!("list<{}; {n}>", type_name(f.data_type())),
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), type_name(f.data_type())))
                .collect();
            format!("struct<{}>", inner.join(", "))
        }
        DataType::Dictionary(k, v) => format!("dictionary<{}, {}>", type_name(k), type_name(v)),
        other => other.to_string().to_lowercase(),
    }
}

/// Formats the rows of one column as single-line strings (`None` for null).
pub(crate) fn cells(array: &ArrayRef) -> Vec<Option<String>> {
    let options = FormatOptions::default();
    let (array, suffix) = utc_naive(array);
    let array = &array;
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(formatter) => (0..array.len())
            .map(|i| {
                if array.is_null(i) {
                    None
                } else {
                    Some(single_line(&format!("{}{suffix}", formatter.value(i))))
                }
            })
            .collect(),
        Err(_) => vec![Some(format!("<{}>", type_name(array.data_type()))); array.len()],
    }
}

/// Timestamps with a named zone need a time-zone database to display; the
/// values are UTC instants, so show them as such with the zone's name.
fn utc_naive(array: &ArrayRef) -> (ArrayRef, String) {
    macro_rules! strip {
        ($t:ty, $tz:expr) => {
            (
                Arc::new(
                    array
                        .as_primitive::<$t>()
                        .clone()
                        .with_timezone_opt(None::<String>),
                ) as ArrayRef,
                format!(" {}", $tz),
            )
        };
    }
    match array.data_type() {
        DataType::Timestamp(unit, Some(tz)) => match unit {
            TimeUnit::Second => strip!(TimestampSecondType, tz),
            TimeUnit::Millisecond => strip!(TimestampMillisecondType, tz),
            TimeUnit::Microsecond => strip!(TimestampMicrosecondType, tz),
            TimeUnit::Nanosecond => strip!(TimestampNanosecondType, tz),
        },
        _ => (array.clone(), String::new()),
    }
}

/// Makes a value safe to print on one terminal line: line breaks as `⏎`,
/// tabs as spaces, other control characters (and escape sequences) as `�`.
pub(crate) fn single_line(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' => '⏎',
            '\r' => ' ',
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// One row of one column as JSON: numbers, strings, arrays and objects where
/// the type allows, otherwise the displayed text.
pub(crate) fn json_value(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    macro_rules! int {
        ($t:ty) => {
            Value::from(array.as_primitive::<$t>().value(i))
        };
    }
    macro_rules! float {
        ($t:ty) => {
            Number::from_f64(f64::from(array.as_primitive::<$t>().value(i)))
                .map_or(Value::Null, Value::Number)
        };
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(i)),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float16 => {
            Number::from_f64(f64::from(array.as_primitive::<Float16Type>().value(i)))
                .map_or(Value::Null, Value::Number)
        }
        DataType::Float32 => float!(Float32Type),
        DataType::Float64 => float!(Float64Type),
        DataType::Utf8 => Value::from(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Value::from(array.as_string::<i64>().value(i)),
        DataType::Utf8View => Value::from(array.as_string_view().value(i)),
        DataType::List(_) => list_json(&array.as_list::<i32>().value(i)),
        DataType::LargeList(_) => list_json(&array.as_list::<i64>().value(i)),
        DataType::FixedSizeList(_, _) => list_json(&array.as_fixed_size_list().value(i)),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let map: Map<String, Value> = fields
                .iter()
                .zip(s.columns())
                .map(|(f, col)| (f.name().clone(), json_value(col.as_ref(), i)))
                .collect();
            Value::Object(map)
        }
        _ => cells(&array.slice(i, 1))
            .into_iter()
            .next()
            .flatten()
            .map_or(Value::Null, Value::from),
    }
}

fn list_json(values: &ArrayRef) -> Value {
    Value::Array(
        (0..values.len())
            .map(|j| json_value(values.as_ref(), j))
            .collect(),
    )
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12345678` → `12.3 MB`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(12_345_678), "12.3 MB");
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(single_line("a\nb\tc\u{1b}[31m"), "a⏎b c\u{FFFD}[31m");
    }
}
