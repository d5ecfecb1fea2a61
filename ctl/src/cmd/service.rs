//! `rcctl service install|uninstall|status`: rcd as a systemd user service
//! (Linux) or a launchd agent (macOS), rendered from the templates in
//! systemd/ and launchd/ with the same settings as rcd's own flags.

use anyhow::{Context, Result, bail};
use rcd_proto::SpawnMode;
use std::path::{Path, PathBuf};
use std::process::Command;

const SYSTEMD_UNIT: &str = include_str!("../../../systemd/rcd.service");
const LAUNCHD_PLIST: &str = include_str!("../../../launchd/com.rcd.rcd.plist");
const LAUNCHD_LABEL: &str = "com.rcd.rcd";

/// Environment passed to the service so sessions find the user's tools.
const PASSED_ENV: &[&str] = &["PATH", "LANG", "LC_ALL", "SHELL", "SSH_AUTH_SOCK"];

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// A systemd user unit.
    Linux,
    /// A launchd agent.
    Macos,
}

impl Platform {
    fn current() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::Macos
        } else {
            Platform::Linux
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Render and install the service for this user, enable and start it.
    Install(Box<Install>),
    /// Stop, disable and remove the service.
    Uninstall(Common),
    /// Show the service manager's view of the service.
    Status(Common),
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Print what would be written and run; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Render for this platform instead of the current one (with --dry-run).
    #[arg(long, value_enum, hide = true)]
    platform: Option<Platform>,
}

#[derive(Debug, clap::Args)]
struct Install {
    /// Shared directory of the sessions. Default: the current directory.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// same-dir or worktree.
    #[arg(long, value_name = "MODE", value_parser = |s: &str| s.parse::<SpawnMode>())]
    spawn: Option<SpawnMode>,
    /// Most sessions at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    capacity: Option<u32>,
    /// Environment name shown to devices. Default: the host name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Relay URL (https://…). Without it rcd runs its embedded relay.
    #[arg(long, value_name = "URL")]
    relay: Option<String>,
    /// The relay's enrollment token file (with --relay).
    #[arg(long, value_name = "FILE", requires = "relay")]
    token_file: Option<PathBuf>,
    /// Local only: no relay at all.
    #[arg(long, conflicts_with = "relay")]
    no_relay: bool,
    /// A program the service's sessions may run, NAME=COMMAND (repeat it;
    /// an empty COMMAND is the login shell), as rcd's --program. Without
    /// it the service reads [programs] from its config.toml.
    #[arg(long = "program", value_name = "NAME=COMMAND")]
    program: Vec<String>,
    /// The program of a session that names none (rcd --default-program).
    #[arg(long, value_name = "NAME")]
    default_program: Option<String>,
    /// The default program's command line (rcd --command).
    #[arg(long, value_name = "CMD ARGS")]
    command: Option<String>,
    /// The configuration file the service reads (rcd --config). Default:
    /// ~/.config/rcd/config.toml, when it exists.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The rcd binary to run. Default: the rcd next to this rcctl, else the
    /// one on PATH.
    #[arg(long, value_name = "PATH")]
    rcd: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

/// Everything that goes into a rendered service.
#[derive(Debug)]
struct Plan {
    platform: Platform,
    argv: Vec<String>,
    dir: PathBuf,
    env: Vec<(String, String)>,
    home: PathBuf,
}

fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set")
}

fn unit_path(platform: Platform, home: &Path) -> PathBuf {
    match platform {
        Platform::Linux => std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config"))
            .join("systemd/user/rcd.service"),
        Platform::Macos => home.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist")),
    }
}

fn log_path(home: &Path) -> PathBuf {
    home.join("Library/Logs/rcd/rcd.log")
}

fn find_rcd(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = given {
        return std::fs::canonicalize(&p).with_context(|| format!("--rcd {}", p.display()));
    }
    if let Ok(me) = std::env::current_exe()
        && let Some(dir) = me.parent()
        && dir.join("rcd").is_file()
    {
        return Ok(dir.join("rcd"));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("rcd"))
        .find(|p| p.is_file())
        .context("cannot find the rcd binary: install it on PATH or pass --rcd PATH")
}

