//! Personal information in text: e-mail addresses, phone numbers (Chinese
//! mobile and landline, North American and international forms), Chinese
//! resident ID numbers (checksum verified), bank card numbers (Luhn
//! verified), IP addresses (v4 and v6) and the credentials in URLs
//! (`scheme://user:password@`).
//!
//! Precision comes first: every kind needs a boundary on both sides (no
//! letter, digit or `_` next to it; no `digit.` before a number and no
//! `.digit` after one, so `3.14159…` and version numbers in longer dotted
//! runs are not read as numbers), numbers with a check digit must pass
//! it, cards must start as an issuer's do, and four one-digit parts (`7.4.1.2`) are a version, not an address.
//!
//! # The definition
//! Each kind is one regular expression with a lookbehind and a lookahead,
//! as `python/pii_re.py` writes them for Python's `re`; its matches are
//! found left to right without overlap, and those failing their check are
//! dropped. The expressions are then merged in order (their kinds in
//! priority order, [`PiiKind::ALL`]): a match overlapping one of an earlier
//! expression is dropped. Rust's `regex` has no lookaround, so here each expression ends
//! in its lookahead as a consumed group (`t`) and the lookbehind is checked
//! on the text before the match; a match failing it is searched again one
//! character further on. That finds the same matches as the backtracking
//! engine, which the parity test checks on real text.
//!
//! ```
//! use ore_clean::pii::{PiiDetector, PiiKind};
//!
//! let detector = PiiDetector::new();
//! let text = "联系 zhang.san@example.com 或 138-0013-8000，卡号 6222 0200 0000 0007";
//! let found: Vec<(PiiKind, &str)> = detector
//!     .find(text, &PiiKind::ALL)
//!     .iter()
//!     .map(|m| (m.kind, &text[m.start..m.end]))
//!     .collect();
//! assert_eq!(
//!     found,
//!     [
//!         (PiiKind::Email, "zhang.san@example.com"),
//!         (PiiKind::Phone, "138-0013-8000"),
//!         (PiiKind::BankCard, "6222 0200 0000 0007"),
//!     ]
//! );
//! ```

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A kind of personal information, in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    UrlCredentials,
    Email,
    IdCard,
    BankCard,
    Phone,
    Ip,
}

impl PiiKind {
    /// Every kind, in priority order (an overlap goes to the earlier kind).
    pub const ALL: [PiiKind; 6] = [
        PiiKind::UrlCredentials,
        PiiKind::Email,
        PiiKind::IdCard,
        PiiKind::BankCard,
        PiiKind::Phone,
        PiiKind::Ip,
    ];

