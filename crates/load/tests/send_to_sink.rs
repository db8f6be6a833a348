//! The sender against the sink, in one process, on 127.0.0.1 with a port the system picks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ferry_load::stats::Failure;
use ferry_load::{Reply, SendArgs, SendSummary, Sink, SinkArgs, SinkSummary};
use tokio::sync::oneshot;

fn sink_args(reply: Reply, delay: u64) -> SinkArgs {
    SinkArgs {
        listen: "127.0.0.1:0".to_owned(),
        delay,
        reply,
        seconds: None,
        json: true,
        quiet: true,
    }
}

fn send_args(to: String, connections: u16, count: Option<u64>) -> SendArgs {
    SendArgs {
        to,
        connections,
        seconds: None,
        count,
        timeout: Duration::from_secs(10),
        json: true,
        quiet: true,
    }
}

/// Starts a sink, runs `send` against it, stops the sink; both summaries.
async fn exchange(sink: SinkArgs, mut send: SendArgs) -> (SendSummary, SinkSummary) {
    let sink = Sink::bind(&sink).await.unwrap();
    send.to = sink.local_addr().to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    let sink = tokio::spawn(sink.run(async {
        let _ = stopped.await;
    }));

    let sent = ferry_load::send(&send, std::future::pending())
        .await
        .unwrap();

    stop.send(()).unwrap();
    let received = sink.await.unwrap();
    (sent, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_sent_is_received_once_and_in_order() {
    let (sent, received) = exchange(
        sink_args(Reply::Aa, 0),
        send_args(String::new(), 4, Some(800)),
    )
    .await;

    assert_eq!(sent.sent, 800, "{}", sent.to_text());
    assert_eq!(sent.errors(), 0, "{}", sent.to_text());
    let counts = received.counts;
    assert_eq!(counts.received, 800, "{}", received.to_text());
    assert_eq!(counts.duplicates, 0);
    assert_eq!(counts.losses, 0);
    assert_eq!(counts.out_of_order, 0);
    assert_eq!(counts.streams, 4);
    assert_eq!(counts.foreign, 0);
    assert_eq!(received.errors, 0);

    let json = sent.to_json();
    for key in [
        "sent",
        "msgs_per_s",
        "p50_ms",
        "p99_ms",
        "p999_ms",
        "errors",
        "connections",
        "seconds",
    ] {
        assert!(json.get(key).is_some(), "send JSON lacks {key}: {json}");
    }
    assert_eq!(json["sent"], 800);
    assert_eq!(json["connections"], 4);
    assert!(json["p50_ms"].as_f64().unwrap() > 0.0, "{json}");
    assert!(
        json["p999_ms"].as_f64() >= json["p50_ms"].as_f64(),
        "{json}"
    );

    let json = received.to_json();
    for key in [
        "received",
        "duplicates",
        "losses",
        "out_of_order",
        "msgs_per_s",
        "errors",
    ] {
        assert!(json.get(key).is_some(), "sink JSON lacks {key}: {json}");
    }
    assert_eq!(json["received"], 800);
    assert!(json["msgs_per_s"].as_f64().unwrap() > 0.0, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_run_stops_and_counts_what_the_sink_counted() {
    let mut send = send_args(String::new(), 2, None);
    send.seconds = Some(Duration::from_millis(600));
    let (sent, received) = exchange(sink_args(Reply::Aa, 1), send).await;

    assert!(sent.sent > 10, "{}", sent.to_text());
    assert_eq!(sent.errors(), 0, "{}", sent.to_text());
    assert_eq!(received.counts.received, sent.sent);
    assert_eq!(received.counts.losses, 0);
    assert!(
        sent.elapsed >= Duration::from_millis(600),
        "{:?}",
        sent.elapsed
    );
    assert!(sent.elapsed < Duration::from_secs(5), "{:?}", sent.elapsed);
    // Every exchange waited for the 1 ms delay.
    assert!(sent.latency.p50.unwrap() >= 1000, "{:?}", sent.latency);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_garbage_are_errors_not_sent_messages() {
    for (reply, failure) in [
        (Reply::Ae, Failure::Negative),
        (Reply::Ar, Failure::Negative),
        (Reply::Garbage, Failure::Unreadable),
    ] {
        let (sent, received) =
            exchange(sink_args(reply, 0), send_args(String::new(), 2, Some(20))).await;
        assert_eq!(sent.sent, 0, "{reply:?}: {}", sent.to_text());
        assert_eq!(
            sent.failures.count(failure),
            20,
            "{reply:?}: {}",
            sent.to_text()
        );
        assert_eq!(sent.to_json()["errors"], 20);
        assert_eq!(received.counts.received, 20, "{reply:?}");
        assert_eq!(sent.latency.p50, None);
        assert!(sent.to_json()["p50_ms"].is_null());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_receiver_times_out_and_the_sender_reconnects() {
    let mut send = send_args(String::new(), 1, Some(3));
    send.timeout = Duration::from_millis(200);
    let (sent, received) = exchange(sink_args(Reply::None, 0), send).await;

    assert_eq!(sent.sent, 0);
    assert_eq!(
        sent.failures.count(Failure::Timeout),
        3,
        "{}",
        sent.to_text()
    );
    // Each timeout dropped the connection; the same message went out again on a new one,
    // as a sender resends what it holds no ACK for: one stream, one message, two resends.
    assert_eq!(received.counts.received, 3);
    assert_eq!(received.counts.duplicates, 2);
    assert_eq!(received.counts.losses, 0);
    assert_eq!(received.counts.streams, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_listening_is_an_error_before_the_run() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);

    let result = ferry_load::send(&send_args(address, 1, Some(1)), std::future::pending()).await;
    let error = result.unwrap_err();
    assert!(!error.is_usage(), "{error}");
    assert!(error.to_string().contains("cannot connect"), "{error}");
}
