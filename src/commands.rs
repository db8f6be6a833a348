//! What each subcommand does, and its exit code.
//!
//! Exit codes: 0 success; 1 the production failed while running (store, I/O); 2 the
//! production file is invalid or the command line is wrong; 3 the store is in use or
//! cannot be opened.

use std::path::Path;
use std::process::ExitCode;

use ferry_adapter::Registry;
use ferry_production::{Diagnostics, Production};
use ferry_runtime::{Engine, EngineError, check_production, store_config};
use ferry_store::{EventKind, EventLevel, NewEvent, SledStore, Store, StoreError};

use crate::cli::{Cli, Command};
use crate::client::{self, AdminCall, AdminToolCommand};
use crate::registry::registry;

const RUN_FAILED: u8 = 1;
const INVALID: u8 = 2;
const STORE_UNAVAILABLE: u8 = 3;

/// Runs the chosen subcommand.
pub(crate) fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Validate { production } => validate(&production),
        Command::Run { production } => run(&production),
        Command::Purge {
            production,
            older_than,
        } => purge(&production, &older_than),
        Command::Load { command } => ferry_load::run(command),
        Command::Status { admin } => client::run(&admin, AdminCall::Status),
        Command::Queues { admin } => client::run(&admin, AdminCall::Queues),
        Command::Items { command, admin } => client::run(&admin, AdminCall::Items(command)),
        Command::Messages { command, admin } => client::run(&admin, AdminCall::Messages(command)),
        Command::Trace { session, admin } => client::run(&admin, AdminCall::Trace { session }),
        Command::Events {
            follow,
            limit,
            admin,
        } => client::run(&admin, AdminCall::Events { follow, limit }),
        Command::Admin {
            command: AdminToolCommand::HashPassword { name },
        } => client::hash_password(name.as_deref()),
    }
}

/// Loads and checks a production completely; prints every problem found.
fn load(path: &Path, registry: &Registry) -> Result<Production, ExitCode> {
    let env = |name: &str| std::env::var(name).ok();
    let loaded = ferry_production::load(path, &env);
    let mut diagnostics = loaded.diagnostics;
    if let Some(production) = &loaded.production {
        diagnostics.extend(check_production(production, registry));
    }

    match loaded.production {
        Some(production) if diagnostics.is_empty() => {
            check_admin(path, &production)?;
            Ok(production)
        }
        _ => {
            report(&diagnostics);
            Err(ExitCode::from(INVALID))
        }
    }
}

/// Reads the files the `admin:` section names, so a bad users file or certificate stops
/// the command before anything starts.
fn check_admin(path: &Path, production: &Production) -> Result<(), ExitCode> {
    let Some(settings) = &production.admin else {
        return Ok(());
    };
    let env = |name: &str| std::env::var(name).ok();
    match ferry_admin::check(settings, &production.store.path, &env) {
        Ok(()) => Ok(()),
        Err(error) => {
            eprintln!("{}: {error}", path.display());
            eprintln!("ferry: 1 error; nothing started");
            Err(ExitCode::from(INVALID))
        }
    }
}

fn report(diagnostics: &Diagnostics) {
    eprintln!("{diagnostics}");
    let count = diagnostics.len();
    let noun = if count == 1 { "error" } else { "errors" };
    eprintln!("ferry: {count} {noun}; nothing started");
}

