//! Why a load run could not start or go on. Failures of single messages are not errors
//! here: they are counted ([`crate::stats::Failure`]) and the run goes on.

use std::process::ExitCode;

/// A load run that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The address does not resolve (unknown host, no port).
    #[error("cannot resolve {address}: {source}")]
    Resolve {
        /// The address as given.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The address resolves to nothing.
    #[error("{address} resolves to no address")]
    NoAddress {
        /// The address as given.
        address: String,
    },
    /// The sink cannot listen there (in use, not a local address, no permission).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address as given.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The sender's first connection failed, so there is nothing to measure.
    #[error("cannot connect to {address}: {reason}")]
    Connect {
        /// The address as given.
        address: String,
        /// Why: the I/O error, or the timeout.
        reason: String,
    },
    /// The command line asks for something the tool cannot do.
    #[error("{0}")]
    Usage(String),
    /// The async runtime or the signal handlers could not be set up.
    #[error("cannot start: {0}")]
    Runtime(std::io::Error),
}

impl LoadError {
    /// Whether the command line is at fault (rather than the network or the machine): such
    /// a run would fail again unchanged, so it gets the exit code of a wrong command line.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            LoadError::Usage(_) | LoadError::Resolve { .. } | LoadError::NoAddress { .. }
        )
    }

    /// The exit code Ferry uses for it: 2 for a wrong command line, 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        if self.is_usage() {
            ExitCode::from(2)
        } else {
            ExitCode::from(1)
        }
    }
}
