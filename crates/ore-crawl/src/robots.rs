//! robots.txt (RFC 9309): the group for our user agent, Allow/Disallow with
//! the longest match winning (Allow on a tie), `*` and `$` in patterns, and
//! Crawl-delay.

/// One `User-agent` group: (agents, (allow, pattern) rules, Crawl-delay).
type Group = (Vec<String>, Vec<(bool, String)>, Option<f64>);

/// The rules of one host for one user agent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Robots {
    /// (allow, pattern)
    rules: Vec<(bool, String)>,
    /// Seconds between requests asked for by the site.
    pub crawl_delay: Option<f64>,
    /// The `Sitemap:` lines (they belong to no group).
    pub sitemaps: Vec<String>,
}

impl Robots {
    /// Everything allowed (no robots.txt, or a 4xx for it).
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// Everything disallowed (robots.txt unreachable with a 5xx).
    pub fn disallow_all() -> Self {
        Self {
            rules: vec![(false, "/".into())],
            ..Self::default()
        }
    }

    /// Parses a robots.txt for `user_agent` (matched by its product token,
    /// the part before `/`, case-insensitively).
    pub fn parse(text: &str, user_agent: &str) -> Self {
        let token = user_agent
            .split(['/', ' '])
            .next()
            .unwrap_or(user_agent)
            .to_ascii_lowercase();
        // Groups: (agents, rules, delay). Consecutive user-agent lines share a group.
        let mut groups: Vec<Group> = Vec::new();
        let mut open_agents = false;
        let mut sitemaps = Vec::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if !open_agents {
                        groups.push((Vec::new(), Vec::new(), None));
                    }
                    open_agents = true;
                    if let Some(g) = groups.last_mut() {
                        g.0.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    open_agents = false;
                    if let Some(g) = groups.last_mut()
                        && !value.is_empty()
                    {
                        g.1.push((key == "allow", value.to_string()));
                    }
                }
                "crawl-delay" => {
                    open_agents = false;
                    if let Some(g) = groups.last_mut() {
                        g.2 = value
                            .parse::<f64>()
                            .ok()
                            .filter(|d| d.is_finite() && *d >= 0.0);
                    }
                }
                "sitemap" if !value.is_empty() => {
                    sitemaps.push(value.to_string());
                }
                _ => {}
            }
        }
        // The most specific group naming us, else `*`; rules of several
        // groups naming the same agent are merged.
        let best = groups
            .iter()
            .flat_map(|g| g.0.iter())
            .filter(|a| *a != "*" && token.contains(a.as_str()))
            .map(String::len)
            .max();
        let chosen: Vec<_> = groups
            .into_iter()
            .filter(|g| match best {
                Some(len) => {
                    g.0.iter()
                        .any(|a| a.len() == len && token.contains(a.as_str()))
                }
                None => g.0.iter().any(|a| a == "*"),
            })
            .collect();
        let mut robots = Robots {
            sitemaps,
            ..Robots::default()
        };
        for (_, rules, delay) in chosen {
            robots.rules.extend(rules);
            robots.crawl_delay = robots.crawl_delay.or(delay);
        }
        robots
    }

    /// Whether a path (with its query) may be fetched.
    pub fn allowed(&self, path_and_query: &str) -> bool {
        if path_and_query == "/robots.txt" {
            return true;
        }
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if matches(pattern.as_bytes(), path_and_query.as_bytes()) {
                let len = pattern.len();
                best = match best {
                    Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                    _ => Some((len, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// Prefix match of a robots pattern with `*` (any run) and a final `$`
/// (end), in O(pattern × path) whatever the number of stars.
fn matches(pattern: &[u8], path: &[u8]) -> bool {
    let (pattern, anchored) = match pattern.split_last() {
        Some((b'$', rest)) => (rest, true),
        _ => (pattern, false),
    };
    // reach[i]: the pattern prefix seen so far can end at path[..i].
    let mut reach = vec![false; path.len() + 1];
    reach[0] = true;
    for &c in pattern {
        let mut next = vec![false; path.len() + 1];
        if c == b'*' {
            let mut any = false;
            for (i, slot) in next.iter_mut().enumerate() {
                any |= reach[i];
                *slot = any;
            }
        } else {
            for (i, &b) in path.iter().enumerate() {
                if reach[i] && b == c {
                    next[i + 1] = true;
                }
            }
        }
        reach = next;
    }
    if anchored {
        reach[path.len()]
    } else {
        reach.iter().any(|&r| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXT: &str = "\
User-agent: *
Disallow: /private/
Allow: /private/open.html
Crawl-delay: 2

Sitemap: http://example.com/sitemap.xml

User-agent: ore-crawl
User-agent: other
Disallow: /no-ore/
Disallow: /*.pdf$
Allow: /no-ore/yes
Crawl-delay: 0.5
";

    #[test]
    fn our_group_wins_with_longest_match() {
        let r = Robots::parse(TXT, "ore-crawl/0.1");
        assert_eq!(r.crawl_delay, Some(0.5));
        assert!(r.allowed("/private/x")); // not in our group
        assert!(!r.allowed("/no-ore/page"));
        assert!(r.allowed("/no-ore/yes/page"));
        assert!(!r.allowed("/a/b.pdf"));
        assert!(r.allowed("/a/b.pdf?x=1"));
        assert!(r.allowed("/robots.txt"));
        assert_eq!(r.sitemaps, ["http://example.com/sitemap.xml"]);
    }

    #[test]
    fn star_group_for_others() {
        let r = Robots::parse(TXT, "SomeBot/2.0");
        assert_eq!(r.crawl_delay, Some(2.0));
        assert!(!r.allowed("/private/x"));
        assert!(r.allowed("/private/open.html"));
        assert!(r.allowed("/"));
    }

    #[test]
    fn empty_disallow_allows_all_and_ties_allow() {
        let r = Robots::parse("User-agent: *\nDisallow:\n", "ore");
        assert!(r.allowed("/anything"));
        let r = Robots::parse("User-agent: *\nDisallow: /a\nAllow: /a\n", "ore");
        assert!(r.allowed("/a"));
        assert!(!Robots::disallow_all().allowed("/x"));
    }
}
