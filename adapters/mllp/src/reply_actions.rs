//! What an outbound MLLP operation does with each kind of reply: the `reply_actions`
//! setting.
//!
//! The default follows HL7 table 0008: an accept (AA, CA) completes the message; an error
//! (AE, CE) suspends it for a person, since the receiver looked at it and found fault; a
//! reject (AR, CR) is an error without automatic resend, since an unchanged resend will be
//! rejected again; no reply in time, or a reply that is not a usable ACK, is retried by
//! the item's retry policy. A production changes any of these, e.g. `AE: retry`.

use std::fmt;

use ferry_adapter::{ActionKey, ActionSetting, ActionTable};
use ferry_hl7::AckCode;

/// The shared action words, under the name this adapter's code reads best with.
pub use ferry_adapter::Action as ReplyAction;

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
}

impl ActionKey for ReplyKind {
    const KEYS: &'static [Self] = &Self::ALL;

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

/// The action for every reply kind.
pub type ReplyActions = ActionTable<ReplyKind>;

/// How `reply_actions` names its keys, for its problems.
pub(crate) const REPLY_ACTIONS: ActionSetting<'static> = ActionSetting {
    name: "reply_actions",
    key: "reply kind",
    key_hint: "kinds are AA, AE, AR, CA, CE, CR, timeout and invalid",
};
