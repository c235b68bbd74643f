//! Starts `sextant serve` on free loopback ports and stops it on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub otlp_grpc: String,
    pub otlp_http: String,
    pub api: String,
}

impl Server {
    /// Starts a server on `data_dir` with extra `SEXTANT_*` settings.
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sextant"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .env("SEXTANT_SERVER_HTTP_LISTEN", "127.0.0.1:0")
            .env("SEXTANT_SERVER_OTLP_GRPC_LISTEN", "127.0.0.1:0")
            .env("SEXTANT_SERVER_OTLP_HTTP_LISTEN", "127.0.0.1:0")
            .env("SEXTANT_LOG_LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn sextant");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut grpc, mut http, mut api) = (None, None, None);
        while grpc.is_none() || http.is_none() || api.is_none() {
            let line = lines
                .next()
                .expect("server exited before printing its addresses")
                .expect("read");
            let addr = || {
                line.split_whitespace()
                    .nth(2)
                    .map(|s| s.trim_start_matches("http://").to_owned())
            };
            if line.contains("otlp grpc:") {
                grpc = addr();
            } else if line.contains("otlp http:") {
                http = addr();
            } else if line.contains("query api:") {
                api = addr();
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let server = Server {
            child,
            otlp_grpc: grpc.unwrap_or_default(),
            otlp_http: http.unwrap_or_default(),
            api: api.unwrap_or_default(),
        };
        server.wait_ready();
        server
    }

    pub fn wait_ready(&self) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if crate::e2e::client::get(&self.api, "/ready").0 == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server not ready after 30 s");
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The Python interpreter of the test venv (made by `.ci/run`).
pub fn python() -> PathBuf {
    let p = std::env::var_os("SEXTANT_TEST_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/sextant-venv/bin/python"))
        })
        .expect("set SEXTANT_TEST_PYTHON or HOME");
    assert!(
        p.exists(),
        "no test Python at {} — run .ci/run once to create the venv",
        p.display()
    );
    p
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` beside the repository, where the corpus lives.
pub fn shared() -> PathBuf {
    repo_root().join("../shared")
}
