//! Hand-written inline SVG charts: stacked horizontal bars, overlaid
//! histograms, line charts and grouped bars. Each builder returns one
//! self-contained `<svg>` element (no scripts, no external fonts) whose text
//! is escaped, so it can be pasted into HTML as it is.

use std::fmt::Write as _;

/// One named series of values.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

impl Series {
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            values,
        }
    }
}

const WIDTH: f64 = 760.0;
const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#a0cbe8", "#ffbe7d", "#8cd17d", "#b6992d", "#f1ce63", "#86bcb6",
    "#d37295", "#fabfd2", "#d4a6c8", "#79706e",
];

/// The colour of series `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Escapes text for XML and HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A number for a tick label or tooltip: integers plain, others with three
/// significant digits.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == v.round() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let digits = if v.abs() >= 100.0 {
        1
    } else if v.abs() >= 1.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.digits$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// About five round tick values covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    (first..)
        .map(|k| k as f64 * step)
        .take_while(|t| *t <= hi + step * 1e-9)
        .take(20)
        .collect()
}

fn open(out: &mut String, height: f64, title: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" font-family="sans-serif" font-size="12"><title>{t}</title><text x="{x}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{t}</text>"#,
        t = escape(title),
        x = WIDTH / 2.0,
    );
}

/// Where each legend entry goes: `(x, row)`, rows wrapping at the width.
fn legend_layout(names: &[&str]) -> Vec<(f64, usize)> {
    let mut out = Vec::with_capacity(names.len());
    let (mut x, mut row) = (60.0, 0);
    for name in names {
        let w = 24.0 + 7.0 * name.chars().count().min(40) as f64;
        if x + w > WIDTH - 10.0 && x > 60.0 {
            x = 60.0;
            row += 1;
        }
        out.push((x, row));
        x += w;
    }
    out
}

/// The height the legend's rows after the first add.
fn legend_extra(names: &[&str]) -> f64 {
    legend_layout(names)
        .last()
        .map_or(0.0, |(_, row)| *row as f64 * 16.0)
}

/// The legend, its first row at `y`.
fn legend(out: &mut String, names: &[&str], y: f64) {
    for (i, (name, (x, row))) in names.iter().zip(legend_layout(names)).enumerate() {
        let y = y + row as f64 * 16.0;
        let _ = write!(
            out,
            r#"<rect x="{x}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{y}">{}</text>"#,
            y - 9.0,
            color(i),
            x + 14.0,
            escape(&truncate(name, 40))
        );
    }
}

/// The plot area of the x-y charts.
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        let span = (self.x.1 - self.x.0).max(f64::MIN_POSITIVE);
        self.left + (x - self.x.0) / span * (self.right - self.left)
    }

    fn py(&self, y: f64) -> f64 {
        let span = (self.y.1 - self.y.0).max(f64::MIN_POSITIVE);
        self.bottom - (y - self.y.0) / span * (self.bottom - self.top)
    }

    /// Axes, grid lines and tick labels; x ticks only when `x_ticks`.
    fn axes(&self, out: &mut String, x_label: &str, y_label: &str, x_ticks: bool) {
        for t in ticks(self.y.0, self.y.1) {
            let y = self.py(t);
            let _ = write!(
                out,
                r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                self.left,
                self.right,
                self.left - 4.0,
                y + 4.0,
                fmt_num(t)
            );
        }
        if x_ticks {
            for t in ticks(self.x.0, self.x.1) {
                let x = self.px(t);
                let _ = write!(
                    out,
                    r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#999"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                    self.bottom,
                    self.bottom + 4.0,
                    self.bottom + 16.0,
                    fmt_num(t)
                );
            }
        }
        let _ = write!(
            out,
            r##"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/><line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#333"/><text x="{cx}" y="{xy}" text-anchor="middle">{xl}</text><text x="14" y="{cy}" text-anchor="middle" transform="rotate(-90 14 {cy})">{yl}</text>"##,
            l = self.left,
            r = self.right,
            t = self.top,
            b = self.bottom,
            cx = (self.left + self.right) / 2.0,
            xy = self.bottom + 32.0,
            cy = (self.top + self.bottom) / 2.0,
            xl = escape(x_label),
            yl = escape(y_label),
        );
    }
}

