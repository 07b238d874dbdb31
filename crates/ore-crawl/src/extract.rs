//! Main-text extraction with scraper: the title (with where it came from),
//! the text with boilerplate removed and paragraphs as lines, `lang`, and
//! out-links resolved against `<base href>`.

use std::collections::HashMap;

use ego_tree::{NodeId, NodeRef};
use scraper::node::Node;
use scraper::{Html, Selector};
use url::Url;

/// What a page yields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    pub title: Option<String>,
    /// `title`, `og:title` or `h1`.
    pub title_source: Option<&'static str>,
    /// Main text, one paragraph a line.
    pub text: String,
    /// For each line of `text`, the `id` attribute of the innermost block
    /// element holding it (`""` when none): what `ore align` pairs the
    /// two languages of a site by.
    pub line_ids: Vec<String>,
    pub lang: Option<String>,
    /// Absolute http(s) links, in document order, fragments kept.
    pub links: Vec<Url>,
    /// Links beyond the per-page cap, not returned.
    pub links_dropped: usize,
}

/// Elements whose content is never text.
const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "head", "nav", "header", "footer", "aside", "form",
    "button", "select", "option", "textarea", "input", "svg", "canvas", "iframe", "object",
    "embed", "video", "audio", "map", "dialog", "menu",
];

/// Elements that start a new line.
const BLOCK: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "td",
    "th",
    "thead",
    "tbody",
    "tfoot",
    "caption",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "address",
    "hr",
    "br",
    "center",
    "details",
    "summary",
    "body",
    "html",
];

/// Containers dropped when most of their text is link text.
const LINK_DENSE_CHECK: &[&str] = &["div", "ul", "ol", "table", "section", "dl", "p", "tr"];

/// Roles and class/id words of site chrome.
const CHROME_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "search",
    "menu",
    "menubar",
];
const CHROME_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "breadcrumb",
    "breadcrumbs",
    "footer",
    "sidebar",
    "cookie",
    "cookies",
    "share",
    "social",
    "pagination",
    "skip",
    "toolbar",
    "masthead",
];

