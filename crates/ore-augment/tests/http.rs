//! The `http` translator against a fixture server on 127.0.0.1 (a thread
//! of this test speaking just enough HTTP/1.1): a 429 then success, a
//! timeout then success, and a rerun answered wholly from the cache.

#![allow(clippy::unwrap_used)] // a test file

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ore_augment::translate::{HttpTranslator, HttpTranslatorConfig};
use ore_core::Translator;

/// What the fixture does with the n-th request (0-based).
#[derive(Clone, Copy)]
enum Reply {
    Ok,
    TooMany,
    Slow,
}

struct Fixture {
    port: u16,
    requests: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

fn read_request(stream: &mut TcpStream) -> Option<serde_json::Value> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn respond(stream: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
}

/// Serves chat completions that answer `译:<user text>`, replying to the
/// n-th request as `script[n]` says (`Ok` past its end).
fn serve(script: Vec<Reply>) -> Fixture {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let (r, b) = (requests.clone(), bodies.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (r, b, script) = (r.clone(), b.clone(), script.clone());
            std::thread::spawn(move || {
                let Some(body) = read_request(&mut stream) else {
                    return;
                };
                let n = r.fetch_add(1, Ordering::SeqCst);
                let text = body["messages"][1]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                b.lock().unwrap().push(body);
                match script.get(n).copied().unwrap_or(Reply::Ok) {
                    Reply::TooMany => respond(
                        &mut stream,
                        "429 Too Many Requests",
                        "retry-after: 0\r\n",
                        "{}",
                    ),
                    Reply::Slow => {
                        std::thread::sleep(Duration::from_secs(6));
                        respond(&mut stream, "200 OK", "", &answer(&text));
                    }
                    Reply::Ok => respond(&mut stream, "200 OK", "", &answer(&text)),
                }
            });
        }
    });
    Fixture {
        port,
        requests,
        bodies,
    }
}

fn answer(text: &str) -> String {
    serde_json::json!({"choices": [{"message": {"role": "assistant", "content": format!("译:{text}")}}]})
        .to_string()
}

fn config(port: u16, cache: &std::path::Path) -> HttpTranslatorConfig {
    HttpTranslatorConfig {
        url: format!("http://127.0.0.1:{port}/v1"),
        model: "fixture".into(),
        api_key_env: "ORE_TEST_NO_SUCH_KEY".into(),
        concurrency: 2,
        timeout_s: 3.0,
        retries: 2,
        backoff_s: 0.05,
        cache: cache.to_path_buf(),
        ..Default::default()
    }
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("第{i}句")).collect()
}

#[test]
fn a_429_is_retried_and_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let f = serve(vec![Reply::TooMany]);
    let t = HttpTranslator::new(&config(f.port, dir.path())).unwrap();
    let out = t.translate(&texts(1), &[0]).unwrap();
    assert_eq!(out, vec!["译:第0句"]);
    assert_eq!(f.requests.load(Ordering::SeqCst), 2);
    assert_eq!(t.stats().retries, 1);
    let body = &f.bodies.lock().unwrap()[0];
    assert_eq!(body["model"], "fixture");
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Chinese to English")
    );
}

#[test]
fn a_timeout_is_retried_and_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let f = serve(vec![Reply::Slow]);
    let t = HttpTranslator::new(&config(f.port, dir.path())).unwrap();
    let out = t.translate(&texts(1), &[0]).unwrap();
    assert_eq!(out, vec!["译:第0句"]);
    assert_eq!(f.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn too_many_failures_give_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = serve(vec![Reply::TooMany; 10]);
    let t = HttpTranslator::new(&config(f.port, dir.path())).unwrap();
    let err = t.translate(&texts(1), &[0]).unwrap_err().to_string();
    assert!(
        err.contains("HTTP 429") && err.contains("after 3 tries"),
        "{err}"
    );
    assert!(
        err.contains(&format!("127.0.0.1:{}/v1/chat/completions", f.port)),
        "{err}"
    );
}

#[test]
fn a_rerun_is_answered_from_the_cache_without_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let f = serve(Vec::new());
    let first = HttpTranslator::new(&config(f.port, dir.path()))
        .unwrap()
        .translate(&texts(5), &[1, 2, 3, 4, 5])
        .unwrap();
    assert_eq!(f.requests.load(Ordering::SeqCst), 5);
    // A new process (a new translator) on the same cache folder.
    let t = HttpTranslator::new(&config(f.port, dir.path())).unwrap();
    let again = t.translate(&texts(5), &[1, 2, 3, 4, 5]).unwrap();
    assert_eq!(again, first);
    assert_eq!(
        f.requests.load(Ordering::SeqCst),
        5,
        "no request on the rerun"
    );
    assert_eq!(t.stats().cached, 5);
    // Another prompt is another question.
    let mut other = config(f.port, dir.path());
    other.prompt = "Translate into {target}.".into();
    HttpTranslator::new(&other)
        .unwrap()
        .translate(&texts(1), &[1])
        .unwrap();
    assert_eq!(f.requests.load(Ordering::SeqCst), 6);
}

#[test]
fn describe_names_the_backend_and_model_not_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = serve(Vec::new());
    let t = HttpTranslator::new(&config(f.port, dir.path())).unwrap();
    let d = t.describe().to_string();
    assert!(
        !d.contains("ORE_TEST_NO_SUCH_KEY") && d.contains("fixture"),
        "{d}"
    );
}
