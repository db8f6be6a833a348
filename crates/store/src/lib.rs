//! Ferry's store.

mod api;
mod error;

pub use api::*;
pub use error::StoreError;
