//! `ferry load`: the real binary's sender against its sink, as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

fn ferry() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
}

/// The JSON object on the last line of `stdout`.
fn last_json(stdout: &str) -> Value {
    let line = stdout.lines().last().expect("some output");
    serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}\n{stdout}"))
}

/// A running `ferry load sink`, with the address it printed.
struct Sink {
    child: Child,
    address: String,
}

impl Sink {
    fn start(extra: &[&str]) -> Sink {
        let mut child = ferry()
            .args(["load", "sink", "--listen", "127.0.0.1:0", "--json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferry starts");

        let (lines, received) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let address = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = received.recv_timeout(left).expect("a 'listening' line");
            if let Some(address) = line.strip_prefix("listening ") {
                break address.to_owned();
            }
        };
        Sink { child, address }
    }

    /// Waits for the exit (SIGTERM first when `terminate`); the status and stdout.
    fn finish(mut self, terminate: bool) -> (ExitStatus, String) {
        if terminate {
            let pid = rustix::process::Pid::from_child(&self.child);
            rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the sink did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        (status, stdout)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn send_and_sink_agree_and_the_sink_reports_on_sigterm() {
    let sink = Sink::start(&[]);

    let output = ferry()
        .args(["load", "send", "--to", &sink.address])
        .args(["--connections", "3", "--count", "300", "--json", "--quiet"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let sent = last_json(&stdout);
    assert_eq!(sent["sent"], 300, "{sent}");
    assert_eq!(sent["errors"], 0, "{sent}");
    assert_eq!(sent["connections"], 3, "{sent}");
    for key in ["msgs_per_s", "p50_ms", "p99_ms", "p999_ms", "seconds"] {
        assert!(sent[key].as_f64().unwrap() > 0.0, "{key}: {sent}");
    }
    assert!(stdout.contains("ACK latency"), "{stdout}");

    let (status, stdout) = sink.finish(true);
    assert_eq!(status.code(), Some(0), "{stdout}");
    let received = last_json(&stdout);
    assert_eq!(received["received"], 300, "{received}");
    for key in ["duplicates", "losses", "out_of_order", "errors"] {
        assert_eq!(received[key], 0, "{key}: {received}");
    }
    assert!(received["msgs_per_s"].as_f64().unwrap() > 0.0, "{received}");
}

#[test]
fn refused_messages_make_the_sender_exit_1() {
    let sink = Sink::start(&["--reply", "ae", "--seconds", "30"]);

    let output = ferry()
        .args(["load", "send", "--to", &sink.address])
        .args(["--count", "5", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let sent = last_json(&stdout);
    assert_eq!(sent["sent"], 0, "{sent}");
    assert_eq!(sent["errors"], 5, "{sent}");
    assert_eq!(sent["errors_by_kind"]["negative_ack"], 5, "{sent}");
    assert!(sent["p50_ms"].is_null(), "{sent}");

    let (status, stdout) = sink.finish(true);
    assert_eq!(status.code(), Some(0));
    assert_eq!(last_json(&stdout)["received"], 5);
}

#[test]
fn a_sink_with_seconds_ends_by_itself() {
    let sink = Sink::start(&["--seconds", "0.5", "--quiet"]);
    let (status, stdout) = sink.finish(false);
    assert_eq!(status.code(), Some(0));
    assert_eq!(last_json(&stdout)["received"], 0);
}

#[test]
fn a_wrong_command_line_or_no_receiver_is_reported() {
    let output = ferry()
        .args(["load", "send", "--to", "127.0.0.1:1", "--connections", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let output = ferry()
        .args(["load", "send", "--to", &address, "--count", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
}
