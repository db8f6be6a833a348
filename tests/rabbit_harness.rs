//! The RabbitMQ test harness (`tests/common/rabbit.rs`) against real brokers: the shared
//! one named by `FERRY_TEST_AMQP_URL` and private nodes started by the tests. These tests
//! prove that the harness does what the AMQP adapter's tests will rely on: a cut proxy
//! really breaks the client's connection, a memory alarm really blocks a publisher, a
//! restart really keeps persistent messages, and nothing is left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::eventually;
use common::rabbit::{
    AMQP_URL_VARIABLE, BrokerObjects, CutProxy, PrivateBroker, amqp_url, connect, unique_name,
};
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};

/// Long enough for a broker on a busy CI machine, short enough to fail a hung test.
const PATIENCE: Duration = Duration::from_secs(15);

async fn confirming_channel(connection: &Connection) -> Channel {
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    channel
}

async fn declare_queue(channel: &Channel, queue: &str, durable: bool) {
    let options = QueueDeclareOptions {
        durable,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await
        .unwrap();
}

/// Publishes to `queue` through the default exchange and waits for the broker's confirm.
async fn publish(channel: &Channel, queue: &str, body: &[u8], persistent: bool) -> Confirmation {
    let delivery_mode = if persistent { 2 } else { 1 };
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default().with_delivery_mode(delivery_mode),
        )
        .await
        .unwrap()
        .await
        .unwrap()
}

/// Takes every message left in `queue`, in order.
async fn drain(channel: &Channel, queue: &str) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    let options = BasicGetOptions { no_ack: true };
    while let Some(message) = channel.basic_get(queue.into(), options).await.unwrap() {
        bodies.push(message.delivery.data);
    }
    bodies
}

/// Whether a queue exists, asked on a fresh channel because a failed passive declare
/// closes the channel it was made on.
async fn queue_exists(connection: &Connection, queue: &str) -> bool {
    let channel = connection.create_channel().await.unwrap();
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await;
    match declared {
        Ok(_) => true,
        Err(error) => {
            assert!(
                error.is_amqp_soft_error(),
                "passive declare failed: {error}"
            );
            false
        }
    }
}

/// Whether an exchange exists; see [`queue_exists`].
async fn exchange_exists(connection: &Connection, exchange: &str) -> bool {
    let channel = connection.create_channel().await.unwrap();
    let options = ExchangeDeclareOptions {
        passive: true,
        ..ExchangeDeclareOptions::default()
    };
    let declared = channel
        .exchange_declare(
            exchange.into(),
            lapin::ExchangeKind::Fanout,
            options,
            FieldTable::default(),
        )
        .await;
    match declared {
        Ok(()) => true,
        Err(error) => {
            assert!(
                error.is_amqp_soft_error(),
                "passive declare failed: {error}"
            );
            false
        }
    }
}

/// The ids of the processes whose environment mentions `needle`. The environment, not
/// the command line: RabbitMQ 3.10 takes its node name and folders from environment
/// variables, and its `beam.smp` command line shows neither.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| String::from_utf8_lossy(&environ).contains(needle))
        })
        .collect()
}

/// Closes a connection; an error only means it was closing already.
async fn hang_up(connection: Connection) {
    let _ = connection.close(200, "done".into()).await;
}

#[test]
fn unique_names_carry_the_prefix_and_the_process_and_never_repeat() {
    let first = unique_name("t.in");
    let second = unique_name("t.in");

    assert_ne!(first, second);
    let pid = std::process::id().to_string();
    for name in [&first, &second] {
        let parts: Vec<&str> = name.split('.').collect();
        assert_eq!(parts[..3], ["t", "in", pid.as_str()], "{name}");
        assert_eq!(parts.len(), 5, "{name}");
    }
}

