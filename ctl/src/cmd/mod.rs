//! One module per verb: its arguments, the question it asks its
//! [`Backend`] and its output for people and for `--json`, whichever
//! transport answers.

pub mod answer;
pub mod attach;
pub mod devices;
pub mod diff;
pub mod hook;
pub mod hooks;
pub mod list;
pub mod logout;
pub mod new;
pub mod pair;
pub mod prune;
pub mod screen;
pub mod send;
pub mod service;
pub mod set;
pub mod shutdown;
pub mod status;
pub mod stop;
pub mod transcript;
pub mod wait;
pub mod worktrees;

use crate::Verb;
use crate::backend::Backend;
use rcd_proto::{SessionInfo, WorktreeAction, WorktreeOutcome};

/// The `--json` flag of verbs that print something.
#[derive(Debug, clap::Args)]
pub struct Json {
    /// Print JSON instead of text, for scripts.
    #[arg(long)]
    pub json: bool,
}

/// Runs `verb` on `backend`.
pub fn run(verb: Verb, backend: &mut Backend) -> anyhow::Result<()> {
    match verb {
        Verb::Status(a) => status::run(backend, a),
        Verb::List(a) => list::run(backend, a),
        Verb::New(a) => new::run(backend, a),
        Verb::Stop(a) => stop::run(backend, a),
        Verb::Send(a) => send::run(backend, a),
        Verb::Screen(a) => screen::run(backend, a),
        Verb::Wait(a) => wait::run(backend, a),
        Verb::Answer(a) => answer::run(backend, a),
        Verb::Diff(a) => diff::run(backend, a),
        Verb::Transcript(a) => transcript::run(backend, a),
        Verb::Attach(a) => attach::run(backend, a),
        Verb::Worktrees(a) => worktrees::run(backend, a),
        Verb::Prune(a) => prune::run(backend, a),
        Verb::Set(a) => set::run(backend, a),
        Verb::Shutdown => shutdown::run(backend),
        Verb::Pair(a) => pair::run(backend, a),
        Verb::Devices(a) => devices::run(backend, a),
        // rcctl's main runs it with --relay; here, the only relay kept.
        Verb::Logout(a) => logout::run(a, None, None),
        Verb::Completions { shell } => {
            rcd_docgen::completions(
                <crate::Cli as clap::CommandFactory>::command(),
                shell,
                &mut std::io::stdout(),
            );
            Ok(())
        }
        // The service of this user's own machine needs no daemon.
        Verb::Service(a) => service::run(a),
        Verb::Hook(a) => hook::run(a),
        Verb::Hooks(a) => hooks::run(a),
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// One line about a worktree outcome, for people.
pub fn describe_worktree(o: &WorktreeOutcome) -> String {
    match o.action {
        WorktreeAction::Removed => format!(
            "worktree {} and branch {} removed (clean)",
            o.path, o.branch
        ),
        WorktreeAction::Saved => format!(
            "worktree {} and branch {} removed; the work was saved under {} (restore: git \
             worktree add <dir> {})",
            o.path,
            o.branch,
            o.saved_ref.as_deref().unwrap_or("?"),
            o.saved_ref.as_deref().unwrap_or("?"),
        ),
        WorktreeAction::Kept => format!(
            "worktree {} and branch {} kept: {}",
            o.path,
            o.branch,
            o.reason.as_deref().unwrap_or("it holds work")
        ),
    }
}

/// The table row of a session: NAME, PROGRAM, STATE, NEEDS, SPAWN,
/// SANDBOX, BRANCH, PID, DIR.
pub fn session_row(s: &SessionInfo) -> [String; 9] {
    [
        s.name.clone(),
        program(s),
        match s.exit_code {
            Some(c) => format!("{} ({c})", s.state),
            None => s.state.to_string(),
        },
        needs(s),
        s.spawn.to_string(),
        if s.sandboxed { "yes" } else { "no" }.to_string(),
        branch(s),
        s.pid.map_or_else(|| "-".into(), |p| p.to_string()),
        s.dir.clone(),
    ]
}

/// The PROGRAM column: the configured program's name, or the command
/// line's first word in parentheses for one started with `rcctl new --`.
fn program(s: &SessionInfo) -> String {
    match (&s.program, s.command.first()) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => {
            let base = std::path::Path::new(c)
                .file_name()
                .map_or_else(|| c.clone(), |f| f.to_string_lossy().into_owned());
            format!("({base})")
        }
        (None, None) => "-".into(),
    }
}

/// The BRANCH column, with a worktree's change against its base:
/// `rcd/fix +12 −3 (2 files)`.
fn branch(s: &SessionInfo) -> String {
    let b = s.branch.clone().unwrap_or_else(|| "-".into());
    match &s.change {
        Some(c) => format!(
            "{b} +{} −{} ({} file{})",
            c.added,
            c.removed,
            c.files,
            if c.files == 1 { "" } else { "s" }
        ),
        None => b,
    }
}

/// The NEEDS column: why the session waits for a person, if it does.
fn needs(s: &SessionInfo) -> String {
    match &s.attention {
        None => "-".into(),
        Some(a) if a.message.is_empty() => a.kind.as_str().into(),
        Some(a) => {
            let mut m: String = a.message.chars().take(40).collect();
            if a.message.chars().count() > 40 {
                m.push('…');
            }
            format!("{}: {m}", a.kind.as_str())
        }
    }
}

/// Prints rows as aligned columns under a header.
pub fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