/// Quotes one argument for a systemd ExecStart line.
fn systemd_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.:=,@+".contains(c))
    {
        return arg.to_string();
    }
    let escaped = arg
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    format!("\"{escaped}\"")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Plan {
    fn render(&self) -> String {
        match self.platform {
            Platform::Linux => {
                let exec = self
                    .argv
                    .iter()
                    .map(|a| systemd_quote(a))
                    .collect::<Vec<_>>()
                    .join(" ");
                let env = self
                    .env
                    .iter()
                    .map(|(k, v)| format!("Environment={}", systemd_quote(&format!("{k}={v}"))))
                    .collect::<Vec<_>>()
                    .join("\n");
                SYSTEMD_UNIT
                    .replace("{{EXEC_START}}", &exec)
                    .replace("{{DIR}}", &systemd_quote(&self.dir.display().to_string()))
                    .replace("{{ENVIRONMENT}}", &env)
            }
            Platform::Macos => {
                let args = self
                    .argv
                    .iter()
                    .map(|a| format!("\t\t<string>{}</string>", xml_escape(a)))
                    .collect::<Vec<_>>()
                    .join("\n");
                let env = self
                    .env
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "\t\t<key>{}</key>\n\t\t<string>{}</string>",
                            xml_escape(k),
                            xml_escape(v)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                LAUNCHD_PLIST
                    .replace("{{PROGRAM_ARGUMENTS}}", &args)
                    .replace("{{DIR}}", &xml_escape(&self.dir.display().to_string()))
                    .replace("{{ENVIRONMENT}}", &env)
                    .replace(
                        "{{LOG}}",
                        &xml_escape(&log_path(&self.home).display().to_string()),
                    )
            }
        }
    }

    fn commands(&self, path: &Path) -> Vec<Vec<String>> {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        match self.platform {
            Platform::Linux => vec![
                s(&["systemctl", "--user", "daemon-reload"]),
                s(&["systemctl", "--user", "enable", "--now", "rcd.service"]),
            ],
            Platform::Macos => {
                let domain = format!("gui/{}", nix::unistd::getuid());
                vec![
                    vec![
                        "launchctl".into(),
                        "bootout".into(),
                        format!("{domain}/{LAUNCHD_LABEL}"),
                    ],
                    vec![
                        "launchctl".into(),
                        "bootstrap".into(),
                        domain,
                        path.display().to_string(),
                    ],
                ]
            }
        }
    }
}

fn plan(a: &Install, platform: Platform) -> Result<Plan> {
    let home = home()?;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let dir = std::fs::canonicalize(&dir).with_context(|| format!("--dir {}", dir.display()))?;
    let rcd = find_rcd(a.rcd.clone())?;
    let mut argv = vec![
        rcd.display().to_string(),
        "--dir".into(),
        dir.display().to_string(),
    ];
    if let Some(s) = a.spawn {
        argv.extend(["--spawn".into(), s.to_string()]);
    }
    if let Some(c) = a.capacity {
        argv.extend(["--capacity".into(), c.to_string()]);
    }
    if let Some(n) = &a.name {
        argv.extend(["--name".into(), n.clone()]);
    }
    if let Some(r) = &a.relay {
        argv.extend(["--relay".into(), r.clone()]);
        let token = a.token_file.as_ref().context(
            "--relay needs --token-file FILE (the relay's enrollment token; a service cannot \
             read RCD_TOKEN from your shell)",
        )?;
        let token = std::fs::canonicalize(token)
            .with_context(|| format!("--token-file {}", token.display()))?;
        argv.extend(["--token-file".into(), token.display().to_string()]);
    }
    if a.no_relay {
        argv.push("--no-relay".into());
    }
    if let Some(c) = &a.config {
        let c = std::fs::canonicalize(c).with_context(|| format!("--config {}", c.display()))?;
        argv.extend(["--config".into(), c.display().to_string()]);
    }
    for p in &a.program {
        let name = p.split_once('=').map(|(n, _)| n.trim()).with_context(|| {
            format!("--program {p:?}: give NAME=COMMAND, e.g. --program claude=claude")
        })?;
        rcd_proto::name::check_program(name).map_err(|e| anyhow::anyhow!("--program {e}"))?;
        argv.extend(["--program".into(), p.clone()]);
    }
    if let Some(d) = &a.default_program {
        if !a.program.is_empty()
            && !a
                .program
                .iter()
                .any(|p| p.split_once('=').is_some_and(|(n, _)| n.trim() == d))
        {
            bail!("--default-program {d}: it is not one of the --program names");
        }
        argv.extend(["--default-program".into(), d.clone()]);
    }
    if let Some(c) = &a.command {
        argv.extend(["--command".into(), c.clone()]);
    }
    let env = PASSED_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    Ok(Plan {
        platform,
        argv,
        dir,
        env,
        home,
    })
}

