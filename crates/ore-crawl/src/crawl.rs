//! [`Crawler`]: the crawl stage built from a [`CrawlConfig`], and its
//! scheduler: a loop that hands frontier URLs to fetch tasks under the
//! global and per-host limits, records each outcome in the state, and
//! commits the output at the end or on SIGINT/SIGTERM. Sitemaps queue
//! their pages as seeds; with a previous crawl, pages are asked for
//! conditionally and a 304 carries the previous document over.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ore_core::{Progress, StageInfo, StageOutput, WriteOptions};
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

use crate::config::CrawlConfig;
use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::frontier::{Frontier, Item, Next, host_key};
use crate::guard::Guard;
use crate::output::{Chrome, RowWriter, output_schema};
use crate::previous::Previous;
use crate::robots::Robots;
use crate::row::Row;
use crate::sitemap::{self, Sitemap};
use crate::state::{State, state_dir};
use crate::task::{base_row, fetch_page, fetch_robots, fetch_sitemap};
use crate::urls::{Skip, UrlRules};

/// How one run writes its output.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The dataset folder written (committed atomically).
    pub output: PathBuf,
    /// Continue from the state of an interrupted crawl of the same output.
    pub resume: bool,
    /// The pipeline's run seed, recorded in the manifest.
    pub seed: u64,
    /// Show a progress bar (when stderr is a terminal).
    pub progress: bool,
    /// The shard this run is, recorded in the manifest (`output` is then
    /// the shard's folder).
    pub shard: Option<ore_core::shard::Shard>,
    /// An earlier crawl's output: its pages are asked for with
    /// `If-None-Match` / `If-Modified-Since`, and those that come back 304
    /// are carried over (see [`crate::previous`]).
    pub previous: Option<PathBuf>,
}

/// What a crawl did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub output: PathBuf,
    pub state_dir: PathBuf,
    /// URLs tried, in all runs of this crawl.
    pub tried: u64,
    pub documents: u64,
    /// Documents carried over from the previous crawl after a 304.
    pub not_modified: u64,
    /// The run was a conditional re-crawl (`previous` given).
    pub conditional: bool,
    pub rejected: u64,
    /// Rows of earlier runs taken over by `--resume`.
    pub resumed: u64,
    /// URLs tried by this run.
    pub fetched_now: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    pub by_status: BTreeMap<String, u64>,
    pub by_reason: BTreeMap<String, u64>,
    /// Lines removed as site chrome (distinct lines).
    pub chrome_lines: usize,
    /// Stopped by SIGINT/SIGTERM; the state is kept for `--resume`.
    pub interrupted: bool,
    /// URLs still queued when the crawl stopped.
    pub queued: usize,
}

impl Report {
    pub fn pages_per_s(&self) -> f64 {
        self.fetched_now as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "crawl: {} URLs tried ({} documents{}, {} rejected) -> {}\n  this run: {} URLs in {:.1}s ({:.1} pages/s), {:.1} MB received{}\n",
            self.tried,
            self.documents,
            if self.conditional || self.not_modified > 0 {
                format!(", {} not modified", self.not_modified)
            } else {
                String::new()
            },
            self.rejected,
            self.output.display(),
            self.fetched_now,
            self.elapsed.as_secs_f64(),
            self.pages_per_s(),
            self.bytes as f64 / 1e6,
            if self.resumed > 0 {
                format!(", {} rows resumed", self.resumed)
            } else {
                String::new()
            },
        );
        let join = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str(&format!("  by status: {}\n", join(&self.by_status)));
        if !self.by_reason.is_empty() {
            s.push_str(&format!(
                "  rejected by reason: {}\n",
                join(&self.by_reason)
            ));
        }
        if self.interrupted {
            s.push_str(&format!(
                "  interrupted with {} URLs queued; state kept in {}; continue with --resume\n",
                self.queued,
                self.state_dir.display()
            ));
        }
        s
    }
}

/// The crawl stage, built (and checked) from its config.
#[derive(Debug)]
pub struct Crawler {
    config: CrawlConfig,
    seeds: Vec<Url>,
    sitemaps: Vec<Url>,
    rules: UrlRules,
    public_hosts: HashSet<String>,
    /// The report of the last run through the Stage contract, for its
    /// summary.
    last_report: std::sync::Mutex<Option<Report>>,
}