/// Horizontal stacked bars: one bar per row label, one segment per series
/// (`series[s].values[row]`), with the row total at the end of each bar.
pub fn stacked_hbars(title: &str, rows: &[String], series: &[Series]) -> String {
    let bar = 22.0;
    let top = 34.0;
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let base = top + rows.len() as f64 * (bar + 8.0) + 40.0;
    let height = base + legend_extra(&names);
    let mut out = String::new();
    open(&mut out, height, title);
    let left = 150.0;
    let right = WIDTH - 70.0;
    let totals: Vec<f64> = (0..rows.len())
        .map(|r| series.iter().map(|s| value(s, r)).sum())
        .collect();
    let max = totals.iter().copied().fold(0.0, f64::max).max(1.0);
    for (r, label) in rows.iter().enumerate() {
        let y = top + r as f64 * (bar + 8.0);
        let _ = write!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + bar / 2.0 + 4.0,
            escape(&truncate(label, 22))
        );
        let mut x = left;
        for (s, ser) in series.iter().enumerate() {
            let v = value(ser, r);
            if v <= 0.0 {
                continue;
            }
            let w = v / max * (right - left);
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{bar}" fill="{}"><title>{}: {}</title></rect>"#,
                color(s),
                escape(&ser.name),
                fmt_num(v)
            );
            x += w;
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 4.0,
            y + bar / 2.0 + 4.0,
            fmt_num(totals[r])
        );
    }
    legend(&mut out, &names, base - 12.0);
    out.push_str("</svg>");
    out
}

