//! HL7 v2 structure for Ferry.

pub mod path;
mod value;

pub use path::{FieldPath, PathError};
pub use value::FieldValue;
