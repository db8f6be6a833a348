//! Ferry productions: loading a production YAML file, `${NAME}` interpolation from the
//! environment, and complete validation with compiler-style errors.
//!
//! A production is checked entirely before anything starts. [`load`] (or [`parse`] for
//! text in memory) returns a [`Loaded`]: the [`Production`] when the file is a YAML
//! mapping, and every problem found as [`Diagnostics`], each printed as
//! `FILE:LINE:COL: message` with an optional `  hint: …` line, pointing at the offending
//! node of the original file.
//!
//! ```
//! use ferry_production::{parse, Source};
//!
//! let text = "production: demo\nitems:\n  - name: In\n    service: file\n    \
//!             targets: [Out]\n  - name: Out\n    operation: file\n    pool: 0\n";
//! let loaded = parse(Source::new("demo.yaml", text), &|_| None);
//! assert_eq!(
//!     loaded.diagnostics.to_string(),
//!     "demo.yaml:8:11: `pool` must be from 1 to 64, found 0\n  \
//!      hint: the number of workers; 1 keeps messages in strict order"
//! );
//! ```
//!
//! # Adapter settings
//!
//! Each item's `settings:` belongs to its adapter, which reads it with a
//! [`SettingsReader`] ([`Item::settings_reader`]): key by key, each as a value type of this
//! crate ([`Setting`], [`DurationSetting`], [`FileMode`], [`AddressSetting`],
//! [`NonEmptyString`]) or any serde type, collecting every problem (unknown keys, bad
//! values, missing keys) rather than stopping at the first. The adapter's own semantic
//! checks become diagnostics through [`Item::diagnostic`] at a setting's position and join
//! the others. [`Item::settings`] reads the whole mapping into one serde type instead,
//! stopping at the first problem.
//!
//! Items that fail a check are left out of [`Production::items`] but kept in
//! [`Production::rejected`], so that their adapter settings can be checked in the same
//! run.
//!
//! # YAML rules
//!
//! YAML 1.2 throughout: booleans are `true` and `false` only; a number written with a
//! leading zero is refused as ambiguous; text stays as written (`NO`, `0012`, `2.10`,
//! `on`); a key written twice is an error naming both lines; a tab may separate tokens
//! but never indent. `${NAME}` and `${NAME:-default}` in any value take their value from
//! the environment (`$$` is a literal `$`); a value from the environment is always one
//! string, never YAML structure.

mod admin;
mod condition;
mod diagnostic;
mod document;
mod interpolation;
mod items;
mod load;
mod model;
#[cfg(test)]
mod mutation;
mod outline;
mod position;
#[cfg(test)]
mod positioned;
mod raw;
mod routes;
mod schema;
mod settings;
mod size;
mod store;
mod suggest;
mod values;
mod yaml_error;

pub use admin::DEFAULT_TOKEN_ENV;
pub use diagnostic::{Diagnostic, Diagnostics, Location, Source};
pub use load::{Loaded, load, parse};
pub use model::{
    AdminSettings, AdminTls, DurabilitySetting, FailureAction, Item, Otherwise, Production,
    RetryPolicy, Role, RouterSpec, RuleAction, RuleSpec, StoreSettings,
};
pub use settings::SettingsReader;
pub use size::{SizeSetting, parse_size};
pub use values::{
    AddressSetting, DurationError, DurationSetting, FileMode, NonEmptyString, Setting,
    parse_duration,
};