fn value(series: &Series, i: usize) -> f64 {
    series
        .values
        .get(i)
        .copied()
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Overlaid histograms over shared bin edges (`edges.len()` = bins + 1);
/// each series gives one height a bin, drawn half transparent.
pub fn histogram(
    title: &str,
    x_label: &str,
    y_label: &str,
    edges: &[f64],
    series: &[Series],
) -> String {
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let base = 260.0;
    let height = base + legend_extra(&names);
    let mut out = String::new();
    open(&mut out, height, title);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let x0 = edges.first().copied().unwrap_or(0.0);
    let x1 = edges.last().copied().unwrap_or(1.0);
    let frame = Frame {
        left: 60.0,
        right: WIDTH - 20.0,
        top: 30.0,
        bottom: base - 62.0,
        x: (x0, if x1 > x0 { x1 } else { x0 + 1.0 }),
        y: (0.0, if max > 0.0 { max * 1.05 } else { 1.0 }),
    };
    frame.axes(&mut out, x_label, y_label, true);
    for (s, ser) in series.iter().enumerate() {
        for (b, pair) in edges.windows(2).enumerate() {
            let v = value(ser, b);
            if v <= 0.0 {
                continue;
            }
            let (xa, xb) = (frame.px(pair[0]), frame.px(pair[1]));
            let y = frame.py(v);
            let _ = write!(
                out,
                r#"<rect x="{xa:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.55"><title>{}: [{}, {}) {}</title></rect>"#,
                (xb - xa - 1.0).max(0.5),
                frame.bottom - y,
                color(s),
                escape(&ser.name),
                fmt_num(pair[0]),
                fmt_num(pair[1]),
                fmt_num(v)
            );
        }
    }
    legend(&mut out, &names, base - 8.0);
    out.push_str("</svg>");
    out
}

/// Lines through `(x, y)` points, one a series (points with a non-finite
/// coordinate are left out).
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> String {
    let names: Vec<&str> = series.iter().map(|(n, _)| n.as_str()).collect();
    let base = 280.0;
    let height = base + legend_extra(&names);
    let mut out = String::new();
    open(&mut out, height, title);
    let points = || {
        series
            .iter()
            .flat_map(|(_, p)| p.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let frame = Frame {
        left: 60.0,
        right: WIDTH - 20.0,
        top: 30.0,
        bottom: base - 62.0,
        x: (x0, if x1 > x0 { x1 } else { x0 + 1.0 }),
        y: ((y0 - pad).max(0.0_f64.min(y0)), y1 + pad),
    };
    frame.axes(&mut out, x_label, y_label, true);
    for (s, (name, pts)) in series.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", frame.px(x), frame.py(y)))
            .collect();
        if path.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"><title>{}</title></polyline>"#,
            path.join(" "),
            color(s),
            escape(name)
        );
        if path.len() <= 40 {
            for p in &path {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = write!(
                    out,
                    r#"<circle cx="{x}" cy="{y}" r="2.5" fill="{}"/>"#,
                    color(s)
                );
            }
        }
    }
    legend(&mut out, &names, base - 8.0);
    out.push_str("</svg>");
    out
}

/// Vertical bars in groups: one group a label, one bar a series
/// (`series[s].values[group]`; a non-finite value leaves a gap).
pub fn grouped_bars(title: &str, y_label: &str, groups: &[String], series: &[Series]) -> String {
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let base = 300.0;
    let height = base + legend_extra(&names);
    let mut out = String::new();
    open(&mut out, height, title);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let frame = Frame {
        left: 60.0,
        right: WIDTH - 20.0,
        top: 30.0,
        bottom: base - 80.0,
        x: (0.0, groups.len().max(1) as f64),
        y: (0.0, if max > 0.0 { max * 1.1 } else { 1.0 }),
    };
    frame.axes(&mut out, "", y_label, false);
    let slot = (frame.right - frame.left) / groups.len().max(1) as f64;
    let bar = (slot * 0.8 / series.len().max(1) as f64).min(40.0);
    for (g, label) in groups.iter().enumerate() {
        let start = frame.left + g as f64 * slot + (slot - bar * series.len() as f64) / 2.0;
        for (s, ser) in series.iter().enumerate() {
            let Some(v) = ser.values.get(g).copied().filter(|v| v.is_finite()) else {
                continue;
            };
            let y = frame.py(v);
            let _ = write!(
                out,
                r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} · {}: {}</title></rect>"#,
                start + s as f64 * bar,
                bar.max(1.0) - 1.0,
                frame.bottom - y,
                color(s),
                escape(&label.replace('\n', " ")),
                escape(&ser.name),
                fmt_num(v)
            );
        }
        // One line of the label a text line (`BLEU\neval_zh_en`).
        let cx = frame.left + (g as f64 + 0.5) * slot;
        for (k, line) in label.lines().take(3).enumerate() {
            let _ = write!(
                out,
                r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                frame.bottom + 16.0 + 14.0 * k as f64,
                escape(&truncate(line, (slot / 6.5).max(4.0) as usize))
            );
        }
    }
    legend(&mut out, &names, base - 12.0);
    out.push_str("</svg>");
    out
}

