//! Fault injection for crash tests (feature `test-hooks`, which only Ferry's own test
//! builds turn on; a release binary has none of this).

/// With `FERRY_TEST_ABORT_BEFORE_ACK` set to `1`, or to the message id of one of the
/// `stored` deliveries, aborts the process after their store flush and before their
/// basic.ack (field case B38, step 3).
#[cfg(feature = "test-hooks")]
pub(crate) fn abort_before_ack<'a>(stored: impl IntoIterator<Item = Option<&'a str>>) {
    let Ok(wanted) = std::env::var("FERRY_TEST_ABORT_BEFORE_ACK") else {
        return;
    };
    let matches = wanted == "1" || stored.into_iter().any(|id| id == Some(wanted.as_str()));
    if matches {
        std::process::abort();
    }
}

/// Without `test-hooks`: nothing.
#[cfg(not(feature = "test-hooks"))]
pub(crate) fn abort_before_ack<'a>(_stored: impl IntoIterator<Item = Option<&'a str>>) {}
