//! What an MLLP service answers: the ACK header (B21), NAKs for unusable input (B23),
//! charsets (B19), duplicates (B28), the ack modes, back-pressure and TLS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::eventually;
use common::hl7::m;
use common::inproc::Running;
use common::mllp::{Receiver, Sender, ack, control_id, msa};
use ferry_message::Status;

const WAIT: Duration = Duration::from_secs(30);

/// MLLP service `In` with `settings` → file operation `Out` (or MLLP to `receiver`).
fn service(settings: &str, receiver: Option<SocketAddr>) -> String {
    let out = match receiver {
        Some(addr) => format!("operation: mllp\n    settings: {{ address: \"{addr}\" }}"),
        None => "operation: file\n    settings: { path: \"${DIR}/out\", fsync: false }".into(),
    };
    format!(
        r#"
production: mllp-acks
store: {{ path: "${{DIR}}/data" }}
items:
  - name: In
    service: mllp
    targets: [Out]
    settings: {{ listen: "127.0.0.1:0"{settings} }}
  - name: Out
    retry: {{ interval: 50ms, backoff: 1.0 }}
    {out}
"#
    )
}

async fn start(yaml: &str) -> (tempfile::TempDir, Running, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), yaml).await;
    let addr = running.listening("In").await;
    (dir, running, addr)
}

/// The fields of a reply's segment `id` (default delimiters), field 0 being the id.
fn fields(reply: &[u8], id: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(reply);
    let segment = text
        .split('\r')
        .find(|segment| segment.starts_with(id))
        .unwrap_or_else(|| panic!("no {id} in {text:?}"));
    let mut fields: Vec<String> = segment.split('|').map(str::to_owned).collect();
    if id == "MSH" {
        fields.insert(1, "|".into());
    }
    fields
}

