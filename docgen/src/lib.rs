//! Shell completions and man pages of rcd, rcctl and rc-relay, made from
//! each program's own clap definition, so they cannot drift from it.
//!
//! Each binary offers its completions to users (`rcctl completions SHELL`,
//! `rc-relay completions SHELL`, `rcd --completions SHELL`) through
//! [`completions`], and writes every shipped file through
//! [`generate_docs`] when started as `PROGRAM --generate-docs DIR` (see
//! [`docs_requested`]): `DIR/completions/` and `DIR/man/man1/`. The repository
//! ships the result in `share/`; `scripts/gen-docs` refreshes it, and a
//! test fails when the shipped files differ from what the binaries make.

use clap::Command;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use clap_complete::Shell;

/// The shells whose completion files are shipped.
pub const SHIPPED_SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// The hidden first argument that makes a binary write its files.
pub const GENERATE_DOCS: &str = "--generate-docs";

/// The name of `cmd`'s completion file for `shell`, as each shell looks
/// for it: `rcctl.bash` (bash-completion loads it as `rcctl`), `_rcctl`
/// (zsh's fpath), `rcctl.fish`.
pub fn completion_file(shell: Shell, name: &str) -> String {
    match shell {
        Shell::Zsh => format!("_{name}"),
        Shell::Bash => format!("{name}.bash"),
        Shell::Fish => format!("{name}.fish"),
        Shell::Elvish => format!("{name}.elv"),
        Shell::PowerShell => format!("_{name}.ps1"),
        _ => format!("{name}.{shell}"),
    }
}

/// Writes the completion script of `cmd` for `shell` to `out`.
pub fn completions(mut cmd: Command, shell: Shell, out: &mut dyn Write) {
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// Whether this process was started as `PROGRAM --generate-docs DIR`; the
/// directory, then.
pub fn docs_requested() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == GENERATE_DOCS) {
        let dir = args.next()?;
        return Some(PathBuf::from(dir));
    }
    None
}

/// `PROGRAM --generate-docs DIR`: writes the files and says which, or why
/// not.
pub fn generate_main(cmd: Command, dir: &Path) -> std::process::ExitCode {
    let name = cmd.get_name().to_string();
    match generate_docs(cmd, dir) {
        Ok(written) => {
            for p in written {
                println!("{}", p.display());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: cannot write into {}: {e}", dir.display());
            std::process::ExitCode::FAILURE
        }
    }
}

/// Writes `DIR/completions/` (bash, zsh, fish) and `DIR/man/man1/` (a page for
/// the program and one per subcommand, `rcctl-pair.1`) of `cmd`; the
/// files written.
pub fn generate_docs(cmd: Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let name = cmd.get_name().to_string();
    let mut written = Vec::new();
    let comp = dir.join("completions");
    std::fs::create_dir_all(&comp)?;
    for shell in SHIPPED_SHELLS {
        let mut text = Vec::new();
        completions(cmd.clone(), shell, &mut text);
        let path = comp.join(completion_file(shell, &name));
        std::fs::write(&path, text)?;
        written.push(path);
    }
    // Section 1 in man's own layout, so the directory can go on MANPATH.
    let man = dir.join("man").join("man1");
    std::fs::create_dir_all(&man)?;
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    man_pages(&cmd, &man, &mut written)?;
    Ok(written)
}

fn man_pages(cmd: &Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, dir, written)?;
    }
    let page = clap_mangen::Man::new(cmd.clone()).manual(MANUAL);
    let path = dir.join(page.get_filename());
    let mut text = Vec::new();
    page.render(&mut text)?;
    std::fs::write(&path, text)?;
    written.push(path);
    Ok(())
}

/// The man pages' manual name.
const MANUAL: &str = "rcd manual";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn sample() -> Command {
        Command::new("tool")
            .version("1.2.3")
            .about("A tool")
            .arg(
                Arg::new("relay")
                    .long("relay")
                    .env("TOOL_SAMPLE_RELAY")
                    .help("Where to go"),
            )
            .subcommand(
                Command::new("pair")
                    .about("Pair this device")
                    .arg(Arg::new("code").required(true))
                    .subcommand(Command::new("again").about("Once more")),
            )
            .subcommand(
                Command::new("secret")
                    .hide(true)
                    .arg(Arg::new("x").long("x").action(ArgAction::SetTrue)),
            )
    }

    #[test]
    fn every_file_is_written_hidden_commands_left_out() {
        let dir = std::env::temp_dir().join(format!("rcd-docgen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let written = generate_docs(sample(), &dir).unwrap();
        let mut names: Vec<String> = written
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "completions/_tool",
                "completions/tool.bash",
                "completions/tool.fish",
                "man/man1/tool-pair-again.1",
                "man/man1/tool-pair.1",
                "man/man1/tool.1",
            ]
        );
        let page = std::fs::read_to_string(dir.join("man/man1/tool-pair.1")).unwrap();
        assert!(page.contains("tool\\-pair"), "{page}");
        assert!(page.contains("Pair this device"), "{page}");
        let top = std::fs::read_to_string(dir.join("man/man1/tool.1")).unwrap();
        assert!(top.contains("TOOL_SAMPLE_RELAY"), "{top}");
        assert!(!top.contains("secret"), "{top}");
        let bash = std::fs::read_to_string(dir.join("completions/tool.bash")).unwrap();
        assert!(bash.contains("--relay") && bash.contains("pair"), "{bash}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
