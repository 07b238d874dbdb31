//! HTML (self-contained: inline CSS and SVG, no script) and Markdown
//! renderings of a [`Report`].

use std::fmt::Write as _;

use crate::diff::Piece;
use crate::doc::{Block, Cell, Report};
use crate::svg::escape;

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}\
h1{border-bottom:2px solid #4e79a7}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.6em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;vertical-align:top;text-align:left}\
th{background:#f0f3f7}td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:12px;color:#555}\
del{background:#fdd;color:#900}ins{background:#dfd;color:#060;text-decoration:none}\
figure{margin:1em 0}nav a{margin-right:1em}.diff{max-width:700px;white-space:pre-wrap}";

/// The report as one HTML page.
pub fn html(report: &Report) -> String {
    let mut out = String::new();
    let title = format!("ore report — {}", report.pipeline);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>\n<h1>{}</h1>\n<p>Pipeline file <code>{}</code>.</p>\n<nav>",
        escape(&title),
        escape(&title),
        escape(&report.pipeline_file)
    );
    for s in &report.sections {
        let _ = write!(out, "<a href=\"#{}\">{}</a>", s.id, escape(&s.title));
    }
    out.push_str("</nav>\n");
    for s in &report.sections {
        let _ = writeln!(
            out,
            "<section id=\"{}\"><h2>{}</h2>",
            s.id,
            escape(&s.title)
        );
        for block in &s.blocks {
            html_block(&mut out, block);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn html_block(out: &mut String, block: &Block) {
    match block {
        Block::Heading(t) => {
            let _ = writeln!(out, "<h3>{}</h3>", inline(t));
        }
        Block::Para(t) => {
            let _ = writeln!(out, "<p>{}</p>", inline(t));
        }
        Block::Table { header, rows } => {
            out.push_str("<table><thead><tr>");
            for h in header {
                let _ = write!(out, "<th>{}</th>", escape(h));
            }
            out.push_str("</tr></thead><tbody>\n");
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    html_cell(out, cell);
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table>\n");
        }
        Block::Chart { svg, .. } => {
            let _ = writeln!(out, "<figure>{svg}</figure>");
        }
    }
}

fn html_cell(out: &mut String, cell: &Cell) {
    match cell {
        Cell::Text(t) => {
            let _ = write!(out, "<td>{}</td>", inline(t));
        }
        Cell::Code(t) => {
            let _ = write!(out, "<td><code>{}</code></td>", escape(t));
        }
        Cell::Int(_) | Cell::Num(..) => {
            let _ = write!(out, "<td class=\"n\">{}</td>", plain(cell));
        }
        Cell::Diff(pieces) => {
            out.push_str("<td class=\"diff\">");
            for p in pieces {
                let _ = match p {
                    Piece::Same(t) => write!(out, "{}", escape(t)),
                    Piece::Del(t) => write!(out, "<del>{}</del>", escape(t)),
                    Piece::Ins(t) => write!(out, "<ins>{}</ins>", escape(t)),
                };
            }
            out.push_str("</td>");
        }
    }
}

/// Escaped text with Markdown's `code` spans as `<code>` (an unpaired
/// backtick stays as it is).
fn inline(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(p))
            } else {
                escape(p)
            }
        })
        .collect()
}

/// A cell as plain text; diffs in wdiff's `[-deleted-]{+inserted+}`.
fn plain(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) | Cell::Code(t) => t.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Num(v, d) if v.is_finite() => format!("{v:.d$}"),
        Cell::Num(..) => "–".into(),
        Cell::Diff(pieces) => pieces
            .iter()
            .map(|p| match p {
                Piece::Same(t) => t.clone(),
                Piece::Del(t) => format!("[-{t}-]"),
                Piece::Ins(t) => format!("{{+{t}+}}"),
            })
            .collect(),
    }
}

/// The same tables in Markdown; each chart is replaced by its numbers.
pub fn markdown(report: &Report) -> String {
    let mut out = format!(
        "# ore report — {}\n\nPipeline file `{}`. Charts are in `index.html`; here each is listed by its numbers.\n",
        report.pipeline, report.pipeline_file
    );
    for s in &report.sections {
        let _ = write!(out, "\n## {}\n", s.title);
        for block in &s.blocks {
            match block {
                Block::Heading(t) => {
                    let _ = write!(out, "\n### {t}\n");
                }
                Block::Para(t) => {
                    let _ = write!(out, "\n{t}\n");
                }
                Block::Table { header, rows } => {
                    let _ = write!(
                        out,
                        "\n| {} |\n|{}\n",
                        header
                            .iter()
                            .map(|h| md_cell(h))
                            .collect::<Vec<_>>()
                            .join(" | "),
                        "---|".repeat(header.len())
                    );
                    for row in rows {
                        let cells: Vec<String> = row.iter().map(|c| md_cell(&plain(c))).collect();
                        let _ = writeln!(out, "| {} |", cells.join(" | "));
                    }
                }
                Block::Chart { title, numbers, .. } => {
                    let _ = write!(out, "\n*Chart (in index.html): {title}.* {numbers}\n");
                }
            }
        }
    }
    out
}

/// Text safe inside a Markdown table cell: one line, pipes escaped.
fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ⏎ ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Section;

    fn report() -> Report {
        let mut s = Section::new("stages", "1. Stages <&>");
        s.para("a <b> & `c`");
        s.table(
            &["name", "n", "diff"],
            vec![vec![
                Cell::text("x|y\nz"),
                Cell::Num(1.23456, 2),
                Cell::Diff(vec![
                    Piece::Same("a ".into()),
                    Piece::Del("<b>".into()),
                    Piece::Ins("c".into()),
                ]),
            ]],
        );
        s.chart("t", crate::svg::lines("t", "x", "y", &[]), "1, 2");
        Report {
            pipeline: "p".into(),
            pipeline_file: "p.toml".into(),
            sections: vec![s],
        }
    }

    #[test]
    fn html_is_well_formed_escaped_and_script_free() {
        let page = html(&report());
        let body = page.split_once("\n").expect("doctype line").1;
        // <meta> is a void element in HTML; close it for the XML check.
        crate::svg::tests::assert_well_formed(
            &body.replace("<meta charset=\"utf-8\">", "<meta charset=\"utf-8\"/>"),
        );
        assert!(page.contains("<del>&lt;b&gt;</del><ins>c</ins>"));
        assert!(page.contains("<td class=\"n\">1.23</td>"));
        assert!(page.contains("<p>a &lt;b&gt; &amp; <code>c</code></p>"));
        assert!(page.contains("1. Stages &lt;&amp;&gt;"));
        assert!(!page.contains("<script"));
        assert_eq!(page.matches("<svg").count(), 1);
    }

    #[test]
    fn markdown_keeps_tables_one_line_a_row() {
        let md = markdown(&report());
        assert!(md.contains("| x\\|y ⏎ z | 1.23 | a [-<b>-]{+c+} |"), "{md}");
        assert!(md.contains("*Chart (in index.html): t.* 1, 2"));
        assert!(!md.contains("<svg"));
    }
}
