//! Running the real `ferry` binary the way a user does, and reading its JSON log lines.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary cargo built for these tests.
pub fn ferry_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ferry"))
}

/// A running `ferry run`.
pub struct Ferry {
    child: Option<Child>,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Ferry {
    /// Starts `ferry --log-format json run production` with `env` added to the
    /// environment, and waits for its `ready` line.
    pub fn start(production: &Path, env: &[(&str, &Path)]) -> Ferry {
        let mut command = Command::new(ferry_binary());
        command
            .args(["--log-format", "json", "run"])
            .arg(production)
            .env("RUST_LOG", "info")
            // The example productions' admin surfaces default to fixed ports; tests run
            // in parallel, so they take free ones unless a test asks for others.
            .env("FERRY_ADMIN_HTTP", "127.0.0.1:0")
            .env("FERRY_ADMIN_GRPC", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("ferry starts");

        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock().unwrap().push(value);
            }
        });

        let mut ferry = Ferry {
            child: Some(child),
            lines,
        };
        ferry.wait_for_message("ready", Duration::from_secs(60));
        ferry
    }

    /// Every log line so far.
    pub fn lines(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a log line's message is `message`.
    pub fn wait_for_message(&mut self, message: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .lines()
                .into_iter()
                .find(|line| line["fields"]["message"].as_str() == Some(message))
            {
                return line;
            }
            let running = self.is_running();
            assert!(
                running && Instant::now() < deadline,
                "no '{message}' log line within {timeout:?}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log as text, for failure messages.
    pub fn log_text(&self) -> String {
        self.lines()
            .iter()
            .map(|line| line.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => child.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// Kills it with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = rustix::process::Pid::from_child(&child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "ferry did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Ferry {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `ferry ARGS` to completion; returns its status, stdout and stderr.
pub fn ferry(args: &[&str], env: &[(&str, &Path)]) -> (ExitStatus, String, String) {
    let mut command = Command::new(ferry_binary());
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("ferry runs");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The address `item` bound, read from its `listening` log line (a service asked for port
/// 0 logs the port it got there); waits up to `timeout` for the line.
pub fn listening_addr(ferry: &mut Ferry, item: &str, timeout: Duration) -> std::net::SocketAddr {
    let deadline = Instant::now() + timeout;
    loop {
        let announced = ferry
            .lines()
            .into_iter()
            .filter(|line| line["fields"]["message"] == "listening")
            .filter(|line| line["fields"]["item"] == item)
            .find_map(|line| line["fields"]["addr"].as_str().map(str::to_owned));
        if let Some(addr) = announced {
            return addr
                .parse()
                .unwrap_or_else(|error| panic!("{item} announced '{addr}': {error}"));
        }
        let running = ferry.is_running();
        assert!(
            running && Instant::now() < deadline,
            "no 'listening' line for {item} within {timeout:?}; log:\n{}",
            ferry.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
