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

use std::collections::BTreeMap;
use std::fmt;

use ferry_adapter::setting_problem;
use ferry_production::{Setting, SettingsReader};

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

/// What to do with a message after such an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyAction {
    /// Count it as delivered.
    Complete,
    /// Try again per the item's retry policy.
    Retry,
    /// Hold it for a person.
    Suspend,
    /// End it in Error.
    Error,
}

impl ReplyAction {
    fn parse(text: &str) -> Option<ReplyAction> {
        match text {
            "complete" => Some(ReplyAction::Complete),
            "retry" => Some(ReplyAction::Retry),
            "suspend" => Some(ReplyAction::Suspend),
            "error" => Some(ReplyAction::Error),
            _ => None,
        }
    }
}

/// The action for every kind of answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplyActions {
    actions: BTreeMap<ReplyKind, ReplyAction>,
}

impl Default for ReplyActions {
    fn default() -> Self {
        let actions = ReplyKind::ALL
            .into_iter()
            .map(|kind| (kind, kind.default_action()))
            .collect();
        ReplyActions { actions }
    }
}

impl ReplyActions {
    /// The action for `kind`.
    pub(crate) fn action(&self, kind: ReplyKind) -> ReplyAction {
        self.actions
            .get(&kind)
            .copied()
            .unwrap_or_else(|| kind.default_action())
    }

    /// The defaults with the production's mapping applied; unknown kinds and actions are
    /// collected as problems.
    pub(crate) fn read(
        reader: &mut SettingsReader<'_>,
        written: Option<Setting<BTreeMap<String, Setting<String>>>>,
    ) -> ReplyActions {
        let mut actions = ReplyActions::default();
        let Some(written) = written else {
            return actions;
        };
        for (name, action) in &written.value {
            let Some(kind) = ReplyKind::ALL.into_iter().find(|kind| kind.name() == name) else {
                let message = format!("unknown reply kind `{name}` in `reply_actions`");
                let hint = "kinds are returned, nacked and timeout";
                setting_problem(reader, written.at, message, Some(hint));
                continue;
            };
            match ReplyAction::parse(&action.value) {
                Some(parsed) => {
                    actions.actions.insert(kind, parsed);
                }
                None => {
                    let message = format!("unknown action '{}' for {name}", action.value);
                    let hint = "one of complete, retry, suspend, error";
                    setting_problem(reader, action.at, message, Some(hint));
                }
            }
        }
        actions
    }
}

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