    /// The name used in config keys, columns (`pii_<name>`), reject
    /// reasons (`pii_<name>`) and the manifest.
    pub fn name(self) -> &'static str {
        match self {
            PiiKind::UrlCredentials => "url_credentials",
            PiiKind::Email => "email",
            PiiKind::IdCard => "id_card",
            PiiKind::BankCard => "bank_card",
            PiiKind::Phone => "phone",
            PiiKind::Ip => "ip",
        }
    }

    /// What a masked match becomes. The credentials of a URL are masked
    /// inside it, keeping the URL's shape (`https://[CREDENTIALS]@host/`).
    pub fn mask(self) -> &'static str {
        match self {
            PiiKind::UrlCredentials => "[CREDENTIALS]@",
            PiiKind::Email => "[EMAIL]",
            PiiKind::IdCard => "[ID_CARD]",
            PiiKind::BankCard => "[BANK_CARD]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Ip => "[IP]",
        }
    }

    /// The reject reason of a row with this kind when its action is
    /// `reject`, and the name of its count column.
    pub const fn reason(self) -> &'static str {
        match self {
            PiiKind::UrlCredentials => "pii_url_credentials",
            PiiKind::Email => "pii_email",
            PiiKind::IdCard => "pii_id_card",
            PiiKind::BankCard => "pii_bank_card",
            PiiKind::Phone => "pii_phone",
            PiiKind::Ip => "pii_ip",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// One match: the byte range of `text` that redaction replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PiiMatch {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

/// Characters a number may not touch (the lookbehind and lookahead
/// `[0-9A-Za-z_]`).
fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The lookbehind of the numeric kinds: `(?<![0-9A-Za-z_])(?<![0-9]\.)`.
fn number_left(text: &[u8], at: usize) -> bool {
    match at.checked_sub(1).map(|i| text[i]) {
        None => true,
        Some(b'.') => !(at >= 2 && text[at - 2].is_ascii_digit()),
        Some(b) => !word_byte(b),
    }
}

/// The lookahead of the numeric kinds, `(?![0-9A-Za-z_])(?!\.[0-9])`, as a
/// consumed group.
const NUMBER_RIGHT: &str = r"(?P<t>\z|[^0-9A-Za-z_.]|\.\z|\.[^0-9])";

/// Card numbers by issuer prefix and length: Visa (4; 13, 16 or 19
/// digits), Mastercard (51-55; 16), American Express (34, 37; 15), JCB (35;
/// 16-19), UnionPay (62; 16-19) and Discover (6011, 65; 16-19).
const CARD: &str = "(?:4[0-9]{12}(?:[0-9]{3}){0,2}|5[1-5][0-9]{14}|3[47][0-9]{13}|35[0-9]{14,17}|62[0-9]{14,17}|6011[0-9]{12,15}|65[0-9]{14,17})";

/// The first group of four of a card written in groups.
const CARD4: &str = "(?:4[0-9]{3}|5[1-5][0-9]{2}|35[0-9]{2}|62[0-9]{2}|6011|65[0-9]{2})";

/// One expression of a kind: the pattern (`p`: the part redacted; `t`: the
/// consumed lookahead), its lookbehind, and the check a match must pass.
struct Pattern {
    kind: PiiKind,
    regex: Regex,
    left: LeftCheck,
    check: MatchCheck,
    need: Need,
}

/// The lookbehind: whether a match may start at this byte of the text.
type LeftCheck = fn(&[u8], usize) -> bool;

/// The check of a match (a check digit, a count of digits).
type MatchCheck = fn(&str) -> bool;

fn pass(_: &str) -> bool {
    true
}

/// The last character of a Chinese resident ID (GB 11643-1999): the
/// weighted sum of the first 17 digits modulo 11 picks it.
pub fn id_card_valid(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    b[17].to_ascii_uppercase() == CHECK[(sum % 11) as usize]
}

/// The Luhn check of a card number's digits (separators skipped), with 13
/// to 19 digits.
pub fn luhn_valid(number: &str) -> bool {
    let digits: Vec<u32> = number
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|d| u32::from(d - b'0'))
        .collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Numbers written with `+` and a country code hold 8 to 15 digits
/// (E.164); the other phone forms are checked by their pattern alone.
fn phone_valid(number: &str) -> bool {
    if !number.starts_with('+') {
        return true;
    }
    let digits = number.bytes().filter(u8::is_ascii_digit).count();
    (8..=15).contains(&digits)
}

/// Four one-digit parts (`7.4.1.2`) are a version number, not an address.
fn ipv4_valid(address: &str) -> bool {
    address.split('.').any(|octet| octet.len() > 1)
}

/// A compressed IPv6 address (`::`) has at most 7 groups.
fn ipv6_valid(address: &str) -> bool {
    !address.contains("::") || address.split(':').filter(|g| !g.is_empty()).count() <= 7
}

/// The expressions of every kind, in `python/pii_re.py`'s words (there:
/// the lookbehind in front, the lookahead behind; here: the lookbehind as a
/// function, the lookahead as group `t`).
fn patterns() -> Vec<Pattern> {
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    let hex = "[0-9A-Fa-f]{1,4}";
    let specs: Vec<(PiiKind, String, LeftCheck, MatchCheck)> = vec![
        (
            PiiKind::UrlCredentials,
            // No lookahead: the match ends in `@`.
            r"[A-Za-z][A-Za-z0-9+.\-]*://(?P<p>[^ \t\r\n/?#@:<>]+:[^ \t\r\n/?#@<>]*@)(?P<t>)"
                .to_string(),
            |t, at| at == 0 || !(t[at - 1].is_ascii_alphanumeric() || b"+.-".contains(&t[at - 1])),
            pass,
        ),
        (
            PiiKind::Email,
            r"(?P<p>[A-Za-z0-9][A-Za-z0-9._%+\-_]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24})(?P<t>\z|[^A-Za-z0-9_\-])"
                .to_string(),
            |t, at| at == 0 || !(t[at - 1].is_ascii_alphanumeric() || b"._%+-_".contains(&t[at - 1])),
            pass,
        ),
        (
            PiiKind::IdCard,
            format!(
                r"(?P<p>[1-8][0-9]{{5}}(?:19|20)[0-9]{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{{3}}[0-9Xx]){NUMBER_RIGHT}"
            ),
            number_left,
            id_card_valid,
        ),
        (
            PiiKind::BankCard,
            format!(
                r"(?P<p>{CARD}|{CARD4}(?:-[0-9]{{4}}){{3}}(?:-[0-9]{{1,3}})?|{CARD4}(?: [0-9]{{4}}){{3}}(?: [0-9]{{1,3}})?){NUMBER_RIGHT}"
            ),
            number_left,
            luhn_valid,
        ),
        (
            PiiKind::Phone,
            format!(
                concat!(
                    r"(?P<p>",
                    // Chinese mobile with +86 / 0086, or grouped 3-4-4.
                    r"(?:\+|00)86[ \-]?1[3-9][0-9](?:[0-9]{{8}}|-[0-9]{{4}}-[0-9]{{4}}| [0-9]{{4}} [0-9]{{4}})",
                    r"|1[3-9][0-9](?:-[0-9]{{4}}-[0-9]{{4}}| [0-9]{{4}} [0-9]{{4}})",
                    // Chinese landline: area code, then 7 or 8 digits.
                    r"|(?:\(0[0-9]{{2,3}}\) ?|0[0-9]{{2,3}}-)[2-9][0-9]{{6,7}}",
                    // North American.
                    r"|\([2-9][0-9]{{2}}\) ?[2-9][0-9]{{2}}-[0-9]{{4}}|[2-9][0-9]{{2}}-[2-9][0-9]{{2}}-[0-9]{{4}}",
                    // International: + country code, then groups.
                    r"|\+[1-9][0-9]{{0,2}}(?:[ .\-]?(?:\([0-9]{{1,4}}\)|[0-9]{{1,4}})){{2,6}}",
                    r"){}"
                ),
                NUMBER_RIGHT
            ),
            number_left,
            phone_valid,
        ),
        (
            PiiKind::Phone,
            // A Chinese mobile as 11 bare digits, not in a row of numbers
            // (a table's `31.97 18246305792`): no digit one space away.
            r"(?P<p>1[3-9][0-9]{9})(?P<t>\z|[^0-9A-Za-z_. ]|\.\z|\.[^0-9]| \z| [^0-9])".to_string(),
            |t, at| number_left(t, at) && !(at >= 2 && t[at - 1] == b' ' && t[at - 2].is_ascii_digit()),
            pass,
        ),
        (
            PiiKind::Ip,
            format!(r"(?P<p>(?:{octet}\.){{3}}{octet}){NUMBER_RIGHT}"),
            number_left,
            ipv4_valid,
        ),
        (
            PiiKind::Ip,
            format!(
                r"(?P<p>(?:{hex}:){{7}}{hex}|(?:{hex}:){{1,6}}:(?:{hex}:){{0,5}}{hex})(?P<t>\z|[^0-9A-Za-z_:])"
            ),
            |t, at| at == 0 || !(word_byte(t[at - 1]) || t[at - 1] == b':'),
            ipv6_valid,
        ),
    ];
    // What each expression needs in a text to match at all, in the same
    // order: a text without it is not searched.
    let needs: [Need; 8] = [
        |c| c.at && c.colons >= 2, // scheme://user:password@
        |c| c.at,
        |c| c.digits >= 17,
        |c| c.digits >= 13,
        |c| c.digits >= 7,
        |c| c.digits >= 11,
        |c| c.digits >= 4 && c.dots >= 3,
        |c| c.colons >= 2,
    ];
    assert_eq!(specs.len(), needs.len());
    specs
        .into_iter()
        .zip(needs)
        .map(|((kind, pattern, left, check), need)| Pattern {
            kind,
            regex: Regex::new(&pattern).expect("the PII patterns compile"),
            left,
            check,
            need,
        })
        .collect()
}

/// The characters the expressions need, counted in one pass over a text.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    digits: usize,
    dots: usize,
    colons: usize,
    at: bool,
}