/// Equal-width bin edges over `[lo, hi]` and the count of `values` in each
/// bin (the last bin closed); `bins` edges + 1.
pub fn bin(values: &[f64], lo: f64, hi: f64, bins: usize) -> (Vec<f64>, Vec<f64>) {
    let bins = bins.max(1);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let width = (hi - lo) / bins as f64;
    let edges = (0..=bins).map(|i| lo + width * i as f64).collect();
    let mut counts = vec![0.0; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let i = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        if v >= lo && v <= hi {
            counts[i] += 1.0;
        }
    }
    (edges, counts)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks that `xml` is well formed as far as these charts go: tags
    /// balance, attributes are quoted, `&` starts an entity and text holds
    /// no raw `<`.
    pub(crate) fn assert_well_formed(xml: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml;
        while let Some(lt) = rest.find('<') {
            check_text(&rest[..lt]);
            let gt = rest[lt..].find('>').expect("unclosed tag") + lt;
            let tag = &rest[lt + 1..gt];
            assert!(!tag.contains('<'), "raw < inside tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let name: String = tag
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '/')
                    .collect();
                assert!(!name.is_empty(), "empty tag");
                let attrs = &tag[name.len()..];
                assert_eq!(
                    attrs.matches('"').count() % 2,
                    0,
                    "unquoted attribute in <{tag}>"
                );
                check_text(attrs);
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
            rest = &rest[gt + 1..];
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    fn check_text(text: &str) {
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            let end = entity.find(';').expect("& without ;");
            let name = &entity[1..end];
            assert!(
                ["amp", "lt", "gt", "quot", "#39"].contains(&name),
                "bad entity &{name};"
            );
        }
        assert!(!text.contains('>') || !text.contains('<'));
    }

    const NASTY: &str = "a<b & \"c\" 'd' </svg>";

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("tab\tbell\u{7}"), "tab\tbell ");
    }

    #[test]
    fn every_chart_is_well_formed_and_escapes_its_text() {
        let series = vec![
            Series::new(NASTY, vec![1.0, 2.5, f64::NAN]),
            Series::new("kept", vec![3.0, 0.0, 1.0]),
        ];
        let labels: Vec<String> = vec![NASTY.into(), "clean".into(), "x".into()];
        let charts = [
            stacked_hbars(NASTY, &labels, &series),
            histogram(NASTY, NASTY, "rows", &[0.0, 1.0, 2.0, 3.0], &series),
            lines(
                NASTY,
                "step",
                "loss",
                &[
                    (NASTY.into(), vec![(0.0, 1.0), (10.0, 0.5)]),
                    ("empty".into(), vec![]),
                ],
            ),
            grouped_bars(NASTY, "BLEU", &labels, &series),
            // Degenerate inputs: nothing to draw still gives a chart.
            stacked_hbars("none", &[], &[]),
            histogram("none", "x", "y", &[], &[]),
            lines("none", "x", "y", &[]),
            grouped_bars("none", "y", &[], &[]),
        ];
        for svg in &charts {
            assert!(
                svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
                "{svg}"
            );
            assert!(svg.ends_with("</svg>"));
            assert_well_formed(svg);
            assert!(!svg.contains(NASTY), "unescaped text in {svg}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
        assert!(charts[0].contains("a&lt;b &amp; &quot;c&quot;"));
        // A long legend wraps: every entry is drawn, the chart grows.
        let many: Vec<Series> = (0..15)
            .map(|i| Series::new(format!("reject_reason_{i}"), vec![1.0]))
            .collect();
        let wide = stacked_hbars("t", &["a".into()], &many);
        assert!(wide.contains(">reject_reason_14</text>"), "{wide}");
        assert!(legend_extra(&many.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()) > 0.0);
        assert_well_formed(&wide);
        // A group label's lines are text lines of their own.
        let two = grouped_bars("t", "y", &["BLEU\neval_zh".into()], &series[..1]);
        assert!(
            two.contains(">BLEU</text>") && two.contains(">eval_zh</text>"),
            "{two}"
        );
        assert_well_formed(&two);
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.0, 1.0);
        assert_eq!((t.len(), t[0], t[5]), (6, 0.0, 1.0));
        assert!(!ticks(5.0, 5.0).is_empty());
    }

    #[test]
    fn binning_counts_every_value_in_range_once() {
        let (edges, counts) = bin(&[0.0, 0.5, 1.0, 9.9, 10.0, 11.0, f64::NAN], 0.0, 10.0, 10);
        assert_eq!(edges.len(), 11);
        assert_eq!(counts.iter().sum::<f64>(), 5.0);
        assert_eq!(counts[0], 2.0);
        assert_eq!(counts[9], 2.0);
    }
}
