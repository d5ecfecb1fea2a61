//! `rc-relay`: parse, set up logging, run, map the error to an exit code.

use rc_relay::cli::run;
use std::io::IsTerminal;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    rcd_proto::cli::quiet_on_broken_pipe();
    if let Some(dir) = rcd_docgen::docs_requested() {
        return rcd_docgen::generate_main(
            <rc_relay::cli::Cli as clap::CommandFactory>::command(),
            &dir,
        );
    }
    let cli = match rc_relay::config::parse_from(std::env::args_os().collect()) {
        Ok(Ok(cli)) => cli,
        Ok(Err(e)) => e.exit(),
        Err(e) => {
            eprintln!("rc-relay: {e:#}");
            return ExitCode::from(2);
        }
    };
    let default = if cli.verbose {
        "info,rc_relay=debug"
    } else {
        "info"
    };
    let filter = rc_relay::logging::filter(default);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    // Installed before anything is served, so an early SIGTERM is a clean
    // shutdown rather than a kill.
    let shutdown = match shutdown_signal() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rc-relay: cannot watch SIGTERM and SIGINT: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(cli, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rc-relay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A future that completes on SIGINT or SIGTERM; the handlers are
/// installed when this returns.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
