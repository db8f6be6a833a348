//! What an AMQP operation does when the broker did not simply confirm a publish: the
//! `reply_actions` setting.
//!
//! The defaults follow what each answer means for a resend. A **returned** message
//! (basic.return, e.g. 312 NO_ROUTE: no queue is bound for its routing key) is an error
//! without resend, since an unchanged resend routes the same way. A **nacked** message
//! (the broker could not take it, e.g. a full queue with `x-overflow: reject-publish`) and
//! a **timeout** (no confirm within `confirm_timeout`) are retried by the item's retry
//! policy; the resend carries the same message id, so a copy the broker did take can be
//! recognised downstream.

use std::fmt;

use ferry_adapter::{ActionKey, ActionSetting, ActionTable};

/// The shared action words, under the name this adapter's code reads best with.
pub(crate) use ferry_adapter::Action as ReplyAction;

/// An answer other than a plain confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ReplyKind {
    /// basic.return before the confirm (mandatory publish that no queue took).
    Returned,
    /// basic.nack.
    Nacked,
    /// No confirm within the confirm timeout.
    Timeout,
}

impl ReplyKind {
    const ALL: [ReplyKind; 3] = [ReplyKind::Returned, ReplyKind::Nacked, ReplyKind::Timeout];
}

impl ActionKey for ReplyKind {
    const KEYS: &'static [Self] = &Self::ALL;

    fn name(self) -> &'static str {
        match self {
            ReplyKind::Returned => "returned",
            ReplyKind::Nacked => "nacked",
            ReplyKind::Timeout => "timeout",
        }
    }

    fn default_action(self) -> ReplyAction {
        match self {
            ReplyKind::Returned => ReplyAction::Error,
            ReplyKind::Nacked | ReplyKind::Timeout => ReplyAction::Retry,
        }
    }
}

impl fmt::Display for ReplyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The action for every reply kind.
pub(crate) type ReplyActions = ActionTable<ReplyKind>;

/// How `reply_actions` names its keys, for its problems.
pub(crate) const REPLY_ACTIONS: ActionSetting<'static> = ActionSetting {
    name: "reply_actions",
    key: "reply kind",
    key_hint: "kinds are returned, nacked and timeout",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_never_resend_a_returned_message() {
        let actions = ReplyActions::default();
        assert_eq!(actions.action(ReplyKind::Returned), ReplyAction::Error);
        assert_eq!(actions.action(ReplyKind::Nacked), ReplyAction::Retry);
        assert_eq!(actions.action(ReplyKind::Timeout), ReplyAction::Retry);
    }
}
