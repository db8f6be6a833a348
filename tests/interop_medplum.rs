//! @medplum/hl7 (npm, pinned in `tests/peers/node/package-lock.json`) on both sides of the
//! real binary: its `Hl7Client` sends to Ferry's MLLP service, and Ferry's MLLP operation
//! delivers to its `Hl7Server`. Every message gets an AA whose MSA-2 is its MSH-10, and
//! the server receives every message once, in the order sent, as the client sent it apart
//! from segment terminators.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod peers;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::binary::{Ferry, listening_addr};
use peers::{Peer, first_difference};
use serde_json::Value;

const MESSAGES: u32 = 20;
const WAIT: Duration = Duration::from_secs(60);

#[test]
fn medplum_client_and_server_exchange_through_ferry() {
    let Some(node_peers) = peers::node_peers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let messages: Vec<String> = (1..=MESSAGES).map(message).collect();
    let file = dir.path().join("messages.json");
    std::fs::write(&file, serde_json::to_vec(&messages).unwrap()).unwrap();

    let (mut server, port) = start_server(&node_peers);
    let production = peers::write_production(dir.path(), &relay(port));
    let mut ferry = Ferry::start(&production, &[("DIR", dir.path())]);
    let addr = listening_addr(&mut ferry, "From medplum", Duration::from_secs(30));

    let started = Instant::now();
    let mut send = node(&node_peers, "hl7_send.mjs");
    send.arg(addr.port().to_string()).arg(&file);
    let reports = send_through_ferry(send, &messages, &server, &ferry);
    let sending = started.elapsed();

    let last = format!("MEDPLUM{MESSAGES:04}");
    server.wait_for_line("the last message", WAIT, |line| {
        line["event"] == "received" && line["control_id"] == last.as_str()
    });
    let delivering = started.elapsed();
    let complaints = peers::complaints(&ferry.lines());
    assert!(complaints.is_empty(), "ferry logged {complaints:#?}");
    let status = ferry.stop();
    assert!(status.success(), "ferry exited with {status}");

    let problems = delivery_problems(&reports, &events(&server, "received"));
    assert!(
        problems.is_empty(),
        "the server did not get what the client sent:\n{}\n{}",
        problems.join("\n"),
        server.transcript()
    );
    let errors = events(&server, "error");
    assert!(
        errors.is_empty(),
        "the server's connections reported {errors:?}"
    );

    server.close_stdin();
    let status = server.wait_exit(WAIT);
    assert!(status.success(), "hl7_server.mjs exited with {status}");
    eprintln!(
        "Hl7Client got {MESSAGES} AAs from Ferry in {sending:.2?}; Hl7Server had all \
         {MESSAGES}, in order, after {delivering:.2?}"
    );
}

/// Starts the medplum server; returns it and the port it listens on.
fn start_server(node_peers: &Path) -> (Peer, u64) {
    let mut server = Peer::spawn("hl7_server.mjs", node(node_peers, "hl7_server.mjs"));
    let listening = server.wait_for_line("its port", WAIT, |line| line["event"] == "listening");
    let port = listening["port"].as_u64().expect("a port");
    assert_eq!(
        listening["host"], "127.0.0.1",
        "the server listens on loopback only"
    );
    (server, port)
}

/// Runs the client; panics unless it exits cleanly and every message got its AA. Returns
/// the client's report per message.
fn send_through_ferry(
    send: Command,
    messages: &[String],
    server: &Peer,
    ferry: &Ferry,
) -> Vec<Value> {
    let mut client = Peer::spawn("hl7_send.mjs", send);
    let status = client.wait_exit(WAIT);
    let context = || {
        format!(
            "{}\n{}\n--- ferry log\n{}",
            client.transcript(),
            server.transcript(),
            ferry.log_text()
        )
    };
    assert!(
        status.success(),
        "hl7_send.mjs exited with {status}\n{}",
        context()
    );

    let reports: Vec<Value> = client
        .lines()
        .into_iter()
        .filter(|line| line.get("index").is_some())
        .collect();
    let problems = acknowledgement_problems(messages, &reports);
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        context()
    );
    reports
}

/// The server's lines of one `event` kind, in the order printed.
fn events(server: &Peer, event: &str) -> Vec<Value> {
    let lines = server.lines().into_iter();
    lines.filter(|line| line["event"] == event).collect()
}

