//! The Prometheus recorder behind `/metrics`. The `metrics` facade has one recorder per
//! process, so it is installed once and shared by every production the process runs
//! (tests run several); series are labelled by item, never by message.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Histogram buckets for latencies, in seconds: 100 µs to 60 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// Buckets for the store's group-commit batch sizes.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus handle, installing the recorder on first use. `None` when
/// another recorder was installed first (then `/metrics` says so).
pub fn prometheus() -> Option<PrometheusHandle> {
    RECORDER.get_or_init(install).clone()
}

fn install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("ferry_store_flush_batch_size".to_owned()),
                BATCH_BUCKETS,
            )
        });
    let builder = match builder {
        Ok(builder) => builder,
        Err(error) => {
            tracing::error!(%error, "cannot configure the metrics buckets");
            return None;
        }
    };
    match builder.install_recorder() {
        Ok(handle) => {
            describe();
            Some(handle)
        }
        Err(error) => {
            tracing::error!(%error, "cannot install the metrics recorder");
            None
        }
    }
}

/// Help lines for every series Ferry writes.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

    describe_counter!("ferry_messages_in_total", "Messages a service stored");
    describe_counter!(
        "ferry_messages_out_total",
        "Messages a process or operation completed"
    );
    describe_counter!(
        "ferry_messages_discarded_total",
        "Messages a rule or person discarded"
    );
    describe_counter!(
        "ferry_message_errors_total",
        "Rejected inputs, failed and suspended messages, and failed delivery attempts"
    );
    describe_gauge!("ferry_queue_depth", "Messages waiting in the item's queue");
    describe_gauge!(
        "ferry_queue_oldest_age_seconds",
        Unit::Seconds,
        "Age of the message at the head of the item's queue"
    );
    describe_gauge!("ferry_item_enabled", "1 when the item is enabled");
    describe_gauge!(
        "ferry_item_in_trouble",
        "1 when the item's adapter cannot work (not started, consumer cancelled, blocked) or \
         its current message is being retried (delivery failing)"
    );
    describe_histogram!(
        "ferry_processing_seconds",
        Unit::Seconds,
        "From taking a message off the queue to writing how it ended"
    );
    describe_histogram!(
        "ferry_ack_seconds",
        Unit::Seconds,
        "From a service handing messages over to their being durable (when it may ACK)"
    );
    describe_histogram!(
        "ferry_store_flush_seconds",
        Unit::Seconds,
        "One store sync round"
    );
    describe_histogram!(
        "ferry_store_flush_batch_size",
        "Writers served by one sync round"
    );
}