/// Statuses of what In stored, oldest first.
fn statuses(running: &Running) -> Vec<Status> {
    let query = ferry_store::Query {
        source: Some(ferry_message::ItemName::new("In")),
        limit: 1000,
        ..ferry_store::Query::default()
    };
    let mut headers = running.store.search(&query).unwrap();
    headers.sort_by_key(|header| header.id);
    headers.iter().map(|header| header.status).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b21_the_ack_header_swaps_sender_and_receiver_and_echoes_the_version() {
    let (_dir, running, addr) = start(&service("", None)).await;
    let mut sender = Sender::connect(addr).await;

    let message = "MSH|^~\\&|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20240101120000||ADT^A01^ADT_A01|\
                   MSG0039|P|2.5.1\rEVN|A01|20240101120000\rPID|1||TEST0039^^^TESTHOSP^MR||\
                   TEST^PATIENT\r";
    let reply = sender.exchange(message.as_bytes()).await;
    let msh = fields(&reply, "MSH");
    assert_eq!(
        &msh[2..7],
        ["^~\\&", "RECVAPP", "RECVFAC", "SENDAPP", "SENDFAC"]
    );
    assert_eq!(msh[9], "ACK^A01^ACK");
    assert!(
        !msh[10].is_empty() && msh[10] != "MSG0039",
        "own control id"
    );
    assert_eq!(&msh[11..13], ["P", "2.5.1"]);
    assert_eq!(fields(&reply, "MSA")[1..3], ["AA", "MSG0039"]);

    let old = message
        .replace("MSG0039|P|2.5.1", "MSG0040|T|2.3")
        .replace("ADT^A01^ADT_A01", "ADT^A01");
    let reply = sender.exchange(old.as_bytes()).await;
    let msh = fields(&reply, "MSH");
    assert_eq!(msh[9], "ACK^A01", "no structure component before 2.3.1");
    assert_eq!(&msh[11..13], ["T", "2.3"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b10_the_ack_uses_the_inbound_delimiters() {
    let (_dir, running, addr) = start(&service("", None)).await;
    let message = b"MSH*!@$%*SENDAPP*SENDFAC*FERRY*HUB*20240101120000**ADT!A01!ADT_A01*MSG0008*P*\
        2.5.1\rPID*1**TEST0008!!!TESTHOSP!MR**TEST!PATIENT\r";
    let reply = Sender::connect(addr).await.exchange(message).await;
    let text = String::from_utf8(reply.clone()).unwrap();
    assert!(
        text.starts_with("MSH*!@$%*FERRY*HUB*SENDAPP*SENDFAC*"),
        "{text:?}"
    );
    assert!(text.contains("\rMSA*AA*MSG0008"), "{text:?}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b23_unusable_input_gets_one_nak_each_and_is_kept_as_error() {
    let (_dir, running, addr) = start(&service("", None)).await;
    let mut sender = Sender::connect(addr).await;

    let no_msh10 = "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01||P|\
                    2.5.1\rPID|1\r";
    let inputs: [(&[u8], &str, &str); 4] = [
        (b"", "100", ""),
        (b"HELLO WORLD\r", "100", ""),
        (no_msh10.as_bytes(), "101", "MSH^1^10"),
        (b"<?xml version=\"1.0\"?><a/>", "100", ""),
    ];
    for (input, code, location) in inputs {
        let reply = sender.exchange(input).await;
        let text = String::from_utf8_lossy(&reply).into_owned();
        assert_eq!(fields(&reply, "MSA")[1], "AR", "{text:?}");
        let err = fields(&reply, "ERR");
        assert_eq!(err[2], location, "{text:?}");
        assert!(err[3].starts_with(&format!("{code}^")), "{text:?}");
        assert!(err[3].ends_with("^HL70357"), "{text:?}");
        assert_eq!(err[4], "E", "{text:?}");
    }
    assert_eq!(
        msa(&sender.exchange(&m(41)).await),
        ("AA".into(), "MSG0041".into())
    );

    eventually("stored", WAIT, || statuses(&running).len() >= 5).await;
    let stored = statuses(&running);
    assert_eq!(stored[..4], [Status::Error; 4], "{stored:?}");
    running.stop().await;
}

/// B19's message `a` with MSH-10 `id` and MSH-18 `charset`, PID-5 in `name` bytes.
fn b19(id: &str, charset: &str, name: &[u8]) -> Vec<u8> {
    let mut message = format!(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|{id}|P|2.5.1|||||\
         DEU|{charset}\rPID|1||TEST0034^^^TESTHOSP^MR||"
    )
    .into_bytes();
    message.extend_from_slice(name);
    message.push(b'\r');
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b19_charsets_are_decoded_once_per_message() {
    let latin1 = b"M\xdcLLER^J\xd6RG";
    let utf8 = "MÜLLER^JÖRG".as_bytes();
    // Only messages whose PID-5 decodes to MÜLLER^JÖRG reach Out.
    let yaml = service(", charset: 8859/1", None)
        .replace("    targets: [Out]\n", "    targets: [Check]\n")
        + "  - name: Check\n    process: router\n    rules:\n      - when: PID-5.1 = \"MÜLLER\" \
        and PID-5.2 = \"JÖRG\"\n        send: [Out]\n    otherwise: discard\n";
    let (dir, running, addr) = start(&yaml).await;
    let mut sender = Sender::connect(addr).await;

    assert_eq!(
        msa(&sender.exchange(&b19("MSG0034", "8859/1", latin1)).await).0,
        "AA"
    );
    let framed = ferry_mllp::frame(&b19("MSG0035", "UNICODE UTF-8", utf8));
    let split = framed.iter().position(|&byte| byte == 0xC3).unwrap() + 1;
    sender.write(&framed[..split]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    sender.write(&framed[split..]).await;
    assert_eq!(msa(&sender.reply(WAIT).await.unwrap()).0, "AA");
    assert_eq!(
        msa(&sender.exchange(&b19("MSG0036", "", latin1)).await).0,
        "AA"
    );

    let out = dir.path().join("out");
    eventually("three routed", WAIT, || {
        common::visible_files(&out).len() == 3
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b19_bytes_invalid_in_the_charset_get_a_nak_naming_it() {
    let (_dir, running, addr) = start(&service("", None)).await;
    let reply = Sender::connect(addr)
        .await
        .exchange(&b19("MSG0037", "", b"M\xdcLLER^J\xd6RG"))
        .await;
    let text = String::from_utf8_lossy(&reply).into_owned();
    assert_eq!(fields(&reply, "MSA")[1], "AE", "{text}");
    assert!(text.contains("UTF-8"), "names the charset: {text}");
    eventually("kept as error", WAIT, || {
        statuses(&running) == [Status::Error]
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b28_a_resent_message_is_stored_again_and_flagged() {
    let (_dir, running, addr) = start(&service("", None)).await;

    let mut first = Sender::connect(addr).await;
    first.send(&m(48)).await;
    drop(first);
    let mut second = Sender::connect(addr).await;
    assert_eq!(
        msa(&second.exchange(&m(48)).await),
        ("AA".into(), "MSG0048".into())
    );

    let query = ferry_store::Query {
        source: Some(ferry_message::ItemName::new("In")),
        limit: 100,
        ..ferry_store::Query::default()
    };
    eventually("both stored", WAIT, || {
        running.store.search(&query).unwrap().len() == 2
    })
    .await;
    let mut headers = running.store.search(&query).unwrap();
    headers.sort_by_key(|header| header.id);
    assert!(!headers[0].possible_duplicate);
    assert!(headers[1].possible_duplicate);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_mode_never_answers_nothing_but_stores() {
    let (_dir, running, addr) = start(&service(", ack_mode: never", None)).await;
    let mut sender = Sender::connect(addr).await;
    sender.send(&m(1)).await;
    sender.send(b"garbage").await;
    assert_eq!(sender.reply(Duration::from_millis(300)).await, None);
    eventually("stored", WAIT, || statuses(&running).len() == 2).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_mode_application_relays_the_downstream_verdict() {
    let receiver = Receiver::start(|message| {
        let code = match control_id(message).as_str() {
            "MSG0002" => "AE",
            "MSG0003" => "AR",
            _ => "AA",
        };
        Some((Duration::ZERO, ack(message, code)))
    })
    .await;
    let settings = ", ack_mode: application, response_from: Out, response_timeout: 5s";
    let (_dir, running, addr) = start(&service(settings, Some(receiver.addr))).await;
    let mut sender = Sender::connect(addr).await;

    for (n, code) in [(1, "AA"), (2, "AE"), (3, "AR")] {
        let reply = sender.exchange(&m(n)).await;
        assert_eq!(msa(&reply), (code.into(), format!("MSG{n:04}")));
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_mode_application_naks_after_the_response_timeout() {
    let receiver = Receiver::start(|_| None).await;
    let settings = ", ack_mode: application, response_from: Out, response_timeout: 300ms";
    let (_dir, running, addr) = start(&service(settings, Some(receiver.addr))).await;
    let reply = Sender::connect(addr).await.exchange(&m(1)).await;
    let text = String::from_utf8_lossy(&reply).into_owned();
    assert_eq!(msa(&reply).0, "AE", "{text}");
    assert!(text.contains("no reply from Out"), "{text}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_mode_msh_answers_enhanced_mode_with_commit_acks() {
    let (_dir, running, addr) = start(&service(", ack_mode: msh", None)).await;
    let mut sender = Sender::connect(addr).await;
    let with = |id: &str, accept: &str| {
        let mut message = m(1);
        let text = String::from_utf8(message.clone()).unwrap().replace(
            "MSG0001|P|2.5.1\r",
            &format!("{id}|P|2.5.1|||{accept}|NE\r"),
        );
        message.clear();
        message.extend(text.into_bytes());
        message
    };

    assert_eq!(
        msa(&sender.exchange(&with("E1", "AL")).await),
        ("CA".into(), "E1".into())
    );
    sender.send(&with("E2", "NE")).await;
    sender.send(&with("E3", "ER")).await;
    assert_eq!(
        sender.reply(Duration::from_millis(300)).await,
        None,
        "NE and ER: no CA"
    );
    assert_eq!(msa(&sender.exchange(&m(9)).await).0, "AA", "original mode");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_stops_reading_instead_of_nakking() {
    let receiver = Receiver::start(|_| None).await;
    let yaml = service("", Some(receiver.addr))
        .replace("    retry:", "    queue_limit: 5\n    retry:")
        .replace(
            "settings: { address:",
            "settings: { response_timeout: 2s, address:",
        );
    let (_dir, running, addr) = start(&yaml).await;
    let mut sender = Sender::connect(addr).await;
    for n in 0..200 {
        sender.send(&m(n)).await;
    }

    let mut answered = 0;
    while let Some(reply) = sender.reply(Duration::from_millis(500)).await {
        assert_eq!(msa(&reply).0, "AA", "never a NAK");
        answered += 1;
    }
    // Blocks already received together (up to 64) are stored together; then the
    // connection stops reading until Out's queue has room.
    assert!(
        (5..=70).contains(&answered),
        "{answered} answered before the pause"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b28_discarding_duplicates_is_opt_in_and_keeps_the_copy() {
    let (dir, running, addr) = start(&service(", duplicates: discard", None)).await;
    let mut sender = Sender::connect(addr).await;
    for _ in 0..2 {
        assert_eq!(
            msa(&sender.exchange(&m(48)).await).0,
            "AA",
            "both acknowledged"
        );
    }
    let out = dir.path().join("out");
    eventually("one delivery", WAIT, || {
        common::visible_files(&out).len() == 1
    })
    .await;
    eventually("the copy kept", WAIT, || {
        running.count("Out", Status::Discarded) == 1
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_mode_msh_sends_application_acks_back_through_an_operation() {
    let downstream = Receiver::answering("E2", "AE").await;
    let senders_listener = Receiver::acking().await;
    let settings = ", ack_mode: msh, response_from: Out, application_ack_to: Back";
    let yaml = service(settings, Some(downstream.addr))
        + &format!(
            "  - name: Back\n    operation: mllp\n    settings: {{ address: \"{}\" }}\n",
            senders_listener.addr
        );
    let (_dir, running, addr) = start(&yaml).await;
    let mut sender = Sender::connect(addr).await;
    let enhanced = |id: &str, application: &str| {
        String::from_utf8(m(1))
            .unwrap()
            .replace(
                "MSG0001|P|2.5.1\r",
                &format!("{id}|P|2.5.1|||AL|{application}\r"),
            )
            .into_bytes()
    };

    for (id, application) in [("E1", "AL"), ("E2", "AL"), ("E3", "ER"), ("E4", "NE")] {
        let commit = sender.exchange(&enhanced(id, application)).await;
        assert_eq!(msa(&commit), ("CA".into(), id.into()), "commit ACK first");
    }

    eventually("two application ACKs", WAIT, || {
        senders_listener.messages().len() == 2
    })
    .await;
    let mut acks: Vec<(String, String)> =
        senders_listener.messages().iter().map(|a| msa(a)).collect();
    acks.sort();
    assert_eq!(
        acks,
        [("AA".into(), "E1".into()), ("AE".into(), "E2".into())]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        senders_listener.messages().len(),
        2,
        "ER with AA and NE: none"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_gets_the_same_checks_as_single_messages() {
    let (dir, running, addr) = start(&service("", None)).await;
    let mut batch = b"FHS|^~\\&\rBHS|^~\\&\r".to_vec();
    batch.extend(m(61));
    batch.extend(b"MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01|||P|2.5.1\r");
    batch.extend(b19("MSG0063", "", b"M\xdcLLER"));
    batch.extend(b"BTS|3\rFTS|1\r");

    let reply = Sender::connect(addr).await.exchange(&batch).await;
    let text = String::from_utf8_lossy(&reply).into_owned();
    assert_eq!(fields(&reply, "MSA")[1], "AR", "{text}");
    assert!(text.contains("piece 2 of the batch"), "{text}");

    eventually("three stored", WAIT, || statuses(&running).len() == 3).await;
    let stored = statuses(&running);
    assert_ne!(
        stored[0],
        Status::Error,
        "the good message is queued: {stored:?}"
    );
    assert_eq!(stored[1..], [Status::Error, Status::Error], "{stored:?}");
    let out = dir.path().join("out");
    eventually("the good one delivered", WAIT, || {
        common::visible_files(&out).len() == 1
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_cut_off_by_the_idle_timeout_is_kept_as_error() {
    let (_dir, running, addr) = start(&service(", idle_timeout: 200ms", None)).await;
    let mut sender = Sender::connect(addr).await;
    sender
        .write(b"\x0bMSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|2024||ADT^A01|CUT1|P|2.5.1\r")
        .await;
    assert_eq!(sender.reply(WAIT).await, None, "closed without an answer");
    eventually("kept", WAIT, || statuses(&running) == [Status::Error]).await;
    running.stop().await;
}

#[test]
fn validate_refuses_response_from_naming_the_wrong_item() {
    let problems = |settings: &str| {
        let yaml = service(settings, Some("127.0.0.1:9".parse().unwrap()))
            + "  - name: Elsewhere\n    operation: file\n    settings: { path: \"${DIR}/x\" }\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yaml");
        std::fs::write(&path, yaml).unwrap();
        let root = dir.path().display().to_string();
        let env = move |name: &str| (name == "DIR").then(|| root.clone());
        let production = ferry_production::load(&path, &env).production.unwrap();
        ferry_runtime::check_production(&production, &common::inproc::registry()).to_string()
    };

    let base = ", ack_mode: application, response_from:";
    assert!(problems(&format!("{base} Nobody")).contains("'Nobody', which is not an item"));
    assert!(problems(&format!("{base} In")).contains("'In', which is not an operation"));
    assert!(problems(&format!("{base} Elsewhere")).contains("never reach"));
    assert_eq!(problems(&format!("{base} Out")), "");
    let stray = ", ack_mode: msh, response_from: Out, application_ack_to: In";
    assert!(problems(stray).contains("'In', a service"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_kept_whole_is_refused_whole_when_a_piece_is_bad() {
    let (_dir, running, addr) = start(&service(", split_batches: false", None)).await;
    let mut batch = b"BHS|^~\\&\r".to_vec();
    batch.extend(m(71));
    batch.extend(b"MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01|||P|2.5.1\r");
    batch.extend(b"BTS|2\r");

    let reply = Sender::connect(addr).await.exchange(&batch).await;
    assert_eq!(
        fields(&reply, "MSA")[1],
        "AR",
        "{}",
        String::from_utf8_lossy(&reply)
    );
    eventually("kept as one error", WAIT, || {
        statuses(&running) == [Status::Error]
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_does_not_wait_for_an_application_reply() {
    let receiver = Receiver::start(|_| None).await;
    let settings = ", ack_mode: application, response_from: Out, response_timeout: 60s";
    let (_dir, running, addr) = start(&service(settings, Some(receiver.addr))).await;
    let mut sender = Sender::connect(addr).await;
    sender.send(&m(1)).await;
    eventually("sent on", WAIT, || receiver.messages().len() == 1).await;

    let started = std::time::Instant::now();
    running.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        sender.reply(Duration::from_secs(5)).await,
        None,
        "closed unanswered"
    );
}
