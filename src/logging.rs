//! Log setup: human-readable by default, JSON lines on request.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. `RUST_LOG` wins over `verbose`.
pub(crate) fn init(format: LogFormat, verbose: u8) {
    // Verbosity raises Ferry's own detail; its dependencies (sled above all) stay quiet.
    let default = match verbose {
        0 => "info",
        1 => {
            "info,ferry=debug,ferry_runtime=debug,ferry_file=debug,ferry_mllp=debug,\
             ferry_http=debug,ferry_amqp=debug,ferry_adapter=debug,ferry_load=debug,\
             ferry_admin=debug"
        }
        _ => {
            "info,ferry=trace,ferry_runtime=trace,ferry_file=trace,ferry_mllp=trace,\
             ferry_http=trace,ferry_amqp=trace,ferry_adapter=trace,ferry_load=trace,\
             ferry_admin=trace,ferry_store=debug"
        }
    };
    // lapin logs a returned message at WARN with its whole body: patient data in the log.
    // Ferry's own event names the exchange, routing key and reply text instead.
    let quiet = "lapin::returned_messages=error";
    let default = format!("{default},{quiet}");
    let default = default.as_str();
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) => {
            EnvFilter::try_new(format!("{directives},{quiet}")).unwrap_or_else(|error| {
                eprintln!("ferry: ignoring RUST_LOG={directives:?}: {error}");
                EnvFilter::new(default)
            })
        }
        Err(_) => EnvFilter::new(default),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
