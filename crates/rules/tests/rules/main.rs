//! The rule language as a production author meets it: operators, errors with their exact
//! positions, the HL7 field cases, and properties that hold for any text.

mod bodies;
mod bodies_properties;
mod docs;
mod errors;
mod field_cases;
mod operators;
mod properties;
mod support;
