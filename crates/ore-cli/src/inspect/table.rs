//! Renders rows as a table that fits the terminal: cells measured in display
//! columns (a Chinese character is two), long cells cut with `…`. When the
//! columns cannot fit side by side, rows are shown one field per line.

use console::{Alignment, measure_text_width, pad_str, truncate_str};

const SEP: &str = " │ ";
const MIN_COL: usize = 6;
const MAX_COL: usize = 60;

/// Renders `rows` (cells already single-line; `None` is null) under `headers`
/// within `width` display columns.
pub(crate) fn render(headers: &[String], rows: &[Vec<Option<String>>], width: usize) -> String {
    let cell_text = |c: &Option<String>| c.clone().unwrap_or_else(|| "null".into());
    let natural: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(j, h)| {
            rows.iter()
                .map(|r| measure_text_width(&cell_text(&r[j])))
                .chain(std::iter::once(measure_text_width(h)))
                .max()
                .unwrap_or(0)
                .clamp(1, MAX_COL)
        })
        .collect();
    // One leading space, then three columns (` │ `) between cells.
    let seps = 1 + headers.len().saturating_sub(1) * 3;
    let budget = width.saturating_sub(seps);
    match fit(&natural, budget) {
        Some(widths) => horizontal(headers, rows, &widths),
        None => vertical(headers, rows, width),
    }
}

/// Shares `budget` among columns: narrow columns get their natural width,
/// the rest split what is left evenly. `None` if even the minimum is too wide.
fn fit(natural: &[usize], budget: usize) -> Option<Vec<usize>> {
    let floor: usize = natural.iter().map(|&n| n.min(MIN_COL)).sum();
    if floor > budget {
        return None;
    }
    let mut widths = vec![0; natural.len()];
    let mut open: Vec<usize> = (0..natural.len()).collect();
    let mut left = budget;
    loop {
        if open.is_empty() {
            return Some(widths);
        }
        let share = left / open.len();
        let (small, big): (Vec<usize>, Vec<usize>) =
            open.iter().partition(|&&j| natural[j] <= share);
        if small.is_empty() {
            for (k, &j) in big.iter().enumerate() {
                let extra = usize::from(k < left % big.len());
                widths[j] = (share + extra).max(MIN_COL.min(natural[j]));
            }
            return Some(widths);
        }
        for &j in &small {
            widths[j] = natural[j];
            left -= natural[j];
        }
        open = big;
    }
}

fn horizontal(headers: &[String], rows: &[Vec<Option<String>>], widths: &[usize]) -> String {
    let line = |cells: Vec<String>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, &w)| pad_str(&truncate_str(c, w, "…"), w, Alignment::Left, None).into_owned())
            .collect();
        format!(" {}", padded.join(SEP)).trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
    out.push_str(&format!("─{}─\n", rule.join("─┼─")).replace("─\n", "\n"));
    for row in rows {
        out.push_str(&line(
            row.iter()
                .map(|c| c.clone().unwrap_or_else(|| "null".into()))
                .collect(),
        ));
    }
    out
}

fn vertical(headers: &[String], rows: &[Vec<Option<String>>], width: usize) -> String {
    let label = headers
        .iter()
        .map(|h| measure_text_width(h))
        .max()
        .unwrap_or(0)
        .min(24);
    let value_width = width.saturating_sub(label + 4).max(MIN_COL);
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&format!("─── row {} ───\n", i + 1));
        for (h, cell) in headers.iter().zip(row) {
            let name =
                pad_str(&truncate_str(h, label, "…"), label, Alignment::Left, None).into_owned();
            let value = cell.clone().unwrap_or_else(|| "null".into());
            out.push_str(&format!(
                " {name} │ {}\n",
                truncate_str(&value, value_width, "…")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn chinese_cells_line_up() {
        let headers = vec!["id".to_string(), "text".to_string()];
        let rows = vec![
            vec![s("1"), s("中文文本很长很长很长很长很长很长很长很长")],
            vec![s("22"), s("short")],
        ];
        let out = render(&headers, &rows, 30);
        let widths: Vec<usize> = out.lines().map(measure_text_width).collect();
        // Every line ends at the same display column, or earlier only by
        // trimmed padding; none is wider than the terminal.
        assert!(widths.iter().all(|&w| w <= 30), "{out}");
        let bars: Vec<usize> = out
            .lines()
            .filter(|l| l.contains('│'))
            .map(|l| measure_text_width(&l[..l.find('│').unwrap_or(0)]))
            .collect();
        assert!(bars.windows(2).all(|w| w[0] == w[1]), "{out}");
        assert!(out.contains('…'), "long cell must be cut: {out}");
    }

    #[test]
    fn too_many_columns_switch_to_one_field_per_line() {
        let headers: Vec<String> = (0..20).map(|i| format!("column_{i}")).collect();
        let rows = vec![headers.iter().map(|h| Some(h.repeat(3))).collect()];
        let out = render(&headers, &rows, 60);
        assert!(out.starts_with("─── row 1 ───"), "{out}");
        assert!(out.lines().all(|l| measure_text_width(l) <= 60), "{out}");
    }

    #[test]
    fn fit_gives_narrow_columns_their_width() {
        assert_eq!(fit(&[2, 50, 50], 42), Some(vec![2, 20, 20]));
        assert_eq!(fit(&[2, 3], 42), Some(vec![2, 3]));
        assert_eq!(fit(&[50; 10], 20), None);
    }
}
