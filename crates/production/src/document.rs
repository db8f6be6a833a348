//! Reading one part of the production file into a Rust type, with exact positions.
//!
//! Owns [`Document`]: the source text plus the environment values it names, shared (behind
//! an `Arc`) by the loader and every [`crate::Item`]. [`Document::read`] deserializes the
//! node at a path (`items[3].settings`) by running serde-saphyr over the whole original
//! text and skipping everything else, so each part is read on its own (one bad item does
//! not hide another's error) and every error and [`serde_saphyr::Spanned`] value carries
//! its position in the original file.
//!
//! Reading the whole file once per item would make loading quadratic in the number of
//! items (600 items took seconds), so an item written in block style is read from a
//! shortened copy of the file: as many empty lines as come before the item, spaces up to
//! its column, then the item itself, up to where the next one starts. The item is the
//! document's root there, and every line and column is still that of the original file
//! (byte offsets are not, so positions are always turned into offsets from line and
//! column). An item that uses an alias, or sits in a flow collection, is read from the
//! whole file. An item's `settings:` mapping, read once per key, gets a shortened copy of
//! its own in the same way (see [`crate::settings`]).
//!
//! Every read uses the same YAML rules: YAML 1.2 booleans only, no legacy octal (so a
//! leading zero in a number is an error), `<<` as an ordinary key, `${NAME}` from
//! [`Variables`]. Repeated keys are let through (the last wins) because the outline has
//! already reported them all; refusing them here would stop every later read as well.
//! serde-saphyr's safety budget applies, except its alias-to-anchor ratio: one anchor
//! reused by a hundred items is ordinary, and an alias bomb still meets the node limit,
//! which counts every node an alias replays.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_saphyr::{Budget, DuplicateKeyPolicy, MergeKeyPolicy, Options, PropertySyntax};

use crate::diagnostic::{Diagnostic, Location, Source};
use crate::interpolation::Variables;
use crate::yaml_error;

/// A production file and the environment values it refers to.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) source: Arc<Source>,
    variables: Variables,
}

/// Where one item of `items:` can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemText {
    /// Its position in `items:`.
    pub(crate) index: usize,
    /// The byte range that holds the item and nothing else, when it has one: from the
    /// item's first character to the end of its last line.
    pub(crate) alone: Option<(usize, usize)>,
}

/// One step of a path from the top of the document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl Document {
    pub(crate) fn new(source: Arc<Source>, variables: Variables) -> Document {
        Document { source, variables }
    }

    /// Deserializes the node at `path`; `Ok(None)` when the path leads nowhere.
    ///
    /// # Errors
    ///
    /// serde-saphyr's error, with its position in the original file.
    pub(crate) fn read<T: DeserializeOwned>(
        &self,
        path: &[Step<'_>],
    ) -> Result<Option<T>, serde_saphyr::Error> {
        let seed = At::<T>::new(path);
        serde_saphyr::with_deserializer_from_str_with_options(
            &self.source.text,
            self.options(),
            |deserializer| seed.deserialize(deserializer),
        )
    }

    /// Deserializes the node at `path` inside an item (the item itself for an empty path).
    ///
    /// # Errors
    ///
    /// serde-saphyr's error, with its position in the original file.
    pub(crate) fn read_item<T: DeserializeOwned>(
        &self,
        item: ItemText,
        path: &[Step<'_>],
    ) -> Result<Option<T>, serde_saphyr::Error> {
        let Some(text) = item.alone.and_then(|(start, end)| self.alone(start, end)) else {
            let mut whole = vec![Step::Key("items"), Step::Index(item.index)];
            whole.extend_from_slice(path);
            return self.read(&whole);
        };
        self.read_copy(&text, path)
    }

    /// Deserializes the node at `path` in `text`, a copy made by [`Document::alone`].
    ///
    /// # Errors
    ///
    /// serde-saphyr's error, with its position in the original file.
    pub(crate) fn read_copy<T: DeserializeOwned>(
        &self,
        text: &str,
        path: &[Step<'_>],
    ) -> Result<Option<T>, serde_saphyr::Error> {
        let seed = At::<T>::new(path);
        serde_saphyr::with_deserializer_from_str_with_options(text, self.options(), |de| {
            seed.deserialize(de)
        })
    }

    /// The text from `start` to `end`, at the same lines and columns as in the file: a
    /// node that holds no alias can be read from it alone, as the document's root.
    pub(crate) fn alone(&self, start: usize, end: usize) -> Option<String> {
        let text = &self.source.text;
        let before = text.get(..start)?;
        let item = text.get(start..end)?;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let lines = before[..line_start].matches('\n').count();
        let columns = before[line_start..].chars().count();

        let mut alone = String::with_capacity(lines + columns + item.len());
        alone.extend(std::iter::repeat_n('\n', lines));
        alone.extend(std::iter::repeat_n(' ', columns));
        alone.push_str(item);
        Some(alone)
    }

    /// Deserializes `T` from an empty mapping, for an item written without `settings:`;
    /// errors (a missing required key) point at `at`.
    ///
    /// # Errors
    ///
    /// The diagnostic for what `T` misses.
    pub(crate) fn read_empty<T: DeserializeOwned>(&self, at: Location) -> Result<T, Diagnostic> {
        serde_saphyr::from_str_with_options("{}", self.options()).map_err(|error| {
            let mut diagnostic = self.describe(&error);
            diagnostic.at = at;
            diagnostic
        })
    }

    /// The diagnostic for a read error.
    pub(crate) fn describe(&self, error: &serde_saphyr::Error) -> Diagnostic {
        yaml_error::describe(error, &self.source)
    }

    fn options(&self) -> Options {
        let mut options = Options::default();
        options.strict_booleans = true;
        options.legacy_octal_numbers = false;
        options.duplicate_keys = DuplicateKeyPolicy::LastWins;
        options.merge_keys = MergeKeyPolicy::AsOrdinary;
        options.with_snippet = false;
        options.crop_radius = 0;
        options.property_syntax = PropertySyntax::DockerCompose;
        let mut budget = Budget::default();
        budget.enforce_alias_anchor_ratio = false;
        options.budget = Some(budget);
        options.with_properties(self.variables.properties())
    }
}

/// Walks down `path` and deserializes what it finds there as `T`.
struct At<'p, T> {
    path: &'p [Step<'p>],
    target: PhantomData<fn() -> T>,
}

