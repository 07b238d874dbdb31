//! Decoding a page to Unicode: BOM, then the HTTP header's charset, then
//! `<meta charset>` / `http-equiv`, then detection (chardetng), decoded with
//! encoding_rs. The charset used and where it came from are recorded.

use encoding_rs::{Encoding, UTF_8};

/// A decoded page.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    /// The WHATWG name of the encoding used, lower-case (`utf-8`, `gbk`, `big5`).
    pub charset: String,
    /// `bom`, `header`, `meta` or `detected`.
    pub source: &'static str,
}

/// The `charset=` parameter of a Content-Type value.
pub fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// The charset declared by a `<meta>` in the first 1024 bytes (the HTML
/// prescan's window).
pub fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let window = &head[..head.len().min(1024)];
    let lower: Vec<u8> = window.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<meta") {
        let start = from + at;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(c) = find(tag, b"charset") {
            let rest = &tag[c + 7..];
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            if let Some(rest) = rest.strip_prefix(b"=") {
                let rest: &[u8] = {
                    let mut r = rest;
                    while let [b' ' | b'"' | b'\'', tail @ ..] = r {
                        r = tail;
                    }
                    r
                };
                let label_end = rest
                    .iter()
                    .position(|b| matches!(b, b'"' | b'\'' | b';' | b' ' | b'/' | b'>'))
                    .unwrap_or(rest.len());
                if let Some(enc) = Encoding::for_label(&rest[..label_end]) {
                    // A page that says UTF-16 in ASCII is not UTF-16.
                    return Some(if enc.name().starts_with("UTF-16") {
                        UTF_8
                    } else {
                        enc
                    });
                }
            }
        }
        from = end.max(start + 1);
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes `body` as described in the module header.
pub fn decode(body: &[u8], content_type: Option<&str>) -> Decoded {
    let (encoding, source) = if let Some((enc, _)) = Encoding::for_bom(body) {
        (enc, "bom")
    } else if let Some(enc) = content_type.and_then(header_charset) {
        (enc, "header")
    } else if let Some(enc) = meta_charset(body) {
        (enc, "meta")
    } else {
        let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        detector.feed(body, true);
        (
            detector.guess(None, chardetng::Utf8Detection::Allow),
            "detected",
        )
    };
    let (text, used, _) = encoding.decode(body);
    Decoded {
        text: text.into_owned(),
        charset: used.name().to_ascii_lowercase(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZH: &str = "<html><head><title>中文网页</title></head><body><p>这是一个测试页面，包含简体中文。</p></body></html>";
    const TW: &str = "<html><head><title>繁體中文</title></head><body><p>這是一個測試頁面，包含繁體中文字元。</p></body></html>";

    #[test]
    fn header_then_meta_then_detection() {
        let (gbk, _, _) = encoding_rs::GBK.encode(ZH);
        let d = decode(&gbk, Some("text/html; charset=GBK"));
        assert_eq!(
            (d.text.as_str(), d.charset.as_str(), d.source),
            (ZH, "gbk", "header")
        );

        let with_meta = format!("<meta charset=\"gb2312\">{ZH}");
        let (bytes, _, _) = encoding_rs::GBK.encode(&with_meta);
        let d = decode(&bytes, Some("text/html"));
        assert_eq!((d.charset.as_str(), d.source), ("gbk", "meta"));
        assert!(d.text.contains("这是一个测试页面"));

        let (big5, _, _) = encoding_rs::BIG5.encode(TW);
        let d = decode(&big5, None);
        assert_eq!(
            (d.text.as_str(), d.charset.as_str(), d.source),
            (TW, "big5", "detected")
        );

        let (gbk, _, _) = encoding_rs::GBK.encode(ZH);
        let d = decode(&gbk, None);
        assert_eq!((d.text.as_str(), d.source), (ZH, "detected"));
    }

    #[test]
    fn bom_wins_and_http_equiv_is_read() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(ZH.as_bytes());
        let d = decode(&bytes, Some("text/html; charset=big5"));
        assert_eq!((d.text.as_str(), d.source), (ZH, "bom"));
        let page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=big5\">";
        assert_eq!(meta_charset(page), Some(encoding_rs::BIG5));
    }
}