impl Counts {
    fn of(bytes: &[u8]) -> Self {
        let mut c = Counts::default();
        for &b in bytes {
            match b {
                b'0'..=b'9' => c.digits += 1,
                b'.' => c.dots += 1,
                b':' => c.colons += 1,
                b'@' => c.at = true,
                _ => {}
            }
        }
        c
    }
}

/// Whether a text's [`Counts`] allow an expression to match.
type Need = fn(&Counts) -> bool;

/// Finds personal information; build once, share between threads.
pub struct PiiDetector {
    patterns: Vec<Pattern>,
}

impl std::fmt::Debug for PiiDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiiDetector").finish_non_exhaustive()
    }
}

impl Default for PiiDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl PiiDetector {
    pub fn new() -> Self {
        Self {
            patterns: patterns(),
        }
    }

    /// The matches of `kinds` in `text`, in text order, without overlaps.
    pub fn find(&self, text: &str, kinds: &[PiiKind]) -> Vec<PiiMatch> {
        let counts = Counts::of(text.as_bytes());
        let mut by_pattern: Vec<Vec<PiiMatch>> = Vec::with_capacity(self.patterns.len());
        for p in &self.patterns {
            let mut found = Vec::new();
            if kinds.contains(&p.kind) && (p.need)(&counts) {
                p.find_into(text, &mut found);
            }
            by_pattern.push(found);
        }
        merge(by_pattern)
    }
}

