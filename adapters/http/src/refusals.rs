//! Rate-limited warnings about refused bodies (too large, too slow), so a sender that
//! retries a huge body in a loop leaves a readable trail, not a flood, in the event log.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferry_adapter::Intake;

/// At most one warning per this interval; the ones in between are counted.
const INTERVAL: Duration = Duration::from_secs(10);

/// The warnings of one service.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    held_back: u64,
}

impl Refusals {
    /// Records `text` as a warning unless one was recorded within the interval; the next
    /// warning recorded says how many were held back.
    pub(crate) fn warn(&self, intake: &dyn Intake, text: String) {
        let now = Instant::now();
        let held_back = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if state
                .last
                .is_some_and(|last| now.duration_since(last) < INTERVAL)
            {
                state.held_back += 1;
                return;
            }
            state.last = Some(now);
            std::mem::take(&mut state.held_back)
        };
        if held_back == 0 {
            intake.warn(text);
        } else {
            intake.warn(format!(
                "{text} (and {held_back} more refused since the last note)"
            ));
        }
    }
}
