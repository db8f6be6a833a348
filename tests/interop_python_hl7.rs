//! python-hl7 (PyPI `hl7`, pinned in `tests/peers/python/requirements.txt`) as the sending
//! system: its asyncio MLLP client sends every message of the shared corpus to the real
//! binary, one connection, one message at a time. Every message with an MSH-10 gets an AA
//! whose MSA-2 is that MSH-10, and the MLLP receiver behind Ferry gets exactly what the
//! client sent, in order, apart from segment terminators.
//!
//! The test splits the corpus files itself (`common::hl7::expected_messages`: batch
//! envelopes dropped, CR terminators), checks the split against the corpus facts, and hands
//! the messages to `tests/peers/python/send_corpus.py`, which reports per message the bytes
//! it wrote and the ACK it read. Files tagged `malformed:` are left out: they are not
//! messages a conforming client sends. A message without MSH-10 cannot be acknowledged
//! by control id; HL7 requires a negative ACK for it, and the test expects one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod peers;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::binary::{Ferry, listening_addr};
use common::corpus::Entry;
use common::hl7::{expected_messages, type_and_id};
use common::mllp::Receiver;
use common::wait_until;
use peers::{Peer, first_difference, from_hex};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(120);

/// One message of the corpus, as the test splits it.
struct Message {
    file: String,
    bytes: Vec<u8>,
    control_id: String,
}

/// What the client reported for one message.
struct Sent {
    bytes: Vec<u8>,
    msa1: String,
    msa2: String,
    ack: String,
}

#[test]
fn python_hl7_sends_the_corpus_through_ferry() {
    let Some(python) = peers::python() else {
        return;
    };
    let Some(entries) = common::corpus::entries() else {
        return;
    };
    let messages = corpus_messages(&entries);
    let dir = tempfile::tempdir().unwrap();
    write_messages(&dir.path().join("messages"), &messages);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sink = runtime.block_on(Receiver::acking());
    let production = peers::write_production(dir.path(), &relay(sink.addr));
    let mut ferry = Ferry::start(&production, &[("DIR", dir.path())]);
    let addr = listening_addr(&mut ferry, "From python-hl7", Duration::from_secs(30));

    let started = Instant::now();
    let sent = send_through_ferry(&python, addr.port(), dir.path(), &messages, &ferry);
    let sending = started.elapsed();

    let accepted: Vec<(&Message, &Sent)> = messages
        .iter()
        .zip(&sent)
        .filter(|(message, _)| !message.control_id.is_empty())
        .collect();
    wait_until("every accepted message at the sink", WAIT, || {
        sink.messages().len() >= accepted.len()
    });
    let delivering = started.elapsed();
    let log = ferry.lines();
    let status = ferry.stop();
    assert!(status.success(), "ferry exited with {status}");

    let refused = messages.len() - accepted.len();
    assert_only_refusals_logged(&log, refused);
    let problems = delivery_problems(&accepted, &sink.messages());
    assert!(
        problems.is_empty(),
        "the sink did not get what python-hl7 sent:\n{}",
        problems.join("\n")
    );

    let rewritten = messages
        .iter()
        .zip(&sent)
        .filter(|(message, sent)| first_difference(&message.bytes, &sent.bytes).is_some())
        .count();
    eprintln!(
        "python-hl7 sent {} messages from {} corpus files in {:.2?} ({} refused for lacking \
         MSH-10); all {} accepted ones reached the sink after {:.2?}; python-hl7 rewrote {} \
         of them beyond terminators (hl7.parse strips surrounding whitespace)",
        messages.len(),
        entries.iter().filter(|entry| !entry.malformed).count(),
        sending,
        refused,
        accepted.len(),
        delivering,
        rewritten
    );
}

/// MLLP in on a free port, MLLP out to the sink.
fn relay(sink: std::net::SocketAddr) -> String {
    format!(
        r#"
production: interop-python-hl7
store: {{ path: "${{DIR}}/data" }}
items:
  - name: From python-hl7
    service: mllp
    targets: [To sink]
    settings: {{ listen: "127.0.0.1:0" }}
  - name: To sink
    operation: mllp
    settings: {{ address: "{sink}" }}
"#
    )
}

fn send_corpus(python: &Path, port: u16, dir: &Path) -> Command {
    let mut command = Command::new(python);
    command
        .arg(peers::folder().join("python/send_corpus.py"))
        .args(["--port", &port.to_string()])
        .arg("--messages")
        .arg(dir.join("messages"));
    command
}

/// Runs the client against Ferry at `port`; panics unless it exits cleanly with one
/// report per message and every message was acknowledged as HL7 asks.
fn send_through_ferry(
    python: &Path,
    port: u16,
    dir: &Path,
    messages: &[Message],
    ferry: &Ferry,
) -> Vec<Sent> {
    let mut client = Peer::spawn("send_corpus.py", send_corpus(python, port, dir));
    let status = client.wait_exit(Duration::from_secs(300));
    let context = || {
        format!(
            "{}\n--- ferry log\n{}",
            client.transcript(),
            ferry.log_text()
        )
    };
    assert!(
        status.success(),
        "send_corpus.py exited with {status}\n{}",
        context()
    );
    let sent = client_reports(&client.lines(), messages, &context);

    let problems = acknowledgement_problems(messages, &sent);
    assert!(
        problems.is_empty(),
        "{} of {} messages were not acknowledged as expected:\n{}\n{}",
        problems.len(),
        messages.len(),
        problems.join("\n"),
        context()
    );
    sent
}