impl Pattern {
    /// Matches left to right without overlap, as a backtracking engine's
    /// `finditer` finds them (see the module header), that pass the check.
    fn find_into(&self, text: &str, out: &mut Vec<PiiMatch>) {
        let bytes = text.as_bytes();
        let mut at = 0;
        let mut caps = self.regex.capture_locations();
        while at <= text.len() {
            let Some(whole) = self.regex.captures_read_at(&mut caps, text, at) else {
                break;
            };
            let start = whole.start();
            if !(self.left)(bytes, start) {
                // The lookbehind fails here: search again one character on.
                at = start + text[start..].chars().next().map_or(1, char::len_utf8);
                continue;
            }
            let (p_start, p_end) = caps.get(1).expect("group p");
            let (t_start, _) = caps.get(2).expect("group t");
            if (self.check)(&text[start..t_start]) {
                out.push(PiiMatch {
                    kind: self.kind,
                    start: p_start,
                    end: p_end,
                });
            }
            // The lookahead is not consumed.
            at = t_start.max(start + 1);
        }
    }
}

/// Every pattern's matches, merged in pattern order (kinds in priority
/// order): a match overlapping one of an earlier pattern is dropped.
fn merge(by_pattern: Vec<Vec<PiiMatch>>) -> Vec<PiiMatch> {
    let mut taken: Vec<PiiMatch> = Vec::new();
    for matches in by_pattern {
        if taken.is_empty() {
            taken = matches;
            continue;
        }
        for m in matches {
            let i = taken.partition_point(|t| t.end <= m.start);
            if taken.get(i).is_none_or(|t| t.start >= m.end) {
                taken.insert(i, m);
            }
        }
    }
    taken
}

/// What becomes of one kind of match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiAction {
    /// Not looked for.
    #[default]
    Off,
    /// Counted (the `pii_<kind>` column and the manifest), text untouched.
    Count,
    /// Replaced by its mask (`[EMAIL]`, `[PHONE]`, …).
    Mask,
    /// Deleted.
    Remove,
    /// The row is rejected (`pii_<kind>`).
    Reject,
}

/// `[clean.pii]`: an action for every kind (`action`), and one per kind
/// that overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct PiiConfig {
    /// The action of every kind not named below.
    pub action: PiiAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<PiiAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<PiiAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_card: Option<PiiAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_card: Option<PiiAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<PiiAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_credentials: Option<PiiAction>,
}