/// MLLP in on a free port, MLLP out to the medplum server.
fn relay(port: u64) -> String {
    format!(
        r#"
production: interop-medplum
store: {{ path: "${{DIR}}/data" }}
items:
  - name: From medplum
    service: mllp
    targets: [To medplum]
    settings: {{ listen: "127.0.0.1:0" }}
  - name: To medplum
    operation: mllp
    settings: {{ address: "127.0.0.1:{port}" }}
"#
    )
}

fn node(peers: &Path, script: &str) -> Command {
    let mut command = Command::new("node");
    command.arg(peers.join(script)).current_dir(peers);
    command
}

/// Message `n`: one of four shapes in turn, with UTF-8 text, escape sequences,
/// repetitions, subcomponents and empty trailing fields among them. MSH-10 is
/// `MEDPLUM<n>`.
fn message(n: u32) -> String {
    let msh = |kind: &str| {
        format!(
            "MSH|^~\\&|MEDPLUM|CLINIC|FERRY|HUB|20240102030405||{kind}|MEDPLUM{n:04}|P|2.5.1\
             |||AL|NE||UNICODE UTF-8\r"
        )
    };
    let body = match n % 4 {
        0 => format!(
            "EVN|A01|20240102030405\rPID|1||P{n}^^^CLINIC^MR~S{n}^^^SSA^SS||Müller^Zoë^Ågot||\
             19800101|F\rPV1|1|I|WARD^12^B\r"
        ),
        1 => format!(
            "PID|1||P{n}^^^CLINIC^MR||Núñez^José\rOBR|1|ORD{n}||GLU^Glucose^L\r\
             OBX|1|NM|GLU^Glucose^L||5.4|mmol/L|3.9-5.8|N|||F\r\
             OBX|2|TX|NOTE^Note^L||fasting \\F\\ no \\S\\ meds \\T\\ \\E\\ water~second line\
             ||||||F\r"
        ),
        2 => format!(
            "EVN|A08|20240102030405|||\rPID|1||P{n}^^^CLINIC^MR||O'Brien^Siobhán||||||\
             1 Main St&Suite 4^^Dublin^^D01^IE||||||||\rNK1|1|O'Brien^Aoife|MTH|||\r"
        ),
        _ => format!(
            "SCH|APT{n}|APT{n}|||||ROUTINE|NORMAL|30|min|^^30^20240105090000\r\
             PID|1||P{n}^^^CLINIC^MR||Søren^Kierkegaard\rAIL|1||ROOM 7^^^CLINIC\r"
        ),
    };
    let kind = [
        "ADT^A01^ADT_A01",
        "ORU^R01^ORU_R01",
        "ADT^A08^ADT_A01",
        "SIU^S12^SIU_S12",
    ];
    msh(kind[(n % 4) as usize]) + &body
}

/// Every message whose ACK is not AA with MSA-2 = its MSH-10, or that the client did not
/// send as the test wrote it.
fn acknowledgement_problems(messages: &[String], reports: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    if reports.len() != messages.len() {
        problems.push(format!(
            "{} messages, {} ACKs",
            messages.len(),
            reports.len()
        ));
    }
    for (index, (message, report)) in messages.iter().zip(reports).enumerate() {
        let id = format!("MEDPLUM{:04}", index + 1);
        if report["msa1"] != "AA" || report["msa2"] != id.as_str() {
            problems.push(format!(
                "#{index} {id}: MSA-1 {} MSA-2 {}; ACK {}",
                report["msa1"], report["msa2"], report["ack"]
            ));
        }
        let sent = report["sent"].as_str().unwrap_or_default();
        if let Some(difference) = first_difference(message.as_bytes(), sent.as_bytes()) {
            problems.push(format!("#{index} {id}: Hl7Client rewrote it: {difference}"));
        }
    }
    problems
}

/// Every difference between what the client sent, in order, and what the server received.
fn delivery_problems(reports: &[Value], received: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let sent_ids: Vec<&Value> = reports.iter().map(|report| &report["control_id"]).collect();
    let received_ids: Vec<&Value> = received.iter().map(|line| &line["control_id"]).collect();
    if sent_ids != received_ids {
        problems.push(format!("sent {sent_ids:?}\nreceived {received_ids:?}"));
    }
    for (report, line) in reports.iter().zip(received) {
        let sent = report["sent"].as_str().unwrap_or_default();
        let got = line["message"].as_str().unwrap_or_default();
        if let Some(difference) = first_difference(sent.as_bytes(), got.as_bytes()) {
            problems.push(format!("{}: {difference}", report["control_id"]));
        }
    }
    problems
}
