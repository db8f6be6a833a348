//! What an outbound HTTP operation does with each response status: the `status_actions`
//! setting.
//!
//! The defaults follow what a status promises (RFC 9110): 2xx completes the message;
//! 408 (the server timed out waiting), 429 (too many requests) and every 5xx are worth
//! another try, paced by the item's retry policy and the server's `Retry-After`; any
//! other status, 3xx and 4xx, ends the message in Error, since an unchanged resend will
//! get the same answer. A production overrides a single status (`409: complete`) or a
//! class (`4xx: suspend`). Lookup order: the production's exact status, the default for
//! 408 and 429, the production's class, the default class.

use std::collections::BTreeMap;

use ferry_adapter::{ActionSetting, WrittenActions};
use ferry_production::SettingsReader;

/// The shared action words, under the name this adapter's code reads best with.
pub(crate) use ferry_adapter::Action as StatusAction;

/// The action for every status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StatusActions {
    /// Exact statuses the production names.
    exact: BTreeMap<u16, StatusAction>,
    /// Classes the production names, by hundreds digit.
    classes: BTreeMap<u16, StatusAction>,
}

impl StatusActions {
    /// The action for `status`.
    pub(crate) fn action(&self, status: u16) -> StatusAction {
        if let Some(action) = self.exact.get(&status) {
            return *action;
        }
        if matches!(status, 408 | 429) {
            return StatusAction::Retry;
        }
        if let Some(action) = self.classes.get(&(status / 100)) {
            return *action;
        }
        match status / 100 {
            2 => StatusAction::Complete,
            5 => StatusAction::Retry,
            _ => StatusAction::Error,
        }
    }

    /// The defaults with the production's `status_actions` mapping applied; unknown
    /// statuses and actions are collected as problems.
    pub(crate) fn read(
        reader: &mut SettingsReader<'_>,
        written: Option<WrittenActions>,
    ) -> StatusActions {
        let setting = ActionSetting {
            name: "status_actions",
            key: "status",
            key_hint: "a status from 100 to 599 such as 409, or a class such as 4xx",
        };
        let mut actions = StatusActions::default();
        for (key, action) in setting.read(reader, written, status_key) {
            match key {
                Key::Exact(status) => actions.exact.insert(status, action),
                Key::Class(class) => actions.classes.insert(class, action),
            };
        }
        actions
    }
}

enum Key {
    Exact(u16),
    Class(u16),
}

fn status_key(name: &str) -> Option<Key> {
    let name = name.trim();
    if let Some(digit) = name.strip_suffix("xx").or_else(|| name.strip_suffix("XX")) {
        return match digit.parse::<u16>() {
            Ok(class @ 1..=5) if digit.len() == 1 => Some(Key::Class(class)),
            _ => None,
        };
    }
    match name.parse::<u16>() {
        Ok(status @ 100..=599) if name.len() == 3 => Some(Key::Exact(status)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_complete_retry_and_fail_by_class() {
        let actions = StatusActions::default();
        assert_eq!(actions.action(201), StatusAction::Complete);
        for status in [408, 429, 500, 503] {
            assert_eq!(actions.action(status), StatusAction::Retry, "{status}");
        }
        for status in [301, 400, 404, 409] {
            assert_eq!(actions.action(status), StatusAction::Error, "{status}");
        }
    }

    #[test]
    fn exact_statuses_beat_classes_and_408_429_keep_retrying() {
        let mut actions = StatusActions::default();
        actions.classes.insert(4, StatusAction::Suspend);
        actions.exact.insert(409, StatusAction::Complete);
        assert_eq!(actions.action(400), StatusAction::Suspend);
        assert_eq!(actions.action(409), StatusAction::Complete);
        assert_eq!(actions.action(429), StatusAction::Retry);
        actions.exact.insert(429, StatusAction::Error);
        assert_eq!(actions.action(429), StatusAction::Error);
    }

    #[test]
    fn keys_are_statuses_or_classes() {
        assert!(matches!(status_key("409"), Some(Key::Exact(409))));
        assert!(matches!(status_key("4xx"), Some(Key::Class(4))));
        for bad in ["6xx", "0xx", "42", "4000", "abc", "099"] {
            assert!(status_key(bad).is_none(), "{bad}");
        }
    }
}
