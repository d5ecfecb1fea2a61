# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rcctl_global_optspecs
    string join \n socket= relay= R/remote token= ca-cert= h/help V/version
end

function __fish_rcctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rcctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rcctl_using_subcommand
    set -l cmd (__fish_rcctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rcctl -n "__fish_rcctl_needs_command" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_needs_command" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_needs_command" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_needs_command" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_needs_command" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rcctl -n "__fish_rcctl_needs_command" -s V -l version -d 'Print version'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "status" -d 'Version, directory, spawn mode, capacity used/total, uptime, relay link. Through a relay: whether it answers, and each environment'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "list" -d 'The sessions. Through a relay: of every environment, with ENV, MACHINE and ONLINE'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "new" -d 'Start a session and print its name'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "stop" -d 'Stop a session; says whether its worktree was removed or kept'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "send" -d 'Type text into a session, then Enter'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "screen" -d 'Print a session\'s current screen as plain text'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "wait" -d 'Wait until a session needs a person (a bell, a notification, its program\'s end); exit status 1 when --timeout passes first'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "diff" -d 'What a worktree session changed against its base (uncommitted and untracked files included); --stat for the counts, --uncommitted for what is not committed yet'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "answer" -d 'Answer a coding agent\'s permission request in a session: allow or deny. The first answer wins (the phone\'s, the terminal\'s, this)'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "hook" -d 'Run by a coding agent as its hook (Claude Code, Codex): tells rcd that the session needs a person and, for a permission request, prints the answer given from anywhere. Outside rcd it does nothing'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "hooks" -d 'Set up (or remove) rcd\'s hooks in a coding agent\'s settings: `rcctl hooks install claude|codex`, `rcctl hooks uninstall …`'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "transcript" -d 'Print the lines that scrolled off a session\'s screen'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "attach" -d 'Attach this terminal to a session; Ctrl-] detaches'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "worktrees" -d 'Worktrees that were kept because they hold work (local only)'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "prune" -d 'Remove kept worktrees that have since become clean (local only)'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "set" -d 'Change a setting of the running daemon (local only)'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "shutdown" -d 'Stop every session and the daemon, as SIGINT does (SIGTERM leaves the sessions running for the next rcd) (local only)'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "pair" -d 'With --relay: exchange a pairing code shown by rcd for this device\'s token, kept in $XDG_CONFIG_HOME/rcd/credentials.toml'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "devices" -d 'This account\'s devices at the relay (those paired through the same machine enrollment); `rcctl devices revoke ID` ends one'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "logout" -d 'Revoke this device\'s kept token at the relay and forget it (the only relay kept, or --relay URL)'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "completions" -d 'Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell), e.g. `rcctl completions bash > ~/.local/share/bash-completion/completions/rcctl`'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "service" -d 'Run rcd as a service of this user: systemd (Linux) or launchd (macOS). `install`, `uninstall`, `status`'
complete -c rcctl -n "__fish_rcctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand status" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand status" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand status" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand status" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand status" -l json -d 'Print JSON instead of text, for scripts'
complete -c rcctl -n "__fish_rcctl_using_subcommand status" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand list" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand list" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand list" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand list" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand list" -l json -d 'Print JSON instead of text, for scripts'
complete -c rcctl -n "__fish_rcctl_using_subcommand list" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand list" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l env -d 'Through a relay: the environment (a machine\'s rcd) to start the session in, by name or id, as `rcctl --relay URL list` shows it. Needed when the relay has more than one environment' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l name -d 'Session name (letters, digits, \'-\', \'_\', \'.\'; at most 32). Default: a generated one such as brisk-otter' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l spawn -d 'same-dir or worktree. Default: the daemon\'s current spawn mode' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l program -d 'The program to run, by name, one of the machine\'s [programs] (`rcctl status` lists them). Default: its default program' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l sandbox -d 'Confine this session (writes only to its directory, its TMPDIR and rcd\'s --sandbox-writable paths; network as --sandbox-network), even when rcd runs without --sandbox'
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l no-sandbox -d 'Do not confine this session, even when rcd runs with --sandbox'
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -l json -d 'Print the session as a JSON object'
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand new" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand stop" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand stop" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand stop" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand stop" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand stop" -l force -d 'Remove its worktree even if it holds work, after saving the whole working tree (untracked files included) under refs/rcd/saved/NAME'
complete -c rcctl -n "__fish_rcctl_using_subcommand stop" -l json -d 'Print the report as JSON'
complete -c rcctl -n "__fish_rcctl_using_subcommand stop" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand stop" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand send" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand send" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand send" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand send" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand send" -l no-enter -d 'Do not press Enter after the text'
complete -c rcctl -n "__fish_rcctl_using_subcommand send" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand send" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand screen" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand screen" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand screen" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand screen" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand screen" -l json -d 'Print rows, cursor and title as JSON'
complete -c rcctl -n "__fish_rcctl_using_subcommand screen" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand screen" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand wait" -l timeout -d 'Give up after this many seconds (exit status 1); without it, wait as long as it takes' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand wait" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand wait" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand wait" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand wait" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand wait" -l json -d 'Print the attention as JSON: `{"kind", "message", "since"}`'
complete -c rcctl -n "__fish_rcctl_using_subcommand wait" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand wait" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand diff" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand diff" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand diff" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand diff" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand diff" -l stat -d 'Only the files and their counts of added and removed lines'
complete -c rcctl -n "__fish_rcctl_using_subcommand diff" -l uncommitted -d 'Only what is not committed yet (against the worktree\'s HEAD)'
complete -c rcctl -n "__fish_rcctl_using_subcommand diff" -l json -d 'Print the diff as JSON'
complete -c rcctl -n "__fish_rcctl_using_subcommand diff" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand diff" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand answer" -l id -d 'The request to answer (its id, as `rcctl list --json` shows it under attention.request); without it, the one the session shows' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand answer" -l message -d 'With deny: what to tell the agent (e.g. what to do instead)' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand answer" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand answer" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand answer" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand answer" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand answer" -l json -d 'Print the outcome as JSON'
complete -c rcctl -n "__fish_rcctl_using_subcommand answer" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand answer" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand hook" -l timeout -d 'How long a permission request waits for an answer, in seconds; then the hook gives up without a decision' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand hook" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hook" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand hook" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand hook" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hook" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand hook" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall help" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall help" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall help" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall help" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall help" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall help" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall help" -f -a "install" -d 'Add rcd\'s hooks to the agent\'s settings'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall help" -f -a "uninstall" -d 'Remove rcd\'s hooks from the agent\'s settings'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from install" -l file -d 'The settings file to change instead of the agent\'s default' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from install" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from install" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from install" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from install" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from install" -l dry-run -d 'Say what would change, and change nothing'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from install" -l json -d 'Print what changed as JSON'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from install" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l file -d 'The settings file to change instead of the agent\'s default' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l dry-run -d 'Say what would change, and change nothing'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l json -d 'Print what changed as JSON'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "install" -d 'Add rcd\'s hooks to the agent\'s settings'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Remove rcd\'s hooks from the agent\'s settings'
complete -c rcctl -n "__fish_rcctl_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand transcript" -l from -d 'First line to print (lines are numbered from 1)' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand transcript" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand transcript" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand transcript" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand transcript" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand transcript" -s n -l numbers -d 'Prefix each line with its number'
complete -c rcctl -n "__fish_rcctl_using_subcommand transcript" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand transcript" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand attach" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand attach" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand attach" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand attach" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand attach" -l resize -d 'Through a relay only: resize the session to this terminal, and follow its size changes. Without it the session keeps its size and this terminal shows the part that fits. (Local attach always resizes.)'
complete -c rcctl -n "__fish_rcctl_using_subcommand attach" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand attach" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand worktrees" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand worktrees" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand worktrees" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand worktrees" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand worktrees" -l json -d 'Print JSON instead of text, for scripts'
complete -c rcctl -n "__fish_rcctl_using_subcommand worktrees" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand worktrees" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand prune" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand prune" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand prune" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand prune" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand prune" -l json -d 'Print JSON instead of text, for scripts'
complete -c rcctl -n "__fish_rcctl_using_subcommand prune" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand prune" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and not __fish_seen_subcommand_from spawn capacity help" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and not __fish_seen_subcommand_from spawn capacity help" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and not __fish_seen_subcommand_from spawn capacity help" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and not __fish_seen_subcommand_from spawn capacity help" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and not __fish_seen_subcommand_from spawn capacity help" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and not __fish_seen_subcommand_from spawn capacity help" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and not __fish_seen_subcommand_from spawn capacity help" -f -a "spawn" -d 'Spawn mode of the next sessions: same-dir or worktree'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and not __fish_seen_subcommand_from spawn capacity help" -f -a "capacity" -d 'Most sessions running at once (running ones are never stopped)'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and not __fish_seen_subcommand_from spawn capacity help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from spawn" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from spawn" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from spawn" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from spawn" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from spawn" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from spawn" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from capacity" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from capacity" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from capacity" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from capacity" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from capacity" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from capacity" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from help" -f -a "spawn" -d 'Spawn mode of the next sessions: same-dir or worktree'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from help" -f -a "capacity" -d 'Most sessions running at once (running ones are never stopped)'
complete -c rcctl -n "__fish_rcctl_using_subcommand set; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand shutdown" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand shutdown" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand shutdown" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand shutdown" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand shutdown" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand shutdown" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -l label -d 'A name for this device in the relay\'s device list, e.g. "laptop"' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -l save -d 'Write the token to FILE (mode 0600) instead of rcctl\'s credentials file' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -l print-token -d 'Print the token on stdout (with --json, as "token") instead of storing it, for a script that keeps it itself'
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -l json -d 'Print JSON for scripts: relay, device and where the token went'
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand pair" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and not __fish_seen_subcommand_from revoke help" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and not __fish_seen_subcommand_from revoke help" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and not __fish_seen_subcommand_from revoke help" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and not __fish_seen_subcommand_from revoke help" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and not __fish_seen_subcommand_from revoke help" -l json -d 'Print JSON instead of text, for scripts'
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and not __fish_seen_subcommand_from revoke help" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and not __fish_seen_subcommand_from revoke help" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and not __fish_seen_subcommand_from revoke help" -f -a "revoke" -d 'Revoke the device token ID (from `rcctl devices`): that device can no longer reach the relay, and needs a new pairing'
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and not __fish_seen_subcommand_from revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and __fish_seen_subcommand_from revoke" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and __fish_seen_subcommand_from revoke" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and __fish_seen_subcommand_from revoke" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and __fish_seen_subcommand_from revoke" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and __fish_seen_subcommand_from revoke" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke the device token ID (from `rcctl devices`): that device can no longer reach the relay, and needs a new pairing'
complete -c rcctl -n "__fish_rcctl_using_subcommand devices; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand logout" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand logout" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand logout" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand logout" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand logout" -l force -d 'When the relay cannot be reached (or refuses), forget the token here anyway; it stays valid at the relay until revoked from another device (rcctl devices revoke ID)'
complete -c rcctl -n "__fish_rcctl_using_subcommand logout" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand logout" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand completions" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand completions" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand completions" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand completions" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand completions" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "install" -d 'Render and install the service for this user, enable and start it'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "uninstall" -d 'Stop, disable and remove the service'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "status" -d 'Show the service manager\'s view of the service'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l dir -d 'Shared directory of the sessions. Default: the current directory' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l spawn -d 'same-dir or worktree' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l capacity -d 'Most sessions at once' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l name -d 'Environment name shown to devices. Default: the host name' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l relay -d 'Relay URL (https://…). Without it rcd runs its embedded relay' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l token-file -d 'The relay\'s enrollment token file (with --relay)' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l program -d 'A program the service\'s sessions may run, NAME=COMMAND (repeat it; an empty COMMAND is the login shell), as rcd\'s --program. Without it the service reads [programs] from its config.toml' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l default-program -d 'The program of a session that names none (rcd --default-program)' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l command -d 'The default program\'s command line (rcd --command)' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l config -d 'The configuration file the service reads (rcd --config). Default: ~/.config/rcd/config.toml, when it exists' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l rcd -d 'The rcd binary to run. Default: the rcd next to this rcctl, else the one on PATH' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l platform -d 'Render for this platform instead of the current one (with --dry-run)' -r -f -a "linux\t'A systemd user unit'
macos\t'A launchd agent'"
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l no-relay -d 'Local only: no relay at all'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -l dry-run -d 'Print what would be written and run; change nothing'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from uninstall" -l platform -d 'Render for this platform instead of the current one (with --dry-run)' -r -f -a "linux\t'A systemd user unit'
macos\t'A launchd agent'"
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from uninstall" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from uninstall" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from uninstall" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from uninstall" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from uninstall" -l dry-run -d 'Print what would be written and run; change nothing'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from uninstall" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from status" -l platform -d 'Render for this platform instead of the current one (with --dry-run)' -r -f -a "linux\t'A systemd user unit'
macos\t'A launchd agent'"
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from status" -l socket -d 'The daemon\'s control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset. Given on the command line, it wins over RCD_RELAY' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from status" -l relay -d 'Go through the rc-relay at URL (https://…, or http:// on loopback) instead of the local socket' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from status" -l token -d 'This device\'s token for --relay (rcdev_…); wins over the one that `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines are visible to other users' -r
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from status" -l ca-cert -d 'Also trust the CA certificate in FILE (PEM) for --relay, e.g. the self-made certificate of a relay' -r -F
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from status" -l dry-run -d 'Print what would be written and run; change nothing'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from status" -s R -l remote -d 'Go through the relay this device was paired with, when only one is kept in the credentials file (rcctl pair), without naming its URL'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "install" -d 'Render and install the service for this user, enable and start it'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Stop, disable and remove the service'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show the service manager\'s view of the service'
complete -c rcctl -n "__fish_rcctl_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "status" -d 'Version, directory, spawn mode, capacity used/total, uptime, relay link. Through a relay: whether it answers, and each environment'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "list" -d 'The sessions. Through a relay: of every environment, with ENV, MACHINE and ONLINE'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "new" -d 'Start a session and print its name'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "stop" -d 'Stop a session; says whether its worktree was removed or kept'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "send" -d 'Type text into a session, then Enter'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "screen" -d 'Print a session\'s current screen as plain text'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "wait" -d 'Wait until a session needs a person (a bell, a notification, its program\'s end); exit status 1 when --timeout passes first'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "diff" -d 'What a worktree session changed against its base (uncommitted and untracked files included); --stat for the counts, --uncommitted for what is not committed yet'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "answer" -d 'Answer a coding agent\'s permission request in a session: allow or deny. The first answer wins (the phone\'s, the terminal\'s, this)'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "hook" -d 'Run by a coding agent as its hook (Claude Code, Codex): tells rcd that the session needs a person and, for a permission request, prints the answer given from anywhere. Outside rcd it does nothing'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "hooks" -d 'Set up (or remove) rcd\'s hooks in a coding agent\'s settings: `rcctl hooks install claude|codex`, `rcctl hooks uninstall …`'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "transcript" -d 'Print the lines that scrolled off a session\'s screen'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "attach" -d 'Attach this terminal to a session; Ctrl-] detaches'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "worktrees" -d 'Worktrees that were kept because they hold work (local only)'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "prune" -d 'Remove kept worktrees that have since become clean (local only)'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "set" -d 'Change a setting of the running daemon (local only)'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "shutdown" -d 'Stop every session and the daemon, as SIGINT does (SIGTERM leaves the sessions running for the next rcd) (local only)'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "pair" -d 'With --relay: exchange a pairing code shown by rcd for this device\'s token, kept in $XDG_CONFIG_HOME/rcd/credentials.toml'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "devices" -d 'This account\'s devices at the relay (those paired through the same machine enrollment); `rcctl devices revoke ID` ends one'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "logout" -d 'Revoke this device\'s kept token at the relay and forget it (the only relay kept, or --relay URL)'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "completions" -d 'Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell), e.g. `rcctl completions bash > ~/.local/share/bash-completion/completions/rcctl`'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "service" -d 'Run rcd as a service of this user: systemd (Linux) or launchd (macOS). `install`, `uninstall`, `status`'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and not __fish_seen_subcommand_from status list new stop send screen wait diff answer hook hooks transcript attach worktrees prune set shutdown pair devices logout completions service help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "install" -d 'Add rcd\'s hooks to the agent\'s settings'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "uninstall" -d 'Remove rcd\'s hooks from the agent\'s settings'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and __fish_seen_subcommand_from set" -f -a "spawn" -d 'Spawn mode of the next sessions: same-dir or worktree'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and __fish_seen_subcommand_from set" -f -a "capacity" -d 'Most sessions running at once (running ones are never stopped)'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and __fish_seen_subcommand_from devices" -f -a "revoke" -d 'Revoke the device token ID (from `rcctl devices`): that device can no longer reach the relay, and needs a new pairing'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "install" -d 'Render and install the service for this user, enable and start it'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "uninstall" -d 'Stop, disable and remove the service'
complete -c rcctl -n "__fish_rcctl_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "status" -d 'Show the service manager\'s view of the service'
