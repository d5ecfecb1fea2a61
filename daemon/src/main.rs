//! `rcd`: parse, set up logging, run, map the error to an exit status.

use clap::{CommandFactory, FromArgMatches};
use rcd::{Cli, config::Config};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::process::ExitCode;

fn main() -> ExitCode {
    rcd_proto::cli::quiet_on_broken_pipe();
    // The keeper (see `rcd::keeper`): the same binary, started by rcd.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == "--keeper") {
        let Some(dir) = args.next() else {
            eprintln!("rcd: --keeper needs the keeper directory");
            return ExitCode::from(2);
        };
        return rcd::keeper::serve::main(dir.into());
    }
    if let Some(dir) = rcd_docgen::docs_requested() {
        return rcd_docgen::generate_main(Cli::command(), &dir);
    }
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    if let Some(shell) = cli.completions {
        rcd_docgen::completions(Cli::command(), shell, &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let file = rcd::config_file::apply(&mut cli, &matches);
    rcd::init_tracing(cli.verbose);
    match file {
        Ok(Some(path)) => tracing::debug!(config = %path.display(), "configuration file read"),
        Ok(None) => {}
        Err(e) => {
            eprintln!("rcd: {e:#}");
            return ExitCode::from(2);
        }
    }
    let cfg = match Config::from_cli(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rcd: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rcd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<rcd::Ending>();
    match signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    // SIGINT is a person at rcd's terminal ending it all;
                    // SIGTERM a service manager's stop or restart, SIGHUP
                    // a terminal that went away: the sessions stay.
                    let _ = tx.send(if sig == SIGINT {
                        rcd::Ending::Stop
                    } else {
                        rcd::Ending::Detach
                    });
                }
            });
        }
        Err(e) => {
            eprintln!("rcd: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    }
    let result = runtime.block_on(rcd::run(cfg, async {
        rx.await.unwrap_or(rcd::Ending::Stop)
    }));
    match result {
        Ok(rcd::RunEnd::Shutdown | rcd::RunEnd::Detached) => ExitCode::SUCCESS,
        Ok(rcd::RunEnd::Outage(_)) => ExitCode::from(rcd::link::OUTAGE_EXIT_CODE),
        Err(e) => {
            eprintln!("rcd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
