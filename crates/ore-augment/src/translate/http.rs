//! The `http` translator: an OpenAI-compatible chat-completions endpoint
//! (a local vLLM or llama.cpp server, or a hosted API), with concurrent
//! requests, a timeout, retries with exponential backoff (honouring
//! `Retry-After`), a rate limit, and an on-disk cache keyed by the text,
//! model, prompt, temperature and seed, so that a rerun sends nothing it
//! has sent before. The API key is read from an environment variable and
//! appears in no manifest.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ore_core::{TranslateError, Translator};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// `backend = "http"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpTranslatorConfig {
    /// Base URL of the API: requests go to `{url}/chat/completions`.
    pub url: String,
    pub model: String,
    /// The system message; `{source}` and `{target}` become the language
    /// names below.
    pub prompt: String,
    pub source_lang: String,
    pub target_lang: String,
    /// The environment variable holding the API key (sent as a bearer
    /// token when set).
    pub api_key_env: String,
    pub temperature: f64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Seconds before a request is abandoned (and retried).
    pub timeout_s: f64,
    /// Retries of a request after a timeout, a connection error, a 429 or
    /// a 5xx, waiting `backoff_s × 2^attempt` (or what `Retry-After` says).
    pub retries: u32,
    pub backoff_s: f64,
    /// At most this many requests started per second (0: no limit).
    pub rate_per_s: f64,
    /// Folder of the answer cache (empty: no cache).
    pub cache: PathBuf,
}

impl Default for HttpTranslatorConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8000/v1".into(),
            model: String::new(),
            prompt: "Translate the user's text from {source} to {target}. Reply with the translation only.".into(),
            source_lang: "Chinese".into(),
            target_lang: "English".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            temperature: 0.0,
            concurrency: 4,
            timeout_s: 60.0,
            retries: 5,
            backoff_s: 1.0,
            rate_per_s: 0.0,
            cache: PathBuf::new(),
        }
    }
}

/// Requests sent and answers reused, for the manifest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpStats {
    pub requests: u64,
    pub retries: u64,
    pub cached: u64,
}

/// The `http` backend.
pub struct HttpTranslator {
    config: HttpTranslatorConfig,
    prompt: String,
    api_key: Option<String>,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    cache: Mutex<HashMap<String, String>>,
    cache_file: Option<Mutex<std::fs::File>>,
    stats: Mutex<HttpStats>,
}

impl std::fmt::Debug for HttpTranslator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTranslator")
            .field("url", &self.config.url)
            .field("model", &self.config.model)
            .finish_non_exhaustive()
    }
}

const CACHE_FILE: &str = "answers.jsonl";

impl HttpTranslator {
    pub fn new(config: &HttpTranslatorConfig) -> Result<Self, TranslateError> {
        if config.url.is_empty() || config.model.is_empty() {
            return Err(TranslateError::Setup(
                "the http translator needs `url` (the API's base URL) and `model`".into(),
            ));
        }
        let setup = |e: String| TranslateError::Setup(e);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(config.timeout_s.max(0.001)))
            .build()
            .map_err(|e| setup(format!("http client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| setup(format!("tokio runtime: {e}")))?;
        let mut cache = HashMap::new();
        let mut cache_file = None;
        if !config.cache.as_os_str().is_empty() {
            std::fs::create_dir_all(&config.cache)
                .map_err(|e| setup(format!("{}: {e}", config.cache.display())))?;
            let path = config.cache.join(CACHE_FILE);
            if let Ok(f) = std::fs::File::open(&path) {
                // A line cut short by a killed run is skipped.
                for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                        && let (Some(k), Some(t)) = (v["key"].as_str(), v["text"].as_str())
                    {
                        cache.insert(k.to_string(), t.to_string());
                    }
                }
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| setup(format!("{}: {e}", path.display())))?;
            cache_file = Some(Mutex::new(f));
        }
        let prompt = config
            .prompt
            .replace("{source}", &config.source_lang)
            .replace("{target}", &config.target_lang);
        Ok(Self {
            api_key: std::env::var(&config.api_key_env)
                .ok()
                .filter(|k| !k.is_empty()),
            config: config.clone(),
            prompt,
            client,
            runtime,
            cache: Mutex::new(cache),
            cache_file,
            stats: Mutex::new(HttpStats::default()),
        })
    }

    pub fn stats(&self) -> HttpStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cache key of one request: everything that changes the answer.
    fn key(&self, text: &str, seed: u64) -> String {
        let seed = (self.config.temperature > 0.0).then_some(seed);
        let material = json!([
            self.config.model,
            self.prompt,
            self.config.temperature,
            seed,
            text
        ]);
        hex::encode(Sha256::digest(material.to_string().as_bytes()))
    }

    fn body(&self, text: &str, seed: u64) -> Vec<u8> {
        let mut body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": self.prompt},
                {"role": "user", "content": text},
            ],
            "temperature": self.config.temperature,
        });
        if self.config.temperature > 0.0 {
            body["seed"] = json!(seed);
        }
        body.to_string().into_bytes()
    }
}

/// When the next request may start, for the rate limit.
struct Pace {
    next: Mutex<Instant>,
    gap: Duration,
}