impl PiiConfig {
    /// The action for one kind.
    pub fn action(&self, kind: PiiKind) -> PiiAction {
        let own = match kind {
            PiiKind::UrlCredentials => self.url_credentials,
            PiiKind::Email => self.email,
            PiiKind::IdCard => self.id_card,
            PiiKind::BankCard => self.bank_card,
            PiiKind::Phone => self.phone,
            PiiKind::Ip => self.ip,
        };
        own.unwrap_or(self.action)
    }

    /// The kinds looked for (action not `off`), in priority order.
    pub fn kinds(&self) -> Vec<PiiKind> {
        PiiKind::ALL
            .into_iter()
            .filter(|&k| self.action(k) != PiiAction::Off)
            .collect()
    }

    pub fn enabled(&self) -> bool {
        !self.kinds().is_empty()
    }

    /// Every kind off (the default), which leaves the config hash as it was
    /// before PII existed.
    pub fn is_off(&self) -> bool {
        !self.enabled()
    }
}

/// Counts of each kind in one text, indexed like [`PiiKind::ALL`].
pub type PiiCounts = [u64; 6];

/// What redaction did to one text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Redacted {
    pub text: String,
    pub counts: PiiCounts,
    /// The first kind (in priority order) whose action is `reject`, found.
    pub reject: Option<PiiKind>,
}

/// The configured redaction of the clean stage.
#[derive(Debug)]
pub struct Redactor {
    config: PiiConfig,
    kinds: Vec<PiiKind>,
    detector: PiiDetector,
}

impl Redactor {
    pub fn new(config: PiiConfig) -> Self {
        Self {
            kinds: config.kinds(),
            config,
            detector: PiiDetector::new(),
        }
    }

    pub fn config(&self) -> &PiiConfig {
        &self.config
    }

    pub fn enabled(&self) -> bool {
        !self.kinds.is_empty()
    }

    /// Finds, counts and masks or removes the configured kinds.
    pub fn redact(&self, text: String) -> Redacted {
        if self.kinds.is_empty() {
            return Redacted {
                text,
                ..Redacted::default()
            };
        }
        let matches = self.detector.find(&text, &self.kinds);
        let mut counts = PiiCounts::default();
        for m in &matches {
            counts[m.kind.index()] += 1;
        }
        let reject = PiiKind::ALL
            .into_iter()
            .find(|&k| counts[k.index()] > 0 && self.config.action(k) == PiiAction::Reject);
        let edits = matches.iter().any(|m| {
            matches!(
                self.config.action(m.kind),
                PiiAction::Mask | PiiAction::Remove
            )
        });
        let text = if edits {
            replace(&text, &matches, |kind| match self.config.action(kind) {
                PiiAction::Mask => Some(kind.mask()),
                PiiAction::Remove => Some(""),
                _ => None,
            })
        } else {
            text
        };
        Redacted {
            text,
            counts,
            reject,
        }
    }
}