fn validate(path: &Path) -> ExitCode {
    match load(path, &registry()) {
        Ok(production) => {
            println!(
                "{}: production '{}' is valid ({} items)",
                path.display(),
                production.name,
                production.items.len()
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn run(path: &Path) -> ExitCode {
    let registry = registry();
    let production = match load(path, &registry) {
        Ok(production) => production,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ferry: cannot start the async runtime: {error}");
            return ExitCode::from(RUN_FAILED);
        }
    };
    runtime.block_on(run_until_signal(production, registry))
}

async fn run_until_signal(production: Production, registry: Registry) -> ExitCode {
    if production.admin.is_some() {
        // The engine labels its metrics when it sets its items up: the recorder first.
        let _ = ferry_admin::prometheus();
    }
    let engine = match Engine::start(&production, std::sync::Arc::new(registry)).await {
        Ok(engine) => engine,
        Err(EngineError::Store { path, source }) => {
            report_store_error(&path, &source);
            return ExitCode::from(STORE_UNAVAILABLE);
        }
        Err(error) => {
            eprintln!("ferry: {error}");
            return ExitCode::from(RUN_FAILED);
        }
    };

    let admin_stop = tokio_util::sync::CancellationToken::new();
    let admin = match start_admin(&production, &engine, admin_stop.clone()).await {
        Ok(admin) => admin,
        Err(error) => {
            eprintln!("ferry: {error}");
            admin_stop.cancel();
            let _ = engine.shutdown().await;
            return ExitCode::from(RUN_FAILED);
        }
    };

    let failure = tokio::select! {
        signal = wait_for_signal() => {
            tracing::info!(signal, "shutting down");
            None
        }
        reason = engine.failed() => {
            tracing::error!(reason = %reason, "shutting down: a service failed");
            Some(reason)
        }
    };
    admin_stop.cancel();
    if let Some(admin) = admin {
        admin.stopped().await;
    }
    match (engine.shutdown().await, failure) {
        (Ok(()), None) => ExitCode::SUCCESS,
        (Ok(()), Some(reason)) => {
            eprintln!("ferry: {reason}");
            ExitCode::from(RUN_FAILED)
        }
        (Err(error), _) => {
            eprintln!("ferry: {error}");
            ExitCode::from(RUN_FAILED)
        }
    }
}

/// Starts the web UI and gRPC API when the production has an `admin:` section, and says
/// where they listen and where the token is (never the token itself).
async fn start_admin(
    production: &Production,
    engine: &Engine,
    stop: tokio_util::sync::CancellationToken,
) -> Result<Option<ferry_admin::Running>, ferry_admin::AdminError> {
    let Some(settings) = &production.admin else {
        tracing::info!("no `admin:` section: the web UI and gRPC API are off");
        return Ok(None);
    };
    let env = |name: &str| std::env::var(name).ok();
    let running = ferry_admin::start(
        settings,
        &production.store.path,
        engine.handle(),
        &env,
        stop,
    )
    .await?;

    if let Some(address) = running.http {
        tracing::info!(%address, "admin web listening");
    }
    if let Some(address) = running.grpc {
        tracing::info!(%address, "admin grpc listening");
    }
    match &running.token {
        ferry_admin::TokenSource::Variable(name) => {
            tracing::info!(variable = %name, "admin token taken from the environment");
        }
        ferry_admin::TokenSource::Generated(path) => {
            tracing::info!(file = %path.display(), "admin token generated (mode 0600)");
        }
    }
    Ok(Some(running))
}

/// Explains why a store could not be opened, with a hint when one helps.
fn report_store_error(path: &Path, error: &StoreError) {
    eprintln!(
        "ferry: cannot open the store at {}: {error}",
        path.display()
    );
    if matches!(error, StoreError::InUse { .. }) {
        eprintln!("hint: another ferry runs this production; stop it first");
    }
}

/// Waits for SIGINT or SIGTERM; returns its name.
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};

    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    match (terminate, interrupt) {
        (Ok(mut terminate), Ok(mut interrupt)) => tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        },
        _ => {
            // Without signal handlers, Ctrl-C through tokio is the only way left.
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

fn purge(path: &Path, older_than: &str) -> ExitCode {
    let production = match load(path, &registry()) {
        Ok(production) => production,
        Err(code) => return code,
    };
    let age = match ferry_production::parse_duration(older_than) {
        Ok(age) => age,
        Err(error) => {
            eprintln!("ferry: --older-than {older_than}: {error}");
            return ExitCode::from(INVALID);
        }
    };
    let Some(cutoff) = ferry_runtime::cutoff(age) else {
        eprintln!("ferry: --older-than {older_than} reaches before 1970");
        return ExitCode::from(INVALID);
    };

    let store_path = &production.store.path;
    if !store_path.join("db").is_file() {
        eprintln!(
            "ferry: there is no store at {}: nothing to purge",
            store_path.display()
        );
        eprintln!("hint: check store.path and the variables it uses, such as FERRY_DATA");
        return ExitCode::from(STORE_UNAVAILABLE);
    }
    let store = match SledStore::open(store_config(&production)) {
        Ok((store, _)) => store,
        Err(error) => {
            report_store_error(store_path, &error);
            return ExitCode::from(STORE_UNAVAILABLE);
        }
    };
    match store.purge(cutoff) {
        Ok(report) => {
            let text = format!(
                "offline purge removed {} sessions ({} messages) created before {cutoff}",
                report.sessions, report.headers
            );
            let event = NewEvent {
                level: EventLevel::Info,
                kind: EventKind::Admin,
                item: None,
                message: None,
                actor: Some("cli".to_owned()),
                text,
            };
            if let Err(error) = store.append_events(vec![event]) {
                eprintln!("ferry: warning: the purge is not in the event log: {error}");
            }
            println!(
                "purged {} sessions ({} messages, {} bodies) created before {cutoff}; kept {} \
                 older sessions that still hold queued, in-flight, suspended or failed messages",
                report.sessions, report.headers, report.bodies, report.kept
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ferry: purge failed: {error}");
            ExitCode::from(RUN_FAILED)
        }
    }
}
