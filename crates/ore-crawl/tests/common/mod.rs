//! A tiny HTTP/1.1 server on 127.0.0.1 for the crawl tests: a route
//! function answers each request from its path and headers, and every
//! request is logged with its headers.

#![allow(dead_code, unreachable_pub)] // each test file uses part of it; a module of tests

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use ore_core::Dataset;
use ore_crawl::{CrawlConfig, Crawler, Report, RunOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the server saw it: the path, the headers (names in
/// lower case), which request for this path it is (1 for the first) and
/// when it came.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub hit: usize,
    pub at: Instant,
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How long to wait before answering.
    pub delay: Duration,
    /// Send no Content-Length (the body ends with the connection).
    pub no_length: bool,
}

pub fn reply(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.into(),
        delay: Duration::ZERO,
        no_length: false,
    }
}

pub type Log = Arc<Mutex<Vec<Request>>>;
type Route = dyn Fn(&Request, u16) -> Reply + Send + Sync;

pub struct Server {
    pub port: u16,
    pub log: Log,
    _rt: tokio::runtime::Runtime,
}

impl Server {
    /// Serves `route` (which gets the request and the server's port).
    pub fn start(route: impl Fn(&Request, u16) -> Reply + Send + Sync + 'static) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let log: Log = Arc::default();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let route: Arc<Route> = Arc::new(route);
        rt.spawn(serve(listener, log.clone(), route));
        Self { port, log, _rt: rt }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests for `path` so far.
    pub fn requests(&self, path: &str) -> Vec<Request> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|r| r.path == path).cloned().collect()
    }

    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

async fn serve(listener: TcpListener, log: Log, route: Arc<Route>) {
    let port = listener.local_addr().unwrap().port();
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let (log, route) = (log.clone(), route.clone());
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).to_string();
            let mut lines = head.split("\r\n");
            let path = lines
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("/")
                .to_string();
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let request = {
                let mut log = log.lock().unwrap();
                let hit = 1 + log.iter().filter(|r| r.path == path).count();
                let request = Request {
                    path,
                    headers,
                    hit,
                    at: Instant::now(),
                };
                log.push(request.clone());
                request
            };
            let r = route(&request, port);
            tokio::time::sleep(r.delay).await;
            let mut out = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", r.status);
            for (k, v) in &r.headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            if !r.no_length {
                out.push_str(&format!("Content-Length: {}\r\n", r.body.len()));
            }
            out.push_str("\r\n");
            let _ = sock.write_all(out.as_bytes()).await;
            let _ = sock.write_all(&r.body).await;
            let _ = sock.shutdown().await;
        });
    }
}

/// Crawls with `config` (the server's 127.0.0.1 treated as public is not
/// needed: a local seed allows local addresses).
pub fn crawl(config: CrawlConfig, output: &Path, previous: Option<&Path>) -> Report {
    try_crawl(config, output, previous, false).unwrap()
}

pub fn try_crawl(
    config: CrawlConfig,
    output: &Path,
    previous: Option<&Path>,
    resume: bool,
) -> ore_crawl::Result<Report> {
    Crawler::build(config)?.run(&RunOptions {
        output: output.to_path_buf(),
        resume,
        seed: 0,
        progress: false,
        shard: None,
        previous: previous.map(Path::to_path_buf),
    })
}

/// A cell as a string: `None` for null; lists joined with `\n`;
/// timestamps as microseconds.
fn cell(col: &dyn Array, i: usize) -> Option<String> {
    use arrow_schema::DataType;
    if col.is_null(i) {
        return None;
    }
    Some(match col.data_type() {
        DataType::Timestamp(..) => col
            .as_primitive::<arrow_array::types::TimestampMicrosecondType>()
            .value(i)
            .to_string(),
        DataType::List(_) => {
            let values = col.as_list::<i32>().value(i);
            let values = values.as_string::<i32>();
            values
                .iter()
                .map(|v| v.unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n")
        }
        _ => {
            let one = col.slice(i, 1);
            let s = arrow_cast::cast(&one, &DataType::Utf8).unwrap();
            s.as_string::<i32>().value(0).to_string()
        }
    })
}

pub type Rows = Vec<HashMap<String, Option<String>>>;

/// Every row of a dataset, by column name.
pub fn rows(dir: &Path) -> Rows {
    let ds = Dataset::open(dir).unwrap();
    let mut out = Vec::new();
    for batch in ds.batches(1024) {
        let batch: RecordBatch = batch.unwrap();
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            out.push(
                schema
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i)))
                    .collect(),
            );
        }
    }
    out
}

/// The row of `rows` whose `url` is `url`.
pub fn by_url<'a>(rows: &'a Rows, url: &str) -> &'a HashMap<String, Option<String>> {
    rows.iter()
        .find(|r| r["url"].as_deref() == Some(url))
        .unwrap_or_else(|| panic!("{url} not among {:#?}", urls(rows)))
}

pub fn urls(rows: &Rows) -> Vec<String> {
    let mut urls: Vec<String> = rows.iter().filter_map(|r| r["url"].clone()).collect();
    urls.sort();
    urls
}
