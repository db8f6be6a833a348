//! What a field path finds in a message.

use std::borrow::Cow;

/// The value at a field path, telling HL7's three states apart.
///
/// HL7 v2 distinguishes a value that is not present ("no information, keep the old
/// value") from the null `""` ("delete the old value"), Ch.2 §2.5.3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// The segment, field, repetition or component is absent, or present but empty (or made
    /// only of separators, such as `^^`).
    Missing,
    /// The HL7 null: the field holds exactly `""`.
    Null,
    /// A non-empty value, with escape sequences decoded.
    Text(Cow<'a, str>),
}

impl FieldValue<'_> {
    /// The text, if there is any; `None` for [`FieldValue::Missing`] and
    /// [`FieldValue::Null`].
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(text) => Some(text),
            FieldValue::Missing | FieldValue::Null => None,
        }
    }

    /// An owned copy, independent of the message it was read from.
    pub fn into_owned(self) -> FieldValue<'static> {
        match self {
            FieldValue::Missing => FieldValue::Missing,
            FieldValue::Null => FieldValue::Null,
            FieldValue::Text(text) => FieldValue::Text(Cow::Owned(text.into_owned())),
        }
    }
}
