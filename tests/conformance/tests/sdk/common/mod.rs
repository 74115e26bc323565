//! Spawning a real `coffer server` for tests: its own data dir and port, known root credentials.
#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "AKIACOFFERTESTKEY000";
pub const SECRET_KEY: &str = "cofferTestSecretKey/0123456789abcdefghijk";

/// The `coffer` binary built by `cargo build` (the test script builds it first).
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("COFFER_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let bin = target.join("debug/coffer");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bin coffer` first (scripts/test does)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server; killed on drop.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    pub fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let mut s = Self {
            child: None,
            port: 0,
            log: tmp.path().join("server.log"),
            data_dir,
            _tmp: Some(tmp),
        };
        s.spawn(&[], &[]);
        s
    }

    pub fn start_with(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// Start with extra flags and environment variables (a shared store and master key).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let mut s = Self {
            child: None,
            port: 0,
            log: tmp.path().join("server.log"),
            data_dir,
            _tmp: Some(tmp),
        };
        s.spawn(args, env);
        s
    }

    fn spawn(&mut self, extra: &[&str], env: &[(&str, &str)]) {
        self.port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(binary())
            .arg("server")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(extra)
            .env("COFFER_ROOT_ACCESS_KEY_ID", ACCESS_KEY)
            .env("COFFER_ROOT_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("COFFER_LOG", "debug")
            // Request quotas are tested on their own (tests/python/test_limits.py); the suites
            // call faster than AWS's control-plane quotas allow.
            .env("COFFER_NO_THROTTLE", "true")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_healthy();
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ =
                    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if out.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "coffer exited with {status}: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "coffer did not become healthy: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stop with SIGTERM (graceful) and start again on the same data dir.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn(&[], &[]);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("coffer did not stop within 10 s of SIGTERM");
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An SDK config pointing at `endpoint` with the given credentials.
pub async fn sdk_config(endpoint: &str, access_key: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::from_keys(
            access_key, secret, None,
        ))
        .load()
        .await
}

/// Every file under `dir`, recursively, as bytes.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A plain HTTP client for raw requests. The workspace builds reqwest with rustls and no crypto
/// provider of its own (coffer uses aws-lc-rs everywhere), so install that one first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::new()
}