impl ore_core::StageDef for Crawler {
    const KIND: &'static str = "crawl";
    /// The seeds are config; what the web serves is not a tracked input.
    /// `previous`, the earlier crawl a conditional re-crawl carries
    /// unchanged pages over from, is one: its documents end up in the
    /// output, so the output is stale when it changes (and, in a pipeline,
    /// a section naming another crawl stage runs after it). It must be
    /// another folder than the output.
    const INPUTS: &'static [ore_core::InputSpec] = &[ore_core::InputSpec {
        key: "previous",
        kind: ore_core::InputKind::Dataset,
        required: false,
        many: false,
        defaults: &[],
    }];
    /// The seed only jitters retry delays.
    const SEEDED: bool = false;
    type Config = CrawlConfig;
}

impl ore_core::Stage for Crawler {
    type Error = Error;

    fn build(config: CrawlConfig) -> Result<Self> {
        Crawler::build(config)
    }

    fn run(&self, ctx: &ore_core::StageContext) -> Result<ore_core::Manifest> {
        let output = ctx.target(ore_core::shard::ROWS_STEP);
        let opts = RunOptions {
            output: output.clone(),
            resume: ctx.resume,
            seed: ctx.seed,
            progress: ctx.progress,
            shard: ctx.shard,
            previous: ctx.inputs("previous").first().cloned(),
        };
        let report = match ctx.shard {
            Some(shard) => self.shard(shard)?.run(&opts)?,
            None => self.run(&opts)?,
        };
        if report.interrupted {
            eprint!("{}", report.summary());
            return Err(Error::Interrupted {
                tried: report.tried,
                output: ctx.output.clone(),
            });
        }
        let manifest = ore_core::Manifest::read(&output)?;
        if let Ok(mut last) = self.last_report.lock() {
            *last = Some(report);
        }
        Ok(manifest)
    }

    /// Shards crawl disjoint sets of hosts (or of seed URLs), so they
    /// concatenate.
    fn shard_steps(&self) -> Option<Vec<&'static str>> {
        Some(vec![ore_core::shard::ROWS_STEP])
    }

    fn summary(&self, manifest: &ore_core::Manifest, ctx: &ore_core::StageContext) -> String {
        match self.last_report.lock().ok().and_then(|r| r.clone()) {
            Some(report) => report.summary(),
            None => manifest.summary_line(&ctx.output),
        }
    }
}

/// Running counts of this crawl.
struct Tally {
    tried: u64,
    bytes: u64,
    errors: u64,
}

/// What wakes the crawl loop.
enum Event {
    /// A fetch task ended (`None`: none was running).
    Joined(Option<std::result::Result<Outcome, tokio::task::JoinError>>),
    /// A host's delay passed, or a checkpoint is due.
    Tick,
    /// SIGINT or SIGTERM.
    Shutdown,
}

enum Outcome {
    Robots {
        host: String,
        robots: Robots,
    },
    Page {
        host: String,
        row: Box<Row>,
        links: Vec<Url>,
    },
    Sitemap {
        host: String,
        row: Box<Row>,
        sitemap: Sitemap,
    },
}

/// The items a saved row queued, as the frontier had them: a page's links
/// (one level deeper), a sitemap's pages (seeds, depth 0) and sitemaps
/// (one level deeper).
fn queued(row: &Row) -> impl Iterator<Item = Item> + '_ {
    let links = row
        .links
        .iter()
        .map(|l| Item::page(l.clone(), row.depth + 1, Some(row.url.clone())));
    let seeds = row.seeds.iter().map(|s| Item {
        lastmod_us: s.lastmod_us,
        ..Item::page(s.url.clone(), 0, Some(row.url.clone()))
    });
    let sitemaps = row.sitemaps.iter().map(|s| Item {
        sitemap: true,
        ..Item::page(s.clone(), row.depth + 1, Some(row.url.clone()))
    });
    links.chain(seeds).chain(sitemaps)
}

