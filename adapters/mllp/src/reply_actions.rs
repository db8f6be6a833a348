//! What an outbound MLLP operation does with each kind of reply: the `reply_actions`
//! setting.
//!
//! The default follows HL7 table 0008: an accept (AA, CA) completes the message; an error
//! (AE, CE) suspends it for a person, since the receiver looked at it and found fault; a
//! reject (AR, CR) is an error without automatic resend, since an unchanged resend will be
//! rejected again; no reply in time, or a reply that is not a usable ACK, is retried by
//! the item's retry policy. A production changes any of these, e.g. `AE: retry`.

use std::collections::BTreeMap;
use std::fmt;

use ferry_adapter::setting_problem;
use ferry_hl7::AckCode;
use ferry_production::{Setting, SettingsReader};

/// A kind of reply, or the lack of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReplyKind {
    /// An ACK with this MSA-1 code.
    Code(AckCode),
    /// No ACK for the message within the response timeout.
    Timeout,
    /// A reply that is not an HL7 ACK: text, an HL7 message without MSA, a bad MSA-1.
    Invalid,
}

impl ReplyKind {
    /// Every kind, in the order settings show them.
    pub const ALL: [ReplyKind; 8] = [
        ReplyKind::Code(AckCode::AA),
        ReplyKind::Code(AckCode::AE),
        ReplyKind::Code(AckCode::AR),
        ReplyKind::Code(AckCode::CA),
        ReplyKind::Code(AckCode::CE),
        ReplyKind::Code(AckCode::CR),
        ReplyKind::Timeout,
        ReplyKind::Invalid,
    ];

    fn name(self) -> &'static str {
        match self {
            ReplyKind::Code(code) => code.as_str(),
            ReplyKind::Timeout => "timeout",
            ReplyKind::Invalid => "invalid",
        }
    }

    fn default_action(self) -> ReplyAction {
        match self {
            ReplyKind::Code(code) if code.is_accept() => ReplyAction::Complete,
            ReplyKind::Code(code) if code.is_error() => ReplyAction::Suspend,
            ReplyKind::Code(_) => ReplyAction::Error,
            ReplyKind::Timeout | ReplyKind::Invalid => ReplyAction::Retry,
        }
    }
}

impl fmt::Display for ReplyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to do with a message after a reply of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyAction {
    /// The message is delivered.
    Complete,
    /// Try again per the item's retry policy.
    Retry,
    /// Hold the message for a person.
    Suspend,
    /// End the message in Error.
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

/// The action for every reply kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyActions {
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
    pub fn action(&self, kind: ReplyKind) -> ReplyAction {
        self.actions
            .get(&kind)
            .copied()
            .unwrap_or_else(|| kind.default_action())
    }

    /// The defaults with the production's `reply_actions` mapping applied; unknown kinds
    /// and actions are collected as problems.
    pub(crate) fn read(
        reader: &mut SettingsReader<'_>,
        written: Option<Setting<BTreeMap<String, Setting<String>>>>,
    ) -> ReplyActions {
        let mut actions = ReplyActions::default();
        let Some(written) = written else {
            return actions;
        };
        for (name, action) in &written.value {
            let kind = ReplyKind::ALL.into_iter().find(|kind| kind.name() == name);
            let Some(kind) = kind else {
                let message = format!("unknown reply kind `{name}` in `reply_actions`");
                let hint = "kinds are AA, AE, AR, CA, CE, CR, timeout and invalid";
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
