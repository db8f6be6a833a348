//! The admin commands (`ferry status`, `ferry messages search`, …): a gRPC client of a
//! running production's `ferry.admin.v1` API, printing tables for people or JSON for
//! scripts.
//!
//! Exit codes: 0 done, also when the reader of stdout stopped reading (`| head`); 1 the
//! API refused or failed (unknown id, wrong credentials, one of several ids failed) or
//! could not be reached; 2 a name `ferry admin hash-password` cannot write. Every failure
//! is one line on stderr saying what to do.
//!
//! Human output shows every text from the engine through [`visible`], so message content
//! cannot drive the terminal; `--json` and `messages show --raw` stay exact.

mod args;
mod connect;
mod diagnose;
mod events;
mod items;
mod json;
mod messages;
mod output;
mod password;
mod render;
mod visible;

use std::io::Write;
use std::process::ExitCode;

pub(crate) use args::{AdminArgs, AdminCall, AdminToolCommand, ItemsCommand, MessagesCommand};
pub(crate) use password::hash_password;

const FAILED: u8 = 1;

/// Why an admin command failed, as the one line the user reads.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

/// Why a command stopped before its last line.
#[derive(Debug)]
pub(crate) enum Halt {
    /// It failed.
    Failed(Failure),
    /// Whoever read stdout stopped reading: they have what they wanted.
    Unread,
}

impl From<Failure> for Halt {
    fn from(failure: Failure) -> Self {
        Halt::Failed(failure)
    }
}

/// A connected client and how to print.
pub(crate) struct Session {
    client: connect::Client,
    target: connect::Target,
    json: bool,
}

impl Session {
    /// A refused first call as a [`Failure`] a user can act on.
    fn refused(&self, status: &tonic::Status) -> Failure {
        connect::explain(status, &self.target, diagnose::Exchange::Unanswered)
    }

    /// A call or stream that failed after the server had answered.
    fn lost(&self, status: &tonic::Status) -> Failure {
        connect::explain(status, &self.target, diagnose::Exchange::Answered)
    }
}

/// Runs one admin command against the running production `args` point at.
pub(crate) fn run(args: &AdminArgs, call: AdminCall) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(call_api(args, call)),
        Err(error) => Err(Failure(format!("cannot start: {error}")).into()),
    };
    match outcome {
        Ok(code) => code,
        Err(Halt::Unread) => ExitCode::SUCCESS,
        Err(Halt::Failed(Failure(message))) => {
            complain(&message);
            ExitCode::from(FAILED)
        }
    }
}

/// Writes `message` as one line on stderr; server words and error causes may hold
/// control characters too. Nothing is left to do if stderr is closed.
fn complain(message: &str) {
    let line = format!("ferry: {}\n", visible::cell(message));
    let _ = std::io::stderr().write_all(line.as_bytes());
}

async fn call_api(args: &AdminArgs, call: AdminCall) -> Result<ExitCode, Halt> {
    let (client, target) = connect::connect(args).await?;
    let mut session = Session {
        client,
        target,
        json: args.json,
    };

    match call {
        AdminCall::Status => items::status(&mut session).await,
        AdminCall::Queues => items::queues(&mut session).await,
        AdminCall::Items(command) => items::act(&mut session, command).await,
        AdminCall::Messages(command) => messages::run(&mut session, command).await,
        AdminCall::Trace { session: id } => messages::trace(&mut session, id).await,
        AdminCall::Events { follow, limit } => events::run(&mut session, follow, limit).await,
    }
}