fn run_cmd(argv: &[String]) -> Result<()> {
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .status()
        .with_context(|| format!("cannot run {}", argv[0]))?;
    if !status.success() {
        bail!("`{}` failed ({status})", argv.join(" "));
    }
    Ok(())
}

/// Whether a systemd user manager answers.
fn systemd_user_manager() -> bool {
    Command::new("systemctl")
        .args(["--user", "show-environment"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `Some(false)` when lingering is off for this user.
fn lingering() -> Option<bool> {
    let user = std::env::var("USER").ok()?;
    if Path::new("/var/lib/systemd/linger").join(&user).exists() {
        return Some(true);
    }
    let out = Command::new("loginctl")
        .args(["show-user", &user, "--property=Linger"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .strip_prefix("Linger=")
        .map(|v| v == "yes")
        .or(Some(false))
}

const NO_SYSTEMD: &str = "there is no systemd user manager here (a container, or a session \
     without one): nothing was installed; run rcd directly, e.g. under your own supervisor";

pub fn run(args: Args) -> Result<()> {
    match args.what {
        What::Install(a) => install(&a),
        What::Uninstall(c) => uninstall(&c),
        What::Status(c) => status(&c),
    }
}

fn install(a: &Install) -> Result<()> {
    let platform = a.common.platform.unwrap_or_else(Platform::current);
    if a.common.platform.is_some() && !a.common.dry_run && platform != Platform::current() {
        bail!("--platform is only for --dry-run");
    }
    let plan = plan(a, platform)?;
    let path = unit_path(platform, &plan.home);
    let text = plan.render();
    let commands = plan.commands(&path);
    if a.common.dry_run {
        println!("# would write {}:", path.display());
        print!("{text}");
        println!("# would run:");
        for c in &commands {
            println!("{}", c.join(" "));
        }
        print_after(platform, &plan.home);
        return Ok(());
    }
    if platform == Platform::Linux && !systemd_user_manager() {
        bail!("{NO_SYSTEMD}");
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if platform == Platform::Macos
        && let Some(logs) = log_path(&plan.home).parent()
    {
        std::fs::create_dir_all(logs)?;
    }
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    for (i, c) in commands.iter().enumerate() {
        // launchctl bootout fails when nothing was loaded: that is fine.
        let optional = platform == Platform::Macos && i == 0;
        match run_cmd(c) {
            Ok(()) => println!("ran: {}", c.join(" ")),
            Err(_) if optional => {}
            Err(e) => return Err(e),
        }
    }
    print_after(platform, &plan.home);
    Ok(())
}

fn print_after(platform: Platform, home: &Path) {
    match platform {
        Platform::Linux => {
            println!("logs: journalctl --user -u rcd");
            println!("status: rcctl service status");
            if lingering() == Some(false) {
                let user = std::env::var("USER").unwrap_or_else(|_| "$USER".into());
                println!(
                    "note: lingering is off for {user}: the service stops when you log out and \
                     will not start at boot until you run: loginctl enable-linger {user}"
                );
            }
        }
        Platform::Macos => {
            println!("logs: {}", log_path(home).display());
            println!("status: rcctl service status");
        }
    }
}

fn uninstall(c: &Common) -> Result<()> {
    let platform = c.platform.unwrap_or_else(Platform::current);
    let home = home()?;
    let path = unit_path(platform, &home);
    let commands: Vec<Vec<String>> = match platform {
        Platform::Linux => vec![
            vec![
                "systemctl".into(),
                "--user".into(),
                "disable".into(),
                "--now".into(),
                "rcd.service".into(),
            ],
            vec!["systemctl".into(), "--user".into(), "daemon-reload".into()],
        ],
        Platform::Macos => vec![vec![
            "launchctl".into(),
            "bootout".into(),
            format!("gui/{}/{LAUNCHD_LABEL}", nix::unistd::getuid()),
        ]],
    };
    if c.dry_run {
        println!("# would run: {}", commands[0].join(" "));
        println!("# would remove {}", path.display());
        for cmd in &commands[1..] {
            println!("# would run: {}", cmd.join(" "));
        }
        return Ok(());
    }
    if platform == Platform::Linux && !systemd_user_manager() {
        bail!("{NO_SYSTEMD}");
    }
    if !path.exists() {
        bail!(
            "rcd is not installed as a service ({} does not exist)",
            path.display()
        );
    }
    let _ = run_cmd(&commands[0]);
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    println!("removed {}", path.display());
    for cmd in &commands[1..] {
        run_cmd(cmd)?;
    }
    Ok(())
}

fn status(c: &Common) -> Result<()> {
    let platform = c.platform.unwrap_or_else(Platform::current);
    let argv: Vec<String> = match platform {
        Platform::Linux => ["systemctl", "--user", "status", "--no-pager", "rcd.service"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Platform::Macos => vec![
            "launchctl".into(),
            "print".into(),
            format!("gui/{}/{LAUNCHD_LABEL}", nix::unistd::getuid()),
        ],
    };
    if c.dry_run {
        println!("# would run: {}", argv.join(" "));
        return Ok(());
    }
    if platform == Platform::Linux && !systemd_user_manager() {
        bail!("{NO_SYSTEMD}");
    }
    // systemctl status exits 3 for an inactive unit; show it all the same.
    let status = Command::new(&argv[0]).args(&argv[1..]).status()?;
    if !status.success() && status.code() != Some(3) {
        bail!("`{}` failed ({status})", argv.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_for(platform: Platform) -> Plan {
        Plan {
            platform,
            argv: vec![
                "/opt/rcd bin/rcd".into(),
                "--dir".into(),
                "/home/u/my repo".into(),
                "--name".into(),
                "a&b".into(),
            ],
            dir: PathBuf::from("/home/u/my repo"),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            home: PathBuf::from("/home/u"),
        }
    }

    #[test]
    fn the_systemd_unit_is_a_notify_service_with_quoted_paths() {
        let unit = plan_for(Platform::Linux).render();
        assert!(unit.contains("Type=notify"));
        assert!(unit.contains("Restart=on-failure"));
        assert!(unit.contains("ExecStart=\"/opt/rcd bin/rcd\" --dir \"/home/u/my repo\""));
        assert!(unit.contains("Environment=PATH=/usr/bin:/bin"));
        assert!(!unit.contains("{{"), "every placeholder is filled: {unit}");
    }

    #[test]
    fn the_plist_escapes_and_fills_everything() {
        let plist = plan_for(Platform::Macos).render();
        assert!(plist.contains("<string>a&amp;b</string>"));
        assert!(plist.contains("/home/u/Library/Logs/rcd/rcd.log"));
        assert!(!plist.contains("{{"));
    }

    #[test]
    fn programs_reach_the_service_command_line_quoted() {
        let mut plan = plan_for(Platform::Linux);
        plan.argv.extend([
            "--program".into(),
            "codex=codex --full-auto".into(),
            "--program".into(),
            "shell=".into(),
            "--default-program".into(),
            "codex".into(),
        ]);
        let unit = plan.render();
        assert!(
            unit.contains(
                "--program \"codex=codex --full-auto\" --program shell= --default-program codex"
            ),
            "{unit}"
        );
        let plist = Plan {
            platform: Platform::Macos,
            ..plan
        }
        .render();
        assert!(
            plist.contains("<string>codex=codex --full-auto</string>"),
            "{plist}"
        );
    }

    #[test]
    fn quoting_for_systemd() {
        assert_eq!(systemd_quote("/a/b"), "/a/b");
        assert_eq!(systemd_quote("a b"), "\"a b\"");
        assert_eq!(systemd_quote("100%"), "\"100%%\"");
        assert_eq!(systemd_quote("$HOME"), "\"$$HOME\"");
    }
}
