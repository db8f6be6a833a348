//! Test support: any YAML node with the position of every node in it, to compare two
//! ways of reading the same part of a file (values, positions and errors alike).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::Location;

/// Any YAML node with the position of every node in it.
#[derive(Debug, PartialEq)]
pub(crate) struct Positioned(Location, Tree);

#[derive(Debug, PartialEq)]
enum Tree {
    Scalar(String),
    Seq(Vec<Positioned>),
    Map(Vec<(String, Positioned)>),
}

impl<'de> Deserialize<'de> for Positioned {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Tree>::deserialize(deserializer)?;
        // An empty block scalar (`note: |` and nothing) is placed where the scanner
        // finds its end: the next item's line in the file, the end of the text when
        // the item is read alone. Only its position may differ.
        let at = match &spanned.value {
            Tree::Scalar(text) if text.is_empty() => Location::FILE,
            _ => spanned.referenced.into(),
        };
        Ok(Positioned(at, spanned.value))
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any node")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Tree, E> {
        Ok(Tree::Scalar(value.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Tree, E> {
        Ok(Tree::Scalar(value.to_string()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Tree, E> {
        Ok(Tree::Scalar(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Tree, E> {
        Ok(Tree::Scalar(value.to_string()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Tree, E> {
        Ok(Tree::Scalar(value.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Scalar("~".to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut elements = Vec::new();
        while let Some(element) = seq.next_element()? {
            elements.push(element);
        }
        Ok(Tree::Seq(elements))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Positioned>()? {
            entries.push(entry);
        }
        Ok(Tree::Map(entries))
    }
}