#[tokio::test]
async fn proxy_url_keeps_everything_but_the_host_and_port() {
    let proxy = CutProxy::start("amqp://user:secret@localhost:5672/%2f?heartbeat=5").await;

    assert!(proxy.addr().ip().is_loopback());
    assert_eq!(
        proxy.url(),
        format!("amqp://user:secret@{}/%2f?heartbeat=5", proxy.addr())
    );
    let without_port = CutProxy::start("amqp://127.0.0.1").await;
    assert_eq!(
        without_port.url(),
        format!("amqp://{}", without_port.addr())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutting_the_proxy_breaks_the_client_connection() {
    let Some(url) = amqp_url() else { return };
    let objects = BrokerObjects::new(&url);
    let queue = objects.queue("t.proxy");
    let proxy = CutProxy::start(&url).await;

    let connection = connect(&proxy.url(), "ferry-test-proxy").await;
    let channel = confirming_channel(&connection).await;
    declare_queue(&channel, &queue, false).await;
    assert!(
        publish(&channel, &queue, b"before the cut", false)
            .await
            .is_ack()
    );
    assert_eq!(drain(&channel, &queue).await, [b"before the cut".to_vec()]);
    assert_eq!((proxy.connections_made(), proxy.open_connections()), (1, 1));

    proxy.cut().await;
    assert_eq!(proxy.open_connections(), 0);
    eventually("the client to see its connection fail", PATIENCE, || {
        !connection.status().connected()
    })
    .await;
    let refused = channel
        .basic_publish(
            "".into(),
            queue.as_str().into(),
            BasicPublishOptions::default(),
            b"after the cut",
            BasicProperties::default(),
        )
        .await;
    assert!(refused.is_err(), "a publish on a cut connection succeeded");

    // The cut is over once it returns: the next connection goes through.
    let again = connect(&proxy.url(), "ferry-test-proxy-again").await;
    assert!(queue_exists(&again, &queue).await);
    assert_eq!(proxy.connections_made(), 2);
    hang_up(again).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_proxy_turns_clients_away_until_it_stops() {
    let Some(url) = amqp_url() else { return };
    let proxy = CutProxy::start(&url).await;

    proxy.refuse(true);
    let attempt = tokio::time::timeout(
        PATIENCE,
        Connection::connect(&proxy.url(), ConnectionProperties::default()),
    )
    .await
    .expect("a refused connect ends");
    assert!(attempt.is_err(), "connected through a refusing proxy");
    assert_eq!(
        (proxy.connections_refused(), proxy.connections_made()),
        (1, 0)
    );

    proxy.refuse(false);
    let connection = connect(&proxy.url(), "ferry-test-refuse").await;
    assert_eq!(proxy.connections_made(), 1);
    hang_up(connection).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_objects_are_deleted_even_when_the_test_panics() {
    let Some(url) = amqp_url() else { return };

    // A "test" on a thread of its own declares a queue and an exchange, then panics.
    let (names, declared) = std::sync::mpsc::channel();
    let test_url = url.clone();
    let failed = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let objects = BrokerObjects::new(&test_url);
            let queue = objects.queue("t.guard");
            let exchange = objects.exchange("t.guard.x");
            let connection = connect(&test_url, "ferry-test-guard").await;
            let channel = connection.create_channel().await.unwrap();
            declare_queue(&channel, &queue, true).await;
            channel
                .exchange_declare(
                    exchange.as_str().into(),
                    lapin::ExchangeKind::Fanout,
                    ExchangeDeclareOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
            names.send((queue, exchange)).unwrap();
            panic!("deliberate panic: the guard must still clean up");
        })
    })
    .join();
    assert!(failed.is_err());

    let (queue, exchange) = declared.recv().unwrap();
    let connection = connect(&url, "ferry-test-guard-check").await;
    assert!(
        !queue_exists(&connection, &queue).await,
        "{queue} left behind"
    );
    assert!(
        !exchange_exists(&connection, &exchange).await,
        "{exchange} left behind"
    );
    hang_up(connection).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_private_nodes_run_beside_the_shared_one_and_leave_nothing_behind() {
    let (first, second) = tokio::join!(PrivateBroker::launch(), PrivateBroker::launch());
    let (Some(first), Some(second)) = (first, second) else {
        return;
    };
    eprintln!(
        "private nodes booted in {:?} and {:?} (side by side)",
        first.started_in(),
        second.started_in()
    );
    assert_ne!(first.url(), second.url());
    assert_ne!(first.node_name(), second.node_name());

    for broker in [&first, &second] {
        let connection = connect(&broker.url(), "ferry-test-side-by-side").await;
        let queue = unique_name("t.side");
        let channel = confirming_channel(&connection).await;
        declare_queue(&channel, &queue, false).await;
        assert!(publish(&channel, &queue, b"hello", false).await.is_ack());
        assert_eq!(broker.queue_messages(&queue).await, Some(1));
        hang_up(connection).await;
    }
    // The shared broker is only looked at when named: these tests need no more than
    // RabbitMQ installed.
    if let Ok(url) = std::env::var(AMQP_URL_VARIABLE) {
        let shared = connect(&url, "ferry-test-shared-still-there").await;
        hang_up(shared).await;
    }

    let node = first.node_name().to_owned();
    let folder = first.folder().to_owned();
    assert!(
        !processes_mentioning(&node).is_empty(),
        "the check finds {node}"
    );
    let stopping = std::time::Instant::now();
    drop(first);
    eprintln!(
        "private node stopped and removed in {:?}",
        stopping.elapsed()
    );
    assert!(!folder.exists(), "{} left behind", folder.display());
    let survivors = processes_mentioning(&node);
    assert!(
        survivors.is_empty(),
        "processes of {node} survive: {survivors:?}"
    );
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_alarm_blocks_publishers_until_it_clears() {
    let Some(broker) = PrivateBroker::launch().await else {
        return;
    };
    eprintln!("private node booted in {:?}", broker.started_in());
    let connection = connect(&broker.url(), "ferry-test-alarm").await;
    let channel = confirming_channel(&connection).await;
    let queue = unique_name("t.alarm");
    declare_queue(&channel, &queue, false).await;
    assert!(publish(&channel, &queue, b"before", false).await.is_ack());

    broker.raise_memory_alarm().await;
    // RabbitMQ blocks a connection when it next publishes, so publish to get blocked.
    let publisher = channel.clone();
    let target = queue.clone();
    let mut pending =
        tokio::spawn(async move { publish(&publisher, &target, b"during", false).await });
    eventually("connection.blocked", PATIENCE, || {
        connection.status().blocked()
    })
    .await;
    let early = tokio::time::timeout(Duration::from_millis(500), &mut pending).await;
    assert!(early.is_err(), "a publish was confirmed during the alarm");
    assert_eq!(broker.queue_messages(&queue).await, Some(1));

    broker.clear_memory_alarm().await;
    eventually("connection.unblocked", PATIENCE, || {
        !connection.status().blocked()
    })
    .await;
    let confirmation = tokio::time::timeout(PATIENCE, pending)
        .await
        .expect("the held publish is confirmed after the alarm")
        .unwrap();
    assert!(confirmation.is_ack());
    assert_eq!(
        drain(&channel, &queue).await,
        [b"before".to_vec(), b"during".to_vec()]
    );
    hang_up(connection).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_persistent_messages_of_a_durable_queue() {
    let Some(mut broker) = PrivateBroker::launch().await else {
        return;
    };
    let connection = connect(&broker.url(), "ferry-test-restart").await;
    let channel = confirming_channel(&connection).await;
    let queue = unique_name("t.durable");
    declare_queue(&channel, &queue, true).await;
    for body in [b"one".as_slice(), b"two", b"three"] {
        assert!(publish(&channel, &queue, body, true).await.is_ack());
    }
    assert!(
        publish(&channel, &queue, b"transient", false)
            .await
            .is_ack()
    );

    broker.stop().await;
    eventually("the client to see the broker go", PATIENCE, || {
        !connection.status().connected()
    })
    .await;
    broker.start().await;
    eprintln!("private node restarted in {:?}", broker.started_in());

    let connection = connect(&broker.url(), "ferry-test-restart-again").await;
    let channel = connection.create_channel().await.unwrap();
    assert_eq!(
        drain(&channel, &queue).await,
        [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
    hang_up(connection).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_closed_by_name_and_queues_deleted_behind_the_clients_back() {
    let Some(broker) = PrivateBroker::launch().await else {
        return;
    };
    let doomed = connect(&broker.url(), "ferry-test-doomed").await;
    let spared = connect(&broker.url(), "ferry-test-spared").await;

    assert_eq!(broker.close_connections_named("ferry-test-doomed").await, 1);
    eventually("the named connection to be closed", PATIENCE, || {
        !doomed.status().connected()
    })
    .await;
    assert!(spared.status().connected());
    assert_eq!(broker.close_connections_named("ferry-test-nobody").await, 0);

    let channel = spared.create_channel().await.unwrap();
    let queue = unique_name("t.deleted");
    declare_queue(&channel, &queue, true).await;
    assert_eq!(broker.queue_messages(&queue).await, Some(0));
    broker.delete_queue(&queue).await;
    assert_eq!(broker.queue_messages(&queue).await, None);
    assert!(!queue_exists(&spared, &queue).await);
    hang_up(spared).await;
}
