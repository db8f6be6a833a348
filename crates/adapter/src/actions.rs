//! What an operation does with a message after an answer: complete, retry, suspend or
//! error, and the reading of the `{answer: action}` mappings that choose it
//! (`reply_actions` of MLLP and AMQP, `status_actions` of HTTP).
//!
//! This module owns the action words, how a mapping is checked, what each action makes of
//! a delivery, and [`ActionTable`], the lookup for protocols whose answers are a fixed
//! list. Which answers exist and their defaults stay with each protocol's adapter (an
//! [`ActionKey`]); HTTP, whose statuses come in classes, keeps its own lookup. Every
//! entry is checked on its own, so one `ferry validate` run reports every unknown answer
//! and every unknown action.

use std::collections::BTreeMap;

use ferry_message::NewBody;
use ferry_production::{Setting, SettingsReader};

use crate::{Delivered, DeliveryError, setting_problem};

/// What to do with a message after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The message is delivered.
    Complete,
    /// Try again per the item's retry policy.
    Retry,
    /// Hold the message for a person.
    Suspend,
    /// End the message in Error.
    Error,
}

impl Action {
    /// The action a production names: `complete`, `retry`, `suspend` or `error`.
    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "complete" => Some(Action::Complete),
            "retry" => Some(Action::Retry),
            "suspend" => Some(Action::Suspend),
            "error" => Some(Action::Error),
            _ => None,
        }
    }

    /// The delivery result this action makes of an answer: `reason` is the note of a
    /// completed delivery or the reason of a failed one, and `response` is kept either way.
    ///
    /// # Errors
    ///
    /// Every action but [`Action::Complete`], as the matching [`DeliveryError`] class.
    pub fn outcome(
        self,
        reason: String,
        response: Option<NewBody>,
    ) -> Result<Delivered, DeliveryError> {
        let error = match self {
            Action::Complete => {
                return Ok(Delivered {
                    response,
                    note: Some(reason),
                });
            }
            Action::Retry => DeliveryError::retry(reason),
            Action::Suspend => DeliveryError::suspend(reason),
            Action::Error => DeliveryError::fail(reason),
        };
        Err(error.with_response(response))
    }
}

/// A mapping setting from answers to actions, as a production writes it.
pub type WrittenActions = Setting<BTreeMap<String, Setting<String>>>;

/// How an adapter's action mapping names its answers, for the problems it reports.
#[derive(Debug, Clone, Copy)]
pub struct ActionSetting<'a> {
    /// The setting, e.g. `reply_actions`.
    pub name: &'a str,
    /// What its keys are, e.g. `reply kind`.
    pub key: &'a str,
    /// The hint for an unknown key, listing the keys there are.
    pub key_hint: &'a str,
}

impl ActionSetting<'_> {
    /// The entries of `written` whose key `key_of` knows and whose action is a known word,
    /// in the mapping's order; every other entry is collected as a problem.
    pub fn read<K>(
        &self,
        reader: &mut SettingsReader<'_>,
        written: Option<WrittenActions>,
        key_of: impl Fn(&str) -> Option<K>,
    ) -> Vec<(K, Action)> {
        let Some(written) = written else {
            return Vec::new();
        };
        let mut entries = Vec::new();
        for (name, action) in &written.value {
            let key = key_of(name);
            if key.is_none() {
                let message = format!("unknown {} `{name}` in `{}`", self.key, self.name);
                setting_problem(reader, written.at, message, Some(self.key_hint));
            }
            let parsed = Action::parse(&action.value);
            if parsed.is_none() {
                let message = format!("unknown action '{}' for {name}", action.value);
                let hint = "one of complete, retry, suspend, error";
                setting_problem(reader, action.at, message, Some(hint));
            }
            if let (Some(key), Some(parsed)) = (key, parsed) {
                entries.push((key, parsed));
            }
        }
        entries
    }
}

/// An answer an action mapping names: one of a protocol's kinds of reply, with its default.
pub trait ActionKey: Copy + Ord + 'static {
    /// Every answer, in the order settings show them.
    const KEYS: &'static [Self];

    /// The name a production writes for it.
    fn name(self) -> &'static str;

    /// The action when the production names none.
    fn default_action(self) -> Action;
}

/// The action for every answer of a protocol: its defaults, with a production's mapping
/// applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionTable<K> {
    actions: BTreeMap<K, Action>,
}

impl<K: ActionKey> Default for ActionTable<K> {
    fn default() -> Self {
        let actions = K::KEYS
            .iter()
            .map(|key| (*key, key.default_action()))
            .collect();
        ActionTable { actions }
    }
}

impl<K: ActionKey> ActionTable<K> {
    /// The action for `key`.
    pub fn action(&self, key: K) -> Action {
        self.actions
            .get(&key)
            .copied()
            .unwrap_or_else(|| key.default_action())
    }

    /// The defaults with the production's mapping applied; unknown answers and actions
    /// are collected as problems.
    pub fn read(
        reader: &mut SettingsReader<'_>,
        written: Option<WrittenActions>,
        setting: &ActionSetting<'_>,
    ) -> Self {
        let key_of = |name: &str| K::KEYS.iter().copied().find(|key| key.name() == name);
        let mut table = Self::default();
        table.actions.extend(setting.read(reader, written, key_of));
        table
    }
}

#[cfg(test)]
mod tests {
    use crate::FailureClass;

    use super::*;

    #[test]
    fn every_word_names_one_action_and_each_action_its_class() {
        assert_eq!(Action::parse("complete"), Some(Action::Complete));
        assert_eq!(Action::parse("Retry"), None);
        let delivered = Action::Complete.outcome("sent".to_owned(), None).unwrap();
        assert_eq!(delivered.note.as_deref(), Some("sent"));
        for (action, class) in [
            (Action::Retry, FailureClass::Retry),
            (Action::Suspend, FailureClass::Suspend),
            (Action::Error, FailureClass::Fail),
        ] {
            let error = action.outcome("no".to_owned(), None).unwrap_err();
            assert_eq!(error.class, class, "{action:?}");
        }
    }
}