impl Pace {
    async fn wait(&self) {
        if self.gap.is_zero() {
            return;
        }
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let at = (*next).max(Instant::now());
            *next = at + self.gap;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// An answer and the retries it took, or why there is none.
type Answer = Result<(String, u64), TranslateError>;

/// One request with its retries; returns the answer and the retries made.
async fn request(t: &HttpTranslator, pace: &Pace, endpoint: &str, body: Vec<u8>) -> Answer {
    let cfg = &t.config;
    let mut attempt = 0u32;
    loop {
        pace.wait().await;
        let mut req = t
            .client
            .post(endpoint)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(key) = &t.api_key {
            req = req.bearer_auth(key);
        }
        let (retryable, wait, message) = match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok());
                match resp.bytes().await {
                    Ok(bytes) if status.is_success() => {
                        return answer(endpoint, &bytes).map(|a| (a, u64::from(attempt)));
                    }
                    Ok(bytes) => {
                        let snippet: String =
                            String::from_utf8_lossy(&bytes).chars().take(200).collect();
                        let retryable = status.as_u16() == 429 || status.is_server_error();
                        (
                            retryable,
                            retry_after,
                            format!("{endpoint}: HTTP {status}: {snippet}"),
                        )
                    }
                    Err(e) => (true, None, format!("{endpoint}: reading the answer: {e}")),
                }
            }
            Err(e) if e.is_timeout() => (
                true,
                None,
                format!("{endpoint}: no answer within {} s", cfg.timeout_s),
            ),
            Err(e) => (true, None, format!("{endpoint}: {e}")),
        };
        if !retryable || attempt >= cfg.retries {
            let tries = attempt + 1;
            return Err(TranslateError::Request(format!(
                "{message} (after {tries} tries)"
            )));
        }
        let backoff = cfg.backoff_s * 2f64.powi(attempt as i32);
        let wait = wait.unwrap_or(backoff).clamp(0.0, 300.0);
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        attempt += 1;
    }
}

/// `choices[0].message.content` of a chat-completions answer.
fn answer(endpoint: &str, bytes: &[u8]) -> Result<String, TranslateError> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| TranslateError::Request(format!("{endpoint}: the answer is not JSON: {e}")))?;
    v["choices"][0]["message"]["content"]
        .as_str()
        .map(|s| s.trim().to_string())
        .ok_or_else(|| {
            TranslateError::Request(format!(
                "{endpoint}: the answer has no choices[0].message.content"
            ))
        })
}

impl Translator for HttpTranslator {
    fn describe(&self) -> serde_json::Value {
        json!({
            "backend": "http",
            "url": self.config.url,
            "model": self.config.model,
            "prompt_sha256": hex::encode(Sha256::digest(self.prompt.as_bytes())),
            "temperature": self.config.temperature,
        })
    }

    fn translate(&self, texts: &[String], seeds: &[u64]) -> Result<Vec<String>, TranslateError> {
        let keys: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.key(t, seeds.get(i).copied().unwrap_or(0)))
            .collect();
        let mut out: Vec<Option<String>> = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter().map(|k| cache.get(k).cloned()).collect()
        };
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        {
            let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            s.cached += (texts.len() - missing.len()) as u64;
        }
        if !missing.is_empty() {
            let endpoint = format!("{}/chat/completions", self.config.url.trim_end_matches('/'));
            let gap = if self.config.rate_per_s > 0.0 {
                Duration::from_secs_f64(1.0 / self.config.rate_per_s)
            } else {
                Duration::ZERO
            };
            let pace = Arc::new(Pace {
                next: Mutex::new(Instant::now()),
                gap,
            });
            let results: Vec<(usize, Answer)> = self.runtime.block_on(async {
                let limit = Arc::new(tokio::sync::Semaphore::new(self.config.concurrency.max(1)));
                let futures = missing.iter().map(|&i| {
                    let limit = limit.clone();
                    let pace = pace.clone();
                    let endpoint = endpoint.clone();
                    let body = self.body(&texts[i], seeds.get(i).copied().unwrap_or(0));
                    async move {
                        let _permit = limit.acquire().await;
                        (i, request(self, &pace, &endpoint, body).await)
                    }
                });
                join_all(futures).await
            });
            let mut lines = String::new();
            let mut first_error = None;
            for (i, r) in results {
                let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
                match r {
                    Ok((text, retries)) => {
                        s.requests += 1 + retries;
                        s.retries += retries;
                        lines.push_str(&json!({"key": keys[i], "text": text}).to_string());
                        lines.push('\n');
                        self.cache
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(keys[i].clone(), text.clone());
                        out[i] = Some(text);
                    }
                    Err(e) => {
                        s.requests += 1 + u64::from(self.config.retries);
                        first_error.get_or_insert(e);
                    }
                }
            }
            // The answers that came back are kept even when others failed.
            if let Some(file) = &self.cache_file
                && !lines.is_empty()
            {
                let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
                f.write_all(lines.as_bytes())
                    .and_then(|()| f.flush())
                    .map_err(|e| {
                        TranslateError::Request(format!("{}: {e}", self.config.cache.display()))
                    })?;
            }
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }
}

/// Awaits every future, concurrently, keeping their order.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out = Vec::with_capacity(set.len());
    // Poll all of them together: a small join without a futures crate.
    let mut slots: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if slots[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => slots[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(slots.into_iter().flatten());
    out
}
