complete -c rcd -l config -d 'Configuration file (TOML). Default: $XDG_CONFIG_HOME/rcd/config.toml (~/.config/rcd/config.toml), read if it exists. Command line and RCD_* environment win over the file. docs/CONFIG.md lists the keys' -r -F
complete -c rcd -l dir -d 'Shared directory: sessions start here (same-dir) or in worktrees of the git repository here (worktree). Default: the current directory' -r -F
complete -c rcd -l name -d 'Name of this environment, shown to clients. Default: the host name' -r
complete -c rcd -l spawn -d 'Where new sessions start: same-dir (the shared directory) or worktree (a new git worktree on branch rcd/<session>)' -r
complete -c rcd -l capacity -d 'Most sessions running at once; one more is refused' -r
complete -c rcd -l command -d 'The default program\'s command line, split into shell words, e.g. "claude --verbose" (with no --program, the one program sessions run). Default: your login shell' -r
complete -c rcd -l program -d 'A program sessions may run, as NAME=COMMAND (repeat it), e.g. --program claude=claude --program "codex=codex --full-auto" --program shell= (empty: your login shell). `rcctl new --program NAME` and devices choose among them. Replaces config.toml\'s [programs]' -r
complete -c rcd -l default-program -d 'The program of a session that names none (one of --program)' -r
complete -c rcd -l socket -d 'Control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset' -r -F
complete -c rcd -l state-dir -d 'State directory: state file, transcripts and worktrees. Default: $XDG_STATE_HOME/rcd or ~/.local/state/rcd' -r -F
complete -c rcd -l relay -d 'The relay to register with, e.g. https://relay.example.com (http:// only on loopback). The link only dials out. Without --relay (and without --no-relay) rcd runs a relay of its own on --listen' -r
complete -c rcd -l token-file -d 'File holding the relay\'s enrollment token (rc-relay token create). The token may instead be given in RCD_TOKEN' -r -F
complete -c rcd -l ca-cert -d 'Extra CA certificate (PEM) to trust for the relay, for a relay with a self-made certificate' -r -F
complete -c rcd -l listen -d 'Address of the embedded relay (used when no --relay is given)' -r
complete -c rcd -l outage-timeout -d 'After this much awake time without the relay, stop the sessions (worktree rule applies) and exit with status 75, e.g. 10m, 90s' -r
complete -c rcd -l stop-grace -d 'Seconds between SIGHUP and SIGKILL when a session is stopped' -r
complete -c rcd -l completions -d 'Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell) and exit, e.g. `rcd --completions bash > ~/.local/share/bash-completion/completions/rcd`' -r -f -a "bash\t''
elvish\t''
fish\t''
powershell\t''
zsh\t''"
complete -c rcd -l notify-url -d 'Post a notification to this http(s) URL whenever a session starts to need you (a bell, a desktop notification, its program\'s end): for ntfy, Gotify, Home Assistant or a chat webhook' -r
complete -c rcd -l notify-format -d 'What --notify-url gets: json (`{env, machine, session, kind, message, url}`) or ntfy (its own headers: title, message, click)' -r
complete -c rcd -l sandbox-writable -d 'Another path a sandboxed session may write to, e.g. an agent\'s settings directory (repeat it; RCD_SANDBOX_WRITABLE takes a colon-separated list)' -r -F
complete -c rcd -l sandbox-network -d 'Network of sandboxed sessions: allow, off (none at all), or TCP ports they may connect to, e.g. 443,22 (needs Landlock ABI 4, Linux 6.7)' -r
complete -c rcd -l transcript-max -d 'Most disk one session\'s transcript may take, e.g. 256MiB, 1G (0: no limit). Past it the oldest lines are dropped a segment at a time, and a line says how many' -r
complete -c rcd -l transcript-days -d 'Days the transcript of an ended session is kept (0: for ever)' -r
complete -c rcd -l transcript-segment -d 'Size at which a transcript\'s newest segment is closed and compressed (docs/CONFIG.md)' -r
complete -c rcd -l no-relay -d 'Local only: no relay link, no embedded relay'
complete -c rcd -s v -l verbose -d 'Connection and session detail in the log (RUST_LOG overrides)'
complete -c rcd -l sandbox -d 'Confine every session: it may write only to its own directory (the worktree, or the shared directory), a private TMPDIR and the --sandbox-writable paths; its network is --sandbox-network. A kernel that cannot enforce this makes rcd refuse the session. `rcctl new --no-sandbox` overrides it per session'
complete -c rcd -l no-sandbox -d 'Do not confine sessions (the default); wins over --sandbox and RCD_SANDBOX. `rcctl new --sandbox` still confines one'
complete -c rcd -s h -l help -d 'Print help'
complete -c rcd -s V -l version -d 'Print version'