/// The messages of every file not tagged `malformed:`, checked against the corpus facts
/// so that a wrong split fails here rather than as a Ferry problem.
fn corpus_messages(entries: &[Entry]) -> Vec<Message> {
    let mut messages = Vec::new();
    for entry in entries.iter().filter(|entry| !entry.malformed) {
        let bytes = std::fs::read(&entry.path).unwrap();
        let split = expected_messages(&bytes);
        let ids: Vec<String> = split.iter().map(|m| type_and_id(m).1).collect();

        let facts = &entry.expected;
        let expected_ids: Option<Vec<String>> =
            match (facts.get("per_message"), facts.get("control_id")) {
                (Some(Value::Array(per_message)), _) => Some(
                    per_message
                        .iter()
                        .map(|m| m["control_id"].as_str().unwrap_or_default().to_owned())
                        .collect(),
                ),
                (None, Some(Value::String(id))) => Some(vec![id.clone()]),
                _ => None,
            };
        if let Some(expected_ids) = expected_ids {
            assert_eq!(ids, expected_ids, "{}: MSH-10 of each message", entry.file);
        }

        messages.extend(
            split
                .into_iter()
                .zip(ids)
                .map(|(bytes, control_id)| Message {
                    file: entry.file.clone(),
                    bytes,
                    control_id,
                }),
        );
    }
    messages
}

/// One file per message, named so that sorting gives the corpus order.
fn write_messages(folder: &Path, messages: &[Message]) {
    std::fs::create_dir_all(folder).unwrap();
    for (index, message) in messages.iter().enumerate() {
        std::fs::write(folder.join(format!("{index:05}.hl7")), &message.bytes).unwrap();
    }
}

/// The client's line for each message, in order; panics unless there is one per message
/// and python-hl7 read each MSH-10 as the test did.
fn client_reports(
    lines: &[Value],
    messages: &[Message],
    context: &dyn Fn() -> String,
) -> Vec<Sent> {
    let reports: Vec<&Value> = lines
        .iter()
        .filter(|line| line.get("index").is_some())
        .collect();
    assert_eq!(
        reports.len(),
        messages.len(),
        "one client line per message\n{}",
        context()
    );
    assert!(
        lines.iter().any(|line| line["done"] == messages.len()),
        "no closing line\n{}",
        context()
    );
    reports
        .iter()
        .zip(messages)
        .map(|(report, message)| {
            let text = |key: &str| report[key].as_str().unwrap_or_default().to_owned();
            assert_eq!(
                text("msh10"),
                message.control_id,
                "{}: MSH-10 as python-hl7 reads it",
                message.file
            );
            Sent {
                bytes: from_hex(&text("sent")),
                msa1: text("msa1"),
                msa2: text("msa2"),
                ack: text("ack"),
            }
        })
        .collect()
}

/// Every message whose ACK is not the one HL7 asks for: AA with MSA-2 = MSH-10, or a
/// negative ACK when MSH-10 is empty.
fn acknowledgement_problems(messages: &[Message], sent: &[Sent]) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, (message, sent)) in messages.iter().zip(sent).enumerate() {
        let expected = if message.control_id.is_empty() {
            matches!(sent.msa1.as_str(), "AE" | "AR")
        } else {
            sent.msa1 == "AA" && sent.msa2 == message.control_id
        };
        if !expected {
            problems.push(format!(
                "#{index} {} MSH-10 {:?}: MSA-1 {:?} MSA-2 {:?}; ACK {:?}",
                message.file, message.control_id, sent.msa1, sent.msa2, sent.ack
            ));
        }
    }
    problems
}

/// A refused message logs one Failed event at level ERROR; conforming input gives Ferry
/// no other reason to warn.
fn assert_only_refusals_logged(log: &[Value], refused: usize) {
    let complaints = peers::complaints(log);
    let all_failed = complaints
        .iter()
        .all(|line| line["fields"]["kind"] == "Failed");
    assert!(
        complaints.len() == refused && all_failed,
        "{refused} refused messages, but ferry logged {complaints:#?}"
    );
}

/// Every difference between what the client sent (accepted messages, in order) and what
/// the sink received.
fn delivery_problems(accepted: &[(&Message, &Sent)], received: &[Vec<u8>]) -> Vec<String> {
    let mut problems = Vec::new();
    if received.len() != accepted.len() {
        problems.push(format!(
            "{} messages accepted, {} received",
            accepted.len(),
            received.len()
        ));
    }
    for (index, ((message, sent), got)) in accepted.iter().zip(received).enumerate() {
        if let Some(difference) = first_difference(&sent.bytes, got) {
            problems.push(format!(
                "#{index} {} MSH-10 {:?} (received MSH-10 {:?}): {difference}",
                message.file,
                message.control_id,
                type_and_id(got).1
            ));
        }
    }
    problems
}
