//! The frontier: URLs waiting to be fetched, one FIFO queue per host (so the
//! crawl is breadth-first per host), the seen-set that keeps any URL from
//! being tried twice, and each host's politeness state (robots.txt, requests
//! in flight, the earliest time of its next request).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use crate::robots::Robots;

/// A URL waiting to be fetched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    /// Canonical URL.
    pub url: String,
    pub depth: u32,
    pub parent: Option<String>,
    /// A sitemap to read, not a page (`depth` is then its nesting level).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sitemap: bool,
    /// The `<lastmod>` of the sitemap that listed the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastmod_us: Option<i64>,
}

impl Item {
    /// A page at `depth`, found on `parent`.
    pub fn page(url: impl Into<String>, depth: u32, parent: Option<String>) -> Self {
        Self {
            url: url.into(),
            depth,
            parent,
            sitemap: false,
            lastmod_us: None,
        }
    }
}

/// What is known of a host's robots.txt.
#[derive(Debug, Clone)]
pub enum RobotsState {
    Unknown,
    Fetching,
    Known(Arc<Robots>),
}

#[derive(Debug)]
struct Host {
    queue: VecDeque<Item>,
    active: usize,
    next_at: Instant,
    delay: Duration,
    robots: RobotsState,
}

/// What [`Frontier::next`] hands out.
#[derive(Debug)]
pub enum Next {
    /// Fetch this URL (the host's robots rules come with it).
    Fetch(Item, Option<Arc<Robots>>),
    /// Fetch this host's robots.txt first.
    Robots(String),
    /// Nothing ready now; something may be ready at this time.
    Wait(Option<Instant>),
}

/// The key of a URL's host: `scheme://host:port`.
pub fn host_key(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Queues, seen-set and per-host state.
#[derive(Debug)]
pub struct Frontier {
    seen: HashSet<String>,
    hosts: HashMap<String, Host>,
    /// Round-robin order of hosts.
    order: Vec<String>,
    cursor: usize,
    queued: usize,
    robots: bool,
    per_host: usize,
    min_delay: Duration,
    max_crawl_delay: Duration,
}

impl Frontier {
    pub fn new(
        robots: bool,
        per_host: usize,
        min_delay: Duration,
        max_crawl_delay: Duration,
    ) -> Self {
        Self {
            seen: HashSet::new(),
            hosts: HashMap::new(),
            order: Vec::new(),
            cursor: 0,
            queued: 0,
            robots,
            per_host: per_host.max(1),
            min_delay,
            max_crawl_delay,
        }
    }

    /// Marks a URL seen; false if it already was.
    pub fn mark_seen(&mut self, url: &str) -> bool {
        self.seen.insert(url.to_string())
    }

    pub fn is_seen(&self, url: &str) -> bool {
        self.seen.contains(url)
    }

    pub fn seen_len(&self) -> usize {
        self.seen.len()
    }

    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Queues an item whose URL was just marked seen.
    pub fn push(&mut self, item: Item, host: String) {
        let entry = self.hosts.entry(host.clone()).or_insert_with(|| {
            self.order.push(host);
            Host {
                queue: VecDeque::new(),
                active: 0,
                next_at: Instant::now(),
                delay: self.min_delay,
                robots: RobotsState::Unknown,
            }
        });
        entry.queue.push_back(item);
        self.queued += 1;
    }

    /// Every queued item, in queue order per host.
    pub fn pending(&self) -> Vec<Item> {
        self.order
            .iter()
            .filter_map(|h| self.hosts.get(h))
            .flat_map(|h| h.queue.iter().cloned())
            .collect()
    }

    /// Records a host's robots.txt and its Crawl-delay.
    pub fn set_robots(&mut self, host: &str, robots: Robots) {
        if let Some(h) = self.hosts.get_mut(host) {
            if let Some(delay) = robots.crawl_delay {
                let delay = Duration::try_from_secs_f64(delay)
                    .unwrap_or(self.max_crawl_delay)
                    .min(self.max_crawl_delay);
                h.delay = h.delay.max(delay);
            }
            h.robots = RobotsState::Known(Arc::new(robots));
        }
    }

    /// A request to `host` finished.
    pub fn release(&mut self, host: &str) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.active = h.active.saturating_sub(1);
        }
    }

    /// Pushes a host's next request back (a 429 or 503 with Retry-After).
    pub fn defer(&mut self, host: &str, wait: Duration) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.next_at = h.next_at.max(Instant::now() + wait);
        }
    }

    /// The next thing to do, visiting hosts round-robin.
    pub fn next_ready(&mut self) -> Next {
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        let n = self.order.len();
        for step in 0..n {
            let i = (self.cursor + step) % n;
            let key = &self.order[i];
            let Some(h) = self.hosts.get_mut(key) else {
                continue;
            };
            if h.queue.is_empty() {
                continue;
            }
            let robots = match (&h.robots, self.robots) {
                (_, false) => None,
                (RobotsState::Known(r), true) => Some(r.clone()),
                (RobotsState::Fetching, true) => continue,
                (RobotsState::Unknown, true) => {
                    h.robots = RobotsState::Fetching;
                    self.cursor = (i + 1) % n;
                    return Next::Robots(key.clone());
                }
            };
            if h.active >= self.per_host {
                continue;
            }
            if h.next_at > now {
                wake = Some(wake.map_or(h.next_at, |w| w.min(h.next_at)));
                continue;
            }
            let Some(item) = h.queue.pop_front() else {
                continue;
            };
            h.active += 1;
            h.next_at = now + h.delay;
            self.queued -= 1;
            self.cursor = (i + 1) % n;
            return Next::Fetch(item, robots);
        }
        Next::Wait(wake)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(u: &str) -> Item {
        Item::page(u, 0, None)
    }

    #[tokio::test]
    async fn robots_first_then_round_robin_with_delay() {
        let mut f = Frontier::new(true, 1, Duration::ZERO, Duration::from_secs(5));
        for u in ["http://a/1", "http://a/2"] {
            assert!(f.mark_seen(u));
            f.push(item(u), "a".into());
        }
        assert!(!f.mark_seen("http://a/1"));
        f.push(item("http://b/1"), "b".into());
        assert!(matches!(f.next_ready(), Next::Robots(h) if h == "a"));
        assert!(matches!(f.next_ready(), Next::Robots(h) if h == "b"));
        assert!(matches!(f.next_ready(), Next::Wait(None)));
        let mut robots = Robots::allow_all();
        robots.crawl_delay = Some(100.0);
        f.set_robots("a", robots);
        f.set_robots("b", Robots::allow_all());
        let Next::Fetch(first, _) = f.next_ready() else {
            panic!()
        };
        assert_eq!(first.url, "http://a/1");
        let Next::Fetch(second, _) = f.next_ready() else {
            panic!()
        };
        assert_eq!(second.url, "http://b/1");
        // a: one in flight (per-host limit 1); after release, the capped delay applies.
        assert!(matches!(f.next_ready(), Next::Wait(None)));
        f.release("a");
        assert!(matches!(f.next_ready(), Next::Wait(Some(_))));
        assert_eq!(f.queued(), 1);
    }
}