impl Crawler {
    /// Checks the config and seeds.
    pub fn build(config: CrawlConfig) -> Result<Self> {
        if config.seeds.is_empty() && config.sitemaps.is_empty() {
            return Err(Error::Config(
                "no seed URL (give --seed URL, --sitemap URL, or `seeds` or `sitemaps` in [crawl])"
                    .into(),
            ));
        }
        if config.sitemaps_from_robots && !config.robots {
            return Err(Error::Config(
                "`sitemaps_from_robots` reads robots.txt, which `robots = false` does not fetch"
                    .into(),
            ));
        }
        if config.concurrency == 0 || config.per_host_concurrency == 0 {
            return Err(Error::Config(
                "`concurrency` and `per_host_concurrency` must be at least 1".into(),
            ));
        }
        for (key, v) in [
            ("timeout_s", config.timeout_s),
            ("connect_timeout_s", config.connect_timeout_s),
            ("max_retry_after_s", config.max_retry_after_s),
            ("max_crawl_delay_s", config.max_crawl_delay_s),
            ("checkpoint_s", config.checkpoint_s),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::Config(format!(
                    "`{key}` must be a non-negative number, got {v}"
                )));
            }
        }
        let parse = |raw: &String| {
            let url = Url::parse(raw.trim()).map_err(|e| Error::Seed {
                url: raw.clone(),
                message: e.to_string(),
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(Error::Seed {
                    url: raw.clone(),
                    message: "only http and https URLs can be crawled".into(),
                });
            }
            Ok(url)
        };
        let seeds = config.seeds.iter().map(parse).collect::<Result<Vec<_>>>()?;
        let sitemaps = config
            .sitemaps
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>>>()?;
        let all: Vec<Url> = seeds.iter().chain(&sitemaps).cloned().collect();
        let rules = UrlRules::new(&config, &all)?;
        let seeds = seeds.iter().map(|u| rules.canonical(u)).collect();
        let sitemaps = sitemaps.iter().map(|u| rules.canonical(u)).collect();
        Ok(Self {
            config,
            seeds,
            sitemaps,
            rules,
            public_hosts: HashSet::new(),
            last_report: std::sync::Mutex::new(None),
        })
    }

    /// The crawler of shard `shard`: the seeds and links whose host (or
    /// URL, with `shard_by = "url"`) hashes to it.
    pub fn shard(&self, shard: ore_core::shard::Shard) -> Result<Self> {
        if self.config.shard_by == crate::config::ShardBy::Url && self.config.max_depth != Some(0) {
            return Err(Error::Config(
                "shard_by = \"url\" splits a list of seeds: set max_depth = 0 (links found on one shard's pages would be another's to fetch)".into(),
            ));
        }
        if self.config.shard_by == crate::config::ShardBy::Url
            && (!self.sitemaps.is_empty() || self.config.sitemaps_from_robots)
        {
            return Err(Error::Config(
                "shard_by = \"url\" does not read sitemaps (each shard would need every sitemap): use shard_by = \"host\"".into(),
            ));
        }
        let all: Vec<Url> = self.seeds.iter().chain(&self.sitemaps).cloned().collect();
        let rules = UrlRules::new(&self.config, &all)?.with_shard(shard, self.config.shard_by);
        let mine = |urls: &[Url]| urls.iter().filter(|s| rules.in_shard(s)).cloned().collect();
        let (seeds, sitemaps) = (mine(&self.seeds), mine(&self.sitemaps));
        Ok(Self {
            config: self.config.clone(),
            seeds,
            sitemaps,
            rules,
            public_hosts: self.public_hosts.clone(),
            last_report: std::sync::Mutex::new(None),
        })
    }

    /// Treats these hosts as public addresses for the SSRF guard. Tests use
    /// it to stand a "public" site up on 127.0.0.1 without going outside.
    #[doc(hidden)]
    pub fn treat_as_public(mut self, hosts: impl IntoIterator<Item = String>) -> Self {
        self.public_hosts.extend(hosts);
        self
    }

    pub fn config(&self) -> &CrawlConfig {
        &self.config
    }

    /// Runs the crawl to the end (or to SIGINT/SIGTERM) and commits the output.
    pub fn run(&self, opts: &RunOptions) -> Result<Report> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Client(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(self.run_async(opts))
    }

    async fn run_async(&self, opts: &RunOptions) -> Result<Report> {
        let started = Instant::now();
        let config = &self.config;
        let allow_private = match config.allow_private {
            Some(allow) => allow,
            None => {
                let probe = Guard::new(false, self.public_hosts.clone());
                let mut local = false;
                for seed in self.seeds.iter().chain(&self.sitemaps) {
                    match probe.is_public(seed).await {
                        Ok(public) => local |= !public,
                        Err(e) => {
                            return Err(Error::Seed {
                                url: seed.to_string(),
                                message: e,
                            });
                        }
                    }
                }
                local
            }
        };
        let fetcher = Arc::new(Fetcher::new(
            config,
            Guard::new(allow_private, self.public_hosts.clone()),
        )?);

        let dir = state_dir(&opts.output);
        let mut previous = opts.previous.as_deref().map(Previous::open).transpose()?;
        let (mut state, done) = State::open(&dir, opts.resume)?;
        if let Some(previous) = previous.as_mut() {
            previous.load(state.dir())?;
        }
        let mut frontier = Frontier::new(
            config.robots,
            config.per_host_concurrency,
            Duration::from_millis(config.min_delay_ms),
            Duration::try_from_secs_f64(config.max_crawl_delay_s).unwrap_or(Duration::MAX),
        );
        // Rebuild the seen-set and frontier: sitemaps and seeds, then what
        // every saved row queued.
        let done_urls: HashSet<&str> = done.iter().map(|r| r.url.as_str()).collect();
        let firsts = self
            .sitemaps
            .iter()
            .map(|u| Item {
                sitemap: true,
                ..Item::page(u.to_string(), 0, None)
            })
            .chain(
                self.seeds
                    .iter()
                    .map(|u| Item::page(u.to_string(), 0, None)),
            );
        let mut sitemaps_left = self.config.max_sitemaps.saturating_sub(self.sitemaps.len());
        let mut bytes = 0u64;
        let mut errors = 0u64;
        let replayed = done.iter().flat_map(queued);
        for item in firsts.chain(replayed) {
            if frontier.mark_seen(&item.url)
                && !done_urls.contains(item.url.as_str())
                && let Ok(u) = Url::parse(&item.url)
            {
                frontier.push(item, host_key(&u));
            }
        }
        for row in &done {
            frontier.mark_seen(&row.url);
            bytes += row.wire_bytes;
            errors += u64::from(!row.is_document());
            sitemaps_left = sitemaps_left.saturating_sub(row.sitemaps.len());
        }
        // Hosts whose robots.txt may list sitemaps.
        let sitemap_hosts: HashSet<String> = if self.config.sitemaps_from_robots {
            self.seeds
                .iter()
                .chain(&self.sitemaps)
                .map(host_key)
                .collect()
        } else {
            HashSet::new()
        };
        let resumed = done.len() as u64;
        drop(done_urls);
        drop(done);

        let progress = if opts.progress {
            Progress::new(None, "pages")
        } else {
            Progress::hidden()
        };
        progress.inc(resumed);
        let mut in_flight_pages = 0u64;
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        let checkpoint_every = Duration::from_secs_f64(config.checkpoint_s.max(0.05));
        let mut last_checkpoint = Instant::now();
        let mut interrupted = false;
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);

        let mut tally = Tally {
            tried: resumed,
            bytes,
            errors,
        };
        let record = |row: Row, state: &mut State, tally: &mut Tally| -> Result<()> {
            tally.tried += 1;
            tally.bytes += row.wire_bytes;
            tally.errors += u64::from(!row.is_document());
            state.append(&row)?;
            progress.inc(1);
            Ok(())
        };

        loop {
            let mut wake = None;
            while tasks.len() < config.concurrency
                && config
                    .max_pages
                    .is_none_or(|m| tally.tried + in_flight_pages < m)
            {
                match frontier.next_ready() {
                    Next::Robots(host) => {
                        let fetcher = fetcher.clone();
                        let ua = config.user_agent.clone();
                        tasks.spawn(async move {
                            let robots = fetch_robots(&fetcher, &host, &ua).await;
                            Outcome::Robots { host, robots }
                        });
                    }
                    Next::Fetch(item, robots) => {
                        let Ok(url) = Url::parse(&item.url) else {
                            continue;
                        };
                        let host = host_key(&url);
                        let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
                        if let Some(robots) = robots
                            && !robots.allowed(path)
                        {
                            frontier.release(&host);
                            let row = Row {
                                reject: Some("robots".into()),
                                detail: Some(format!(
                                    "disallowed by {}/robots.txt",
                                    url.origin().ascii_serialization()
                                )),
                                ..base_row(&item)
                            };
                            record(row, &mut state, &mut tally)?;
                            continue;
                        }
                        in_flight_pages += 1;
                        let fetcher = fetcher.clone();
                        if item.sitemap {
                            let limit = config.max_decompressed_bytes;
                            tasks.spawn(async move {
                                let (row, sitemap) =
                                    fetch_sitemap(&fetcher, item, url, limit).await;
                                Outcome::Sitemap {
                                    host,
                                    row: Box::new(row),
                                    sitemap,
                                }
                            });
                            continue;
                        }
                        let max_links = config.max_links_per_page;
                        let validators = previous.as_ref().and_then(|p| p.validators(&item.url));
                        tasks.spawn(async move {
                            let (row, links) =
                                fetch_page(&fetcher, item, url, max_links, validators).await;
                            Outcome::Page {
                                host,
                                row: Box::new(row),
                                links,
                            }
                        });
                    }
                    Next::Wait(at) => {
                        wake = at;
                        break;
                    }
                }
            }
            if tasks.is_empty() && wake.is_none() {
                break; // nothing in flight and nothing that can become ready
            }
            let wake_at = wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let checkpoint_at = last_checkpoint + checkpoint_every;
            let event = tokio::select! {
                joined = tasks.join_next(), if !tasks.is_empty() => Event::Joined(joined),
                () = tokio::time::sleep_until(wake_at), if wake.is_some() => Event::Tick,
                () = tokio::time::sleep_until(checkpoint_at) => Event::Tick,
                () = &mut shutdown => Event::Shutdown,
            };
            match event {
                Event::Joined(None) | Event::Tick => {}
                Event::Joined(Some(joined)) => {
                    let outcome =
                        joined.map_err(|e| Error::Client(format!("fetch task failed: {e}")))?;
                    match outcome {
                        Outcome::Robots { host, mut robots } => {
                            if sitemap_hosts.contains(&host) {
                                let listed = std::mem::take(&mut robots.sitemaps);
                                sitemap::queue_from_robots(
                                    &self.rules,
                                    &host,
                                    listed,
                                    &mut frontier,
                                    &mut sitemaps_left,
                                );
                            }
                            frontier.set_robots(&host, robots);
                        }
                        Outcome::Page {
                            host,
                            mut row,
                            mut links,
                        } => {
                            in_flight_pages -= 1;
                            frontier.release(&host);
                            if row.not_modified
                                && let Some(previous) = previous.as_mut()
                            {
                                previous.carry(&mut row)?;
                                links = row
                                    .page_links
                                    .iter()
                                    .filter_map(|l| Url::parse(l).ok())
                                    .collect();
                            }
                            for row in self.fetched(*row, links, &mut frontier) {
                                record(row, &mut state, &mut tally)?;
                            }
                        }
                        Outcome::Sitemap { host, row, sitemap } => {
                            in_flight_pages -= 1;
                            frontier.release(&host);
                            let rows = sitemap::queue(
                                &self.rules,
                                *row,
                                sitemap,
                                &mut frontier,
                                &mut sitemaps_left,
                            );
                            for row in rows {
                                record(row, &mut state, &mut tally)?;
                            }
                        }
                    }
                    progress.set_message(format!(
                        "{} queued, {} errors, {:.1} MB",
                        frontier.queued(),
                        tally.errors,
                        tally.bytes as f64 / 1e6
                    ));
                }
                Event::Shutdown => {
                    interrupted = true;
                    progress.println(
                        "interrupted: saving the crawl state and committing what was fetched",
                    );
                    break;
                }
            }
            if last_checkpoint.elapsed() >= checkpoint_every {
                state.checkpoint(frontier.seen_len(), &frontier.pending())?;
                last_checkpoint = Instant::now();
            }
        }
        // Pages in flight are dropped; they stay in the frontier of the
        // saved state (their parents' links) and are fetched on --resume.
        tasks.abort_all();
        let mut pending = frontier.pending();
        if interrupted {
            // Unfinished fetches go back to the queue snapshot.
            let done: HashSet<String> = state
                .read_rows()?
                .filter_map(|r| r.ok().map(|r| r.url))
                .collect();
            let queued_urls: HashSet<String> = pending.iter().map(|i| i.url.clone()).collect();
            for row in state.read_rows()? {
                let row = row?;
                for item in queued(&row) {
                    if !done.contains(&item.url) && !queued_urls.contains(&item.url) {
                        pending.push(item);
                    }
                }
            }
        }
        state.checkpoint(frontier.seen_len(), &pending)?;
        progress.finish();

        let previous = previous.as_ref().map(Previous::dataset);
        let mut report = self.commit(&mut state, opts, previous, started.into_std())?;
        report.resumed = resumed;
        report.fetched_now = tally.tried - resumed;
        report.elapsed = started.elapsed();
        report.interrupted = interrupted;
        report.queued = pending.len();
        report.state_dir = dir;
        if !interrupted {
            state.remove()?;
        }
        Ok(report)
    }

    /// The rows a fetched page gives: its own (marked `link_only` where the
    /// rules fetch it only for its links), then one for each of its links
    /// too long to follow (`url_too_long`). Links in scope and not seen
    /// before join the frontier, and the page's row lists them.
    fn fetched(&self, mut row: Row, links: Vec<Url>, frontier: &mut Frontier) -> Vec<Row> {
        let config = &self.config;
        if row.is_document() && self.rules.is_link_only(&row.url) {
            row.reject = Some("link_only".into());
            row.detail = Some("fetched for its links only".into());
        }
        let mut too_long = Vec::new();
        let depth = row.depth + 1;
        if config.max_depth.is_none_or(|d| depth <= d) {
            for link in links {
                let canon = self.rules.canonical(&link);
                let item = || Item::page(canon.to_string(), depth, Some(row.url.clone()));
                match self.rules.check(&canon) {
                    Ok(()) => {
                        if frontier.mark_seen(canon.as_str()) {
                            frontier.push(item(), host_key(&canon));
                            row.links.push(canon.to_string());
                        }
                    }
                    Err(Skip::TooLong) => {
                        if frontier.mark_seen(canon.as_str()) {
                            too_long.push(Row {
                                reject: Some("url_too_long".into()),
                                detail: Some(format!(
                                    "{} bytes, limit {}",
                                    canon.as_str().len(),
                                    config.max_url_len
                                )),
                                ..base_row(&item())
                            });
                        }
                    }
                    Err(Skip::OutOfScope) => {}
                }
            }
        }
        let mut rows = Vec::with_capacity(1 + too_long.len());
        rows.push(row);
        rows.extend(too_long);
        rows
    }

    /// Writes every saved row as the stage's output.
    fn commit(
        &self,
        state: &mut State,
        opts: &RunOptions,
        previous: Option<&ore_core::Dataset>,
        started: std::time::Instant,
    ) -> Result<Report> {
        let chrome = if self.config.drop_repeated_lines {
            Chrome::learn(state.read_rows()?)?
        } else {
            Chrome::default()
        };
        let info = StageInfo::new("crawl", &self.config, opts.seed).with_shard(opts.shard);
        let mut out =
            StageOutput::create(&opts.output, output_schema(), info, WriteOptions::default())?;
        out.set_started(started);
        if let Some(previous) = previous {
            // Recorded as every stage records its input (a shard, its
            // slice), though each shard reads all of it.
            match opts.shard {
                Some(shard) => out.add_input(&previous.shard(shard))?,
                None => out.add_input(previous)?,
            }
        }
        let mut writer = RowWriter::default();
        let mut report = Report {
            output: opts.output.clone(),
            chrome_lines: chrome.len(),
            conditional: opts.previous.is_some(),
            ..Report::default()
        };
        for row in state.read_rows()? {
            let mut row = row?;
            report.tried += 1;
            report.bytes += row.wire_bytes;
            let status = row
                .status
                .map_or_else(|| "none".to_string(), |s| s.to_string());
            *report.by_status.entry(status).or_default() += 1;
            match &row.reject {
                Some(reason) => {
                    report.rejected += 1;
                    *report.by_reason.entry(reason.clone()).or_default() += 1;
                }
                None => report.documents += 1,
            }
            if row.not_modified && row.is_document() {
                // The previous crawl's text, as it was committed then.
                report.not_modified += 1;
            } else {
                chrome.strip(&mut row);
            }
            writer.push(&mut out, row)?;
        }
        writer.finish(&mut out)?;
        if report.conditional {
            out.set_summary("not_modified", serde_json::json!(report.not_modified));
        }
        out.set_summary("chrome_lines_removed", serde_json::json!(chrome.len()));
        out.set_summary("bytes_received", serde_json::json!(report.bytes));
        out.set_summary("by_status", serde_json::json!(report.by_status));
        out.commit()?;
        Ok(report)
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The default output of a crawl when no folder is given.
pub fn default_output(pipeline_output: &Path) -> PathBuf {
    pipeline_output.to_path_buf()
}