impl<T> Clone for At<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for At<'_, T> {}

impl<'p, T> At<'p, T> {
    fn new(path: &'p [Step<'p>]) -> At<'p, T> {
        At {
            path,
            target: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for At<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        match self.path.split_first() {
            None => T::deserialize(deserializer).map(Some),
            Some((Step::Key(key), rest)) => deserializer.deserialize_map(InMap {
                key,
                rest: At::new(rest),
            }),
            Some((Step::Index(index), rest)) => deserializer.deserialize_seq(InSeq {
                index: *index,
                rest: At::new(rest),
            }),
        }
    }
}

/// Finds one key in a mapping and skips the others.
struct InMap<'p, T> {
    key: &'p str,
    rest: At<'p, T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for InMap<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a mapping with `{}`", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        // A repeated key (already reported) reads as its last value, as the outline does.
        let mut found = None;
        while let Some(KeyText(key)) = map.next_key()? {
            if key.as_deref() == Some(self.key) {
                found = map.next_value_seed(self.rest)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Finds one element of a sequence and skips the others.
struct InSeq<'p, T> {
    index: usize,
    rest: At<'p, T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for InSeq<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list with at least {} elements", self.index + 1)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        for _ in 0..self.index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(None);
            }
        }
        let found = seq.next_element_seed(self.rest)?.flatten();
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(found)
    }
}

/// A mapping key as text; `None` for a list or mapping used as a key.
struct KeyText(Option<String>);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<KeyText, D::Error> {
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = KeyText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<KeyText, E> {
        Ok(KeyText(Some(value.to_owned())))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<KeyText, E> {
        Ok(KeyText(Some(value.to_string())))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<KeyText, E> {
        Ok(KeyText(Some(value.to_string())))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<KeyText, E> {
        Ok(KeyText(Some(value.to_string())))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<KeyText, E> {
        Ok(KeyText(Some(value.to_string())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
        Ok(KeyText(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<KeyText, E> {
        Ok(KeyText(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyText, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(KeyText(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyText, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(KeyText(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_saphyr::Spanned;

    fn document(text: &str) -> Document {
        let source = Arc::new(Source::new("t.yaml", text));
        Document::new(source, Variables::default())
    }

    #[test]
    fn reads_one_node_at_its_original_position() {
        let document = document("a: 1\nitems:\n  - x: bad\n  - x: 7\n");
        let path = [Step::Key("items"), Step::Index(1), Step::Key("x")];
        let value: Spanned<u32> = document.read(&path).unwrap().unwrap();
        assert_eq!(value.value, 7);
        assert_eq!(Location::from(value.referenced), Location::new(4, 8));
    }

    #[test]
    fn a_missing_path_reads_as_none() {
        let document = document("a: 1\n");
        let missing: Option<u32> = document.read(&[Step::Key("b")]).unwrap();
        assert!(missing.is_none());
        let past_end: Option<u32> = document
            .read(&[Step::Key("a"), Step::Index(3)])
            .unwrap_or(None);
        assert!(past_end.is_none());
    }

    #[test]
    fn errors_point_into_the_original_file() {
        let document = document("items:\n  - flag: yes\n");
        let path = [Step::Key("items"), Step::Index(0), Step::Key("flag")];
        let error = document.read::<bool>(&path).unwrap_err();
        let diagnostic = document.describe(&error);
        assert_eq!(diagnostic.at, Location::new(2, 11));
        assert_eq!(diagnostic.message, "expected true or false, found `yes`");
    }
}