fn selector(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Extracts from `html`, fetched from `page_url`, taking at most `max_links` links.
///
/// Two kinds of broken page lose their text under the HTML5 rules, which
/// read everything after an unclosed `<title>` as the title and everything
/// after an unclosed `<!--` as a comment; lxml-based tools recover the
/// paragraphs. So does this: such a page is read again with the title
/// closed before its first tag, or the comment closed at its first `>`.
pub fn extract(html: &str, page_url: &Url, max_links: usize) -> Extracted {
    let extracted = extract_parsed(html, page_url, max_links);
    let repaired = if extracted.title.as_deref().is_some_and(holds_markup) {
        close_runaway(html, "<title", "</title", title_end)
    } else if extracted.text.is_empty() {
        close_runaway(html, "<!--", "-->", comment_end)
    } else {
        None
    };
    match repaired {
        Some(html) => extract_parsed(&html, page_url, max_links),
        None => extracted,
    }
}

/// Whether text holds a tag (`<p`, `</div`, `<!`): markup read as text.
fn holds_markup(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// Where an unclosed title should have ended: before its first tag.
fn title_end(rest: &str) -> Option<(usize, &'static str)> {
    let bytes = rest.as_bytes();
    let at = (0..bytes.len().saturating_sub(1)).find(|&i| {
        bytes[i] == b'<'
            && (bytes[i + 1].is_ascii_alphabetic() || bytes[i + 1] == b'/' || bytes[i + 1] == b'!')
    })?;
    Some((at, "</title>"))
}

/// Where an unclosed comment should have ended: at its first `>`.
fn comment_end(rest: &str) -> Option<(usize, &'static str)> {
    rest.find('>').map(|at| (at + 1, "-->"))
}

/// `html` with the first `open` that has no `close` after it closed where
/// `end` says, or `None` when there is no such element.
fn close_runaway(
    html: &str,
    open: &str,
    close: &str,
    end: fn(&str) -> Option<(usize, &'static str)>,
) -> Option<String> {
    // ASCII lowercasing keeps every byte offset.
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(open) {
        let at = from + found;
        let content = if open == "<!--" {
            at + open.len()
        } else {
            at + lower[at..].find('>')? + 1
        };
        if !lower[content..].contains(close) {
            let (cut, closing) = end(&html[content..])?;
            let cut = content + cut;
            return Some(format!("{}{closing}{}", &html[..cut], &html[cut..]));
        }
        from = content;
    }
    None
}

fn extract_parsed(html: &str, page_url: &Url, max_links: usize) -> Extracted {
    let doc = Html::parse_document(html);
    let root = doc.root_element();

    let lang = root
        .attr("lang")
        .or_else(|| root.attr("xml:lang"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string);

    let first_text = |sel: &str| -> Option<String> {
        let sel = selector(sel)?;
        doc.select(&sel)
            .map(|e| collapse(&e.text().collect::<String>()))
            .find(|t| !t.is_empty())
    };
    let og = selector("meta[property=\"og:title\"], meta[name=\"og:title\"]").and_then(|s| {
        doc.select(&s)
            .filter_map(|e| e.attr("content"))
            .map(collapse)
            .find(|t| !t.is_empty())
    });
    let (title, title_source) = if let Some(t) = first_text("head > title, title") {
        (Some(t), Some("title"))
    } else if let Some(t) = og {
        (Some(t), Some("og:title"))
    } else if let Some(t) = first_text("h1") {
        (Some(t), Some("h1"))
    } else {
        (None, None)
    };

    let base = selector("base[href]")
        .and_then(|s| doc.select(&s).next())
        .and_then(|e| e.attr("href"))
        .and_then(|h| page_url.join(h.trim()).ok())
        .unwrap_or_else(|| page_url.clone());
    let mut links = Vec::new();
    let mut links_dropped = 0;
    let mut push = |href: &str| {
        let href = href.trim();
        if href.is_empty() || href.starts_with('#') {
            return;
        }
        if let Ok(u) = base.join(href)
            && matches!(u.scheme(), "http" | "https")
        {
            if links.len() < max_links {
                links.push(u);
            } else {
                links_dropped += 1;
            }
        }
    };
    if let Some(s) = selector("a[href], area[href]") {
        for e in doc.select(&s) {
            if let Some(h) = e.attr("href") {
                push(h);
            }
        }
    }
    if let Some(s) = selector("meta[http-equiv]") {
        for e in doc.select(&s) {
            let refresh = e
                .attr("http-equiv")
                .is_some_and(|v| v.eq_ignore_ascii_case("refresh"));
            if let (true, Some(content)) = (refresh, e.attr("content")) {
                let lower = content.to_ascii_lowercase();
                if let Some(at) = lower.find("url=") {
                    push(content[at + 4..].trim_matches(['\'', '"', ' ']));
                }
            }
        }
    }

    let body = selector("body")
        .and_then(|s| doc.select(&s).next())
        .unwrap_or(root);
    let mut stats = HashMap::new();
    measure(*body, false, &mut stats);
    let mut out = TextBuilder::default();
    walk(*body, &stats, &mut out, false);
    out.flush();

    Extracted {
        title,
        title_source,
        text: out.lines.join("\n"),
        line_ids: out.ids,
        lang,
        links,
        links_dropped,
    }
}

fn is_chrome(el: &scraper::node::Element) -> bool {
    if el.attr("hidden").is_some()
        || el
            .attr("aria-hidden")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return true;
    }
    if el
        .attr("role")
        .is_some_and(|r| CHROME_ROLES.contains(&r.to_ascii_lowercase().as_str()))
    {
        return true;
    }
    let words = el
        .attr("class")
        .into_iter()
        .chain(el.attr("id"))
        .flat_map(|v| v.split(|c: char| c.is_whitespace() || c == '-' || c == '_'))
        .map(str::to_ascii_lowercase);
    for w in words {
        if CHROME_WORDS.contains(&w.as_str()) {
            return true;
        }
    }
    false
}

fn skipped(node: NodeRef<'_, Node>) -> bool {
    match node.value() {
        Node::Element(el) => SKIP.contains(&el.name()) || is_chrome(el),
        Node::Comment(_) | Node::ProcessingInstruction(_) | Node::Doctype(_) => true,
        _ => false,
    }
}

/// (text chars, link text chars, links) of every element, bottom-up.
fn measure(
    node: NodeRef<'_, Node>,
    in_link: bool,
    stats: &mut HashMap<NodeId, (usize, usize, usize)>,
) -> (usize, usize, usize) {
    if skipped(node) {
        return (0, 0, 0);
    }
    match node.value() {
        Node::Text(t) => {
            let n = t.chars().filter(|c| !c.is_whitespace()).count();
            (n, if in_link { n } else { 0 }, 0)
        }
        Node::Element(el) => {
            let is_link = el.name() == "a" && el.attr("href").is_some();
            let mut total = (0, 0, usize::from(is_link));
            for child in node.children() {
                let (a, b, c) = measure(child, in_link || is_link, stats);
                total = (total.0 + a, total.1 + b, total.2 + c);
            }
            stats.insert(node.id(), total);
            total
        }
        _ => (0, 0, 0),
    }
}

#[derive(Default)]
struct TextBuilder {
    lines: Vec<String>,
    /// The block id of each line of `lines`.
    ids: Vec<String>,
    line: String,
    /// Ids of the open block elements that have one, innermost last.
    open_ids: Vec<String>,
}

impl TextBuilder {
    fn push_text(&mut self, text: &str, pre: bool) {
        if pre {
            for (i, part) in text.split('\n').enumerate() {
                if i > 0 {
                    self.flush();
                }
                self.line.push_str(part.trim_end());
            }
            return;
        }
        let starts_ws = text.starts_with(char::is_whitespace);
        let ends_ws = text.ends_with(char::is_whitespace);
        let words = collapse(text);
        if words.is_empty() {
            if starts_ws && !self.line.is_empty() && !self.line.ends_with(' ') {
                self.line.push(' ');
            }
            return;
        }
        if starts_ws && !self.line.is_empty() && !self.line.ends_with(' ') {
            self.line.push(' ');
        }
        self.line.push_str(&words);
        if ends_ws {
            self.line.push(' ');
        }
    }

    fn flush(&mut self) {
        let line = self.line.trim();
        if !line.is_empty() {
            self.lines.push(line.to_string());
            self.ids
                .push(self.open_ids.last().cloned().unwrap_or_default());
        }
        self.line.clear();
    }
}

fn walk(
    node: NodeRef<'_, Node>,
    stats: &HashMap<NodeId, (usize, usize, usize)>,
    out: &mut TextBuilder,
    pre: bool,
) {
    if skipped(node) {
        return;
    }
    match node.value() {
        Node::Text(t) => out.push_text(t, pre),
        Node::Element(el) => {
            let name = el.name();
            if LINK_DENSE_CHECK.contains(&name)
                && let Some(&(chars, link_chars, links)) = stats.get(&node.id())
                && links >= 3
                && link_chars * 10 > chars * 7
            {
                return;
            }
            let block = BLOCK.contains(&name);
            let id = el
                .attr("id")
                .map(str::trim)
                .filter(|id| block && !id.is_empty());
            if block {
                out.flush();
            }
            if let Some(id) = id {
                out.open_ids.push(id.to_string());
            }
            let pre = pre || name == "pre";
            for child in node.children() {
                walk(child, stats, out, pre);
            }
            if block {
                out.flush();
            }
            if id.is_some() {
                out.open_ids.pop();
            }
        }
        _ => {
            for child in node.children() {
                walk(child, stats, out, pre);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Extracted {
        extract(
            html,
            &Url::parse("http://example.com/dir/page.html").unwrap(),
            100,
        )
    }

    #[test]
    fn main_text_without_chrome() {
        let e = page(
            r#"<html lang="zh-CN"><head><title> 插入 表格 </title><style>p{}</style></head><body>
            <header><a href="/">首页</a></header>
            <nav><a href="a.html">甲</a><a href="b.html">乙</a></nav>
            <div class="menu">菜单</div>
            <h1>插入表格</h1>
            <p>选择<b>插入</b> - 表格。<br>然后按确定。</p>
            <ul class="links"><li><a href="1">一</a></li><li><a href="2">二</a></li><li><a href="3">三</a></li></ul>
            <script>var x = 1;</script>
            <footer>版权所有</footer></body></html>"#,
        );
        assert_eq!(e.title.as_deref(), Some("插入 表格"));
        assert_eq!(e.title_source, Some("title"));
        assert_eq!(e.lang.as_deref(), Some("zh-CN"));
        assert_eq!(e.text, "插入表格\n选择插入 - 表格。\n然后按确定。");
        let links: Vec<&str> = e.links.iter().map(Url::as_str).collect();
        assert_eq!(links[0], "http://example.com/");
        assert!(links.contains(&"http://example.com/dir/a.html"));
    }

    #[test]
    fn each_line_carries_its_block_id() {
        let e = page(
            r#"<body><div id="DisplayArea"><h1 id="hd_1">插入</h1><p id="par_2">选择<span id="s9">表格</span>。<br>第二行</p>
            <p>无编号</p><div class="note"><p id="par_3">注意</p></div></div><p>外面</p></body>"#,
        );
        assert_eq!(e.text, "插入\n选择表格。\n第二行\n无编号\n注意\n外面");
        assert_eq!(
            e.line_ids,
            vec!["hd_1", "par_2", "par_2", "DisplayArea", "par_3", ""],
            "inline ids (span) are not block ids"
        );
    }

    #[test]
    fn title_falls_back_to_og_then_h1_and_base_is_used() {
        let e = page(
            r#"<head><meta property="og:title" content="OG"><base href="/root/"></head><h1>H</h1><a href="x.html">x</a>"#,
        );
        assert_eq!(
            (e.title.as_deref(), e.title_source),
            (Some("OG"), Some("og:title"))
        );
        assert_eq!(e.links[0].as_str(), "http://example.com/root/x.html");
        let e = page("<h1>Only <i>heading</i></h1><p>t</p>");
        assert_eq!(
            (e.title.as_deref(), e.title_source),
            (Some("Only heading"), Some("h1"))
        );
    }

    #[test]
    fn malformed_html_still_gives_text() {
        let e = page("<html><body><p>未闭合的段落<div>嵌套<table><tr><td>单元格</p></b></i>尾巴");
        assert!(e.text.contains("未闭合的段落"), "{}", e.text);
        assert!(e.text.contains("单元格"), "{}", e.text);
        assert!(e.text.contains("尾巴"), "{}", e.text);
    }

    #[test]
    fn link_cap_and_schemes() {
        let html: String = (0..10)
            .map(|i| format!("<a href=\"/p{i}\">p</a>"))
            .collect::<String>()
            + "<a href=\"mailto:x@y\">m</a><a href=\"javascript:void(0)\">j</a>";
        let e = extract(&html, &Url::parse("http://example.com/").unwrap(), 4);
        assert_eq!(e.links.len(), 4);
        assert_eq!(e.links_dropped, 6);
    }

    /// Pages broken the way real sites break them keep their paragraphs.
    #[test]
    fn broken_pages_keep_their_text() {
        let url = Url::parse("http://example.com/a.html").expect("url");
        let unclosed_title = "<html><head><title>插入表格\n<meta charset=utf-8></head><body><p>在文档中插入一个表格。</p><p>选择行数和列数。</p></body></html>";
        let e = extract(unclosed_title, &url, 10);
        assert_eq!(e.title.as_deref(), Some("插入表格"));
        assert!(e.text.contains("在文档中插入一个表格。"), "{e:?}");
        assert!(e.text.contains("选择行数和列数。"), "{e:?}");

        let unclosed_comment = "<html><body><!-- 导航 <div>菜单</div>\n<p>正文的第一段。</p><p>正文的第二段。</p></body></html>";
        let e = extract(unclosed_comment, &url, 10);
        assert!(e.text.contains("正文的第一段。"), "{e:?}");
        assert!(e.text.contains("正文的第二段。"), "{e:?}");

        let stray_end = "<html><head><title>标题</title></head><body><p>前一段文字。</p></body></html><p>后一段文字。</p>";
        let e = extract(stray_end, &url, 10);
        assert_eq!(e.title.as_deref(), Some("标题"));
        assert!(
            e.text.contains("前一段文字。") && e.text.contains("后一段文字。"),
            "{e:?}"
        );

        // A well-formed page with `<` in its title text is left alone.
        let fine = "<html><head><title>a &lt; b</title></head><body><p>比较两个数的大小。</p></body></html>";
        let e = extract(fine, &url, 10);
        assert_eq!(e.title.as_deref(), Some("a < b"));
    }
}