/// `text` with each match replaced by what `with` gives for its kind
/// (`None`: left as it is).
pub fn replace(
    text: &str,
    matches: &[PiiMatch],
    with: impl Fn(PiiKind) -> Option<&'static str>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in matches {
        if let Some(r) = with(m.kind) {
            out.push_str(&text[last..m.start]);
            out.push_str(r);
            last = m.end;
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PiiKind, &str)> {
        PiiDetector::new()
            .find(text, &PiiKind::ALL)
            .iter()
            .map(|m| (m.kind, &text[m.start..m.end]))
            .collect()
    }

    #[test]
    fn checksums() {
        assert!(id_card_valid("11010519491231002X"));
        assert!(!id_card_valid("110105194912310021"));
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        assert!(luhn_valid("6222020000000007"));
    }

    #[test]
    fn each_kind() {
        use PiiKind::*;
        let cases: &[(&str, &[(PiiKind, &str)])] = &[
            (
                "mail a.b+c@mail.example.com.cn.",
                &[(Email, "a.b+c@mail.example.com.cn")],
            ),
            (
                "身份证11010519491231002X号",
                &[(IdCard, "11010519491231002X")],
            ),
            ("身份证110105194912310021号", &[]),
            (
                "卡 4111-1111-1111-1111 ok",
                &[(BankCard, "4111-1111-1111-1111")],
            ),
            ("卡 4111111111111112 no", &[]),
            (
                "手机+86 13800138000，座机(010)62345678",
                &[(Phone, "+86 13800138000"), (Phone, "(010)62345678")],
            ),
            (
                "call +44 20 7946 0958 or (415) 555-2671",
                &[(Phone, "+44 20 7946 0958"), (Phone, "(415) 555-2671")],
            ),
            (
                "host 192.168.1.100:8080 and fe80::1ff:fe23:4567:890a",
                &[(Ip, "192.168.1.100"), (Ip, "fe80::1ff:fe23:4567:890a")],
            ),
            (
                "ftp://alice:s3cret@files.example.org/x",
                &[(UrlCredentials, "alice:s3cret@")],
            ),
            // Not PII: decimals, version runs, dates, numbers inside words.
            (
                "pi 3.14159265358979323 v1.2.3.4.5 1998-01-01 ab13800138000",
                &[],
            ),
            ("LibreOffice 7.4.1.2 (Debian)", &[]),
            // A figure in a table row is not a mobile number.
            ("98.97 31.97 18246305792", &[]),
            ("电话18246305792。", &[(Phone, "18246305792")]),
            // An e-mail made of a phone number is one e-mail.
            ("13800138000@163.com", &[(Email, "13800138000@163.com")]),
        ];
        for (text, want) in cases {
            assert_eq!(found(text), *want, "{text}");
        }
    }

    #[test]
    fn a_failed_lookbehind_searches_on() {
        // `v` blocks the first address; the search goes on and finds none
        // inside the dotted run, then the next address.
        assert_eq!(found("v1.2.3.4 and 10.0.0.1"), [(PiiKind::Ip, "10.0.0.1")]);
        assert_eq!(
            found("john_doe@x.org"),
            [(PiiKind::Email, "john_doe@x.org")]
        );
        // A shorter card number ends before a following year.
        assert_eq!(
            found("4111 1111 1111 1111 2024年"),
            [(PiiKind::BankCard, "4111 1111 1111 1111")]
        );
    }

    #[test]
    fn redaction_masks_removes_counts_and_rejects() {
        let config = PiiConfig {
            action: PiiAction::Mask,
            ip: Some(PiiAction::Remove),
            phone: Some(PiiAction::Count),
            id_card: Some(PiiAction::Reject),
            ..PiiConfig::default()
        };
        let r = Redactor::new(config);
        let out = r.redact("a@b.cn 10.2.3.4, 13800138000 https://u:p@h.cn/".into());
        assert_eq!(
            out.text,
            "[EMAIL] , 13800138000 https://[CREDENTIALS]@h.cn/"
        );
        assert_eq!(out.counts, [1, 1, 0, 0, 1, 1]);
        assert_eq!(out.reject, None);
        let out = r.redact("id 11010519491231002X".into());
        assert_eq!(out.reject, Some(PiiKind::IdCard));
        assert!(!Redactor::new(PiiConfig::default()).enabled());
    }

    /// `find` skips expressions a text cannot match by its counts of digits,
    /// dots, colons and `@`: the same matches as searching every one.
    #[test]
    fn skipping_by_counts_changes_nothing() {
        let d = PiiDetector::new();
        let pieces = [
            "a@b.cn", "1", "38", "0013", "8000", ".", ":", "::", "+86 ", "(010)", "6222", "0200",
            "x", " ", "中", "-", "https://", "u:p@", "192.168", "fe80", "X", "4111",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let text: String = (0..(state % 16))
                .map(|k| pieces[(state >> (4 * k)) as usize % pieces.len()])
                .collect();
            let mut all = Vec::new();
            for p in &d.patterns {
                let mut found = Vec::new();
                p.find_into(&text, &mut found);
                all.push(found);
            }
            assert_eq!(d.find(&text, &PiiKind::ALL), merge(all), "{text}");
        }
    }
}
