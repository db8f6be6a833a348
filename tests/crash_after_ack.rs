//! Field case B30, part 1: Ferry dies (abort, no cleanup) right after it has written an
//! ACK. The message the sender holds an AA for is in the store and is delivered after
//! the restart. The abort comes from the `test-hooks` feature of ferry-mllp, which only
//! test builds turn on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::binary::{Ferry, listening_addr};
use common::hl7::m;
use common::mllp::{Receiver, Sender, msa};

fn production(dir: &Path, sink: std::net::SocketAddr) -> std::path::PathBuf {
    let path = dir.join("p.yaml");
    let yaml = format!(
        "production: b30\nstore: {{ path: \"{}/data\" }}\nitems:\n  - name: In\n    \
         service: mllp\n    targets: [Out]\n    settings: {{ listen: \"127.0.0.1:0\" }}\n  \
         - name: Out\n    operation: mllp\n    retry: {{ interval: 100ms }}\n    \
         settings: {{ address: \"{sink}\" }}\n",
        dir.display()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_acked_just_before_a_crash_is_delivered_after_the_restart() {
    let sink = Receiver::acking().await;
    let dir = tempfile::tempdir().unwrap();
    let production = production(dir.path(), sink.addr);
    let abort = dir.path().join("abort");

    let mut dying = Ferry::start(&production, &[("FERRY_TEST_ABORT_AFTER_ACK", &abort)]);
    let addr = listening_addr(&mut dying, "In", Duration::from_secs(30));
    let reply = Sender::connect(addr).await.exchange(&m(49)).await;
    assert_eq!(msa(&reply), ("AA".into(), "MSG0049".into()));
    common::wait_until("the abort", Duration::from_secs(30), || !dying.is_running());
    drop(dying);

    let _ferry = Ferry::start(&production, &[]);
    common::eventually("MSG0049 delivered", Duration::from_secs(30), || {
        sink.control_ids().contains(&"MSG0049".to_owned())
    })
    .await;
}
