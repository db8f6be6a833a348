//! The admin commands (`ferry status`, `ferry messages search`, …): a gRPC client of a
//! running production's `ferry.admin.v1` API, printing tables for people or JSON for
//! scripts.
//!
//! Exit codes: 0 done; 1 the API refused or failed (unknown id, wrong credentials, one
//! of several ids failed) or could not be reached. Every failure is one line on stderr
//! saying what to do.

mod args;
mod connect;
mod events;
mod items;
mod json;
mod messages;
mod password;
mod render;

use std::process::ExitCode;

pub(crate) use args::{AdminArgs, AdminCall, AdminToolCommand, ItemsCommand, MessagesCommand};
pub(crate) use password::hash_password;

const FAILED: u8 = 1;

/// Why an admin command failed, as the one line the user reads.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

/// A connected client and how to print.
pub(crate) struct Session {
    client: connect::Client,
    target: connect::Target,
    json: bool,
}

impl Session {
    /// A refused call as a [`Failure`] a user can act on.
    fn refused(&self, status: &tonic::Status) -> Failure {
        connect::explain(status, &self.target)
    }
}

/// Runs one admin command against the running production `args` point at.
pub(crate) fn run(args: &AdminArgs, call: AdminCall) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(call_api(args, call)),
        Err(error) => Err(Failure(format!("cannot start: {error}"))),
    };
    match outcome {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("ferry: {message}");
            ExitCode::from(FAILED)
        }
    }
}

async fn call_api(args: &AdminArgs, call: AdminCall) -> Result<ExitCode, Failure> {
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

/// One line of JSON on stdout.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
