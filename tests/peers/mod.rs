//! Test peers written with other HL7 stacks (python-hl7 in `python/`, @medplum/hl7 in
//! `node/`), run as child processes that print one JSON object per line.
//!
//! Where the peers are: `.ci/run` installs them (a venv in `python/.venv`, `npm ci` in
//! `node/`) and exports `FERRY_TEST_PYTHON` and `FERRY_TEST_NODE_PEERS`; without the
//! variables the same default paths are used. A peer that is not installed skips its test
//! with a message saying so, and fails it under `CI=true`, where a skip would hide that
//! the interoperability tests never ran.

// Each test uses part of this module, and its items are reached through `mod peers`.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The folder of the peer scripts.
pub fn folder() -> PathBuf {
    crate::common::repo().join("tests/peers")
}

/// The venv python that has PyPI's `hl7` installed, or `None` (after printing why) when
/// there is none outside CI.
pub fn python() -> Option<PathBuf> {
    let python = std::env::var_os("FERRY_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| folder().join("python/.venv/bin/python"));
    let has_hl7 = Command::new(&python)
        .args(["-c", "import hl7.mllp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if has_hl7 {
        return Some(python);
    }
    missing(&format!(
        "python with PyPI's hl7 at {} (FERRY_TEST_PYTHON names another)",
        python.display()
    ))
}

/// The folder holding the node peer scripts and their installed `node_modules`, or
/// `None` (after printing why) when `node` or @medplum/hl7 is missing outside CI.
pub fn node_peers() -> Option<PathBuf> {
    let peers = std::env::var_os("FERRY_TEST_NODE_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| folder().join("node"));
    let installed = peers
        .join("node_modules/@medplum/hl7/package.json")
        .is_file();
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    match (node, installed) {
        (true, true) => Some(peers),
        (false, _) => missing("`node` on the PATH"),
        (true, false) => missing(&format!(
            "@medplum/hl7 in {}/node_modules (FERRY_TEST_NODE_PEERS names another folder)",
            peers.display()
        )),
    }
}

fn missing<T>(what: &str) -> Option<T> {
    let message = format!("skipped: no {what}; .ci/run installs it");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{message} (required under CI=true)"
    );
    eprintln!("{message}");
    None
}

/// A running peer: its JSON lines as they come, its standard error kept for failure
/// messages. Dropping it kills the process if it still runs.
pub struct Peer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Peer {
    /// Starts `command` with piped standard streams.
    pub fn spawn(name: &str, mut command: Command) -> Peer {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("{name} does not start: {error}"));

        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        let out_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock().unwrap().push(value);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let kept = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            kept.lock().unwrap().push_str(&text);
        });

        Peer {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            readers: vec![out_reader, err_reader],
        }
    }

    /// Every line printed so far.
    pub fn lines(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a printed line satisfies `wanted` and returns it.
    pub fn wait_for_line(
        &mut self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let running = self.child.try_wait().unwrap().is_none();
            if !running {
                // What it printed before exiting may still be in the pipe.
                self.wait_for_pipes(deadline);
            }
            if let Some(line) = self.lines().into_iter().find(&wanted) {
                return line;
            }
            assert!(
                running && Instant::now() < deadline,
                "{} printed no {what} within {timeout:?}\n{}",
                self.name,
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit by itself; panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.wait_for_pipes(deadline);
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {timeout:?}\n{}",
                self.name,
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (until `deadline` at most) for the readers to reach the end of both pipes,
    /// so that the lines of an exited peer are all there.
    fn wait_for_pipes(&self, deadline: Instant) {
        while !self.readers.iter().all(JoinHandle::is_finished) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Closes the peer's standard input, which the long-running peers take as the signal
    /// to stop.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// What the peer printed on both streams, for failure messages.
    pub fn transcript(&self) -> String {
        let lines: Vec<String> = self
            .lines()
            .iter()
            .map(|line| shorten(line.to_string()))
            .collect();
        format!(
            "--- {} stdout\n{}\n--- {} stderr\n{}",
            self.name,
            lines.join("\n"),
            self.name,
            self.stderr.lock().unwrap()
        )
    }
}

/// A line cut to a length that keeps failure messages readable.
fn shorten(mut line: String) -> String {
    const KEPT: usize = 600;
    if line.len() > KEPT {
        let mut end = KEPT;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str(" …");
    }
    line
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The segments of a message, whatever ends them (CR, LF or CRLF, with or without a
/// final terminator): comparing these compares messages "apart from terminators".
pub fn segments(message: &[u8]) -> Vec<&[u8]> {
    message
        .split(|byte| *byte == b'\r' || *byte == b'\n')
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// Where two messages first differ, segment by segment, or `None` when they hold the
/// same segments.
pub fn first_difference(expected: &[u8], actual: &[u8]) -> Option<String> {
    let (expected, actual) = (segments(expected), segments(actual));
    let show = |segment: Option<&&[u8]>| {
        segment.map_or_else(
            || "(none)".to_owned(),
            |bytes| format!("{:?}", String::from_utf8_lossy(bytes)),
        )
    };
    let count = expected.len().max(actual.len());
    (0..count)
        .find(|&index| expected.get(index) != actual.get(index))
        .map(|index| {
            format!(
                "segment {}: sent {} but received {}",
                index + 1,
                show(expected.get(index)),
                show(actual.get(index))
            )
        })
}

/// Decodes the hex a peer printed.
pub fn from_hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length: {text}");
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex digits"))
        .collect()
}

/// The lines of a JSON log at level WARN or ERROR.
pub fn complaints(log: &[Value]) -> Vec<Value> {
    log.iter()
        .filter(|line| line["level"] == "WARN" || line["level"] == "ERROR")
        .cloned()
        .collect()
}

/// Writes `yaml` as `dir/production.yaml` and returns its path.
pub fn write_production(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("production.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}
