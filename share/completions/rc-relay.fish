# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rc_relay_global_optspecs
    string join \n config= data-dir= redis= v/verbose h/help V/version
end

function __fish_rc_relay_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rc_relay_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rc_relay_using_subcommand
    set -l cmd (__fish_rc_relay_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rc-relay -n "__fish_rc_relay_needs_command" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_needs_command" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_needs_command" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_needs_command" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_needs_command" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_needs_command" -s V -l version -d 'Print version'
complete -c rc-relay -n "__fish_rc_relay_needs_command" -f -a "serve" -d 'Run the relay'
complete -c rc-relay -n "__fish_rc_relay_needs_command" -f -a "token" -d 'Enrollment tokens (held by machines running rcd)'
complete -c rc-relay -n "__fish_rc_relay_needs_command" -f -a "device" -d 'Device tokens (made by pairing)'
complete -c rc-relay -n "__fish_rc_relay_needs_command" -f -a "completions" -d 'Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell), e.g. `rc-relay completions bash > ~/.local/share/bash-completion/completions/rc-relay`'
complete -c rc-relay -n "__fish_rc_relay_needs_command" -f -a "cert" -d 'TLS certificates for `serve --tls-cert/--tls-key`'
complete -c rc-relay -n "__fish_rc_relay_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l listen -d 'Address to listen on, e.g. 0.0.0.0:443 or 127.0.0.1:0 (any free port; the first line on stdout says which)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l tls-cert -d 'PEM certificate chain: serve HTTPS (with --tls-key). `rc-relay cert create` makes one' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l acme -d 'Serve HTTPS with a certificate for HOST obtained (and renewed) by ACME, e.g. from Let\'s Encrypt; repeat for more names. HOST must resolve to this relay and the CA must reach --listen\'s port (443). The account and certificate are kept in the data directory' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l acme-email -d 'The e-mail address of the ACME account (the CA writes there about expiring certificates)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l acme-directory -d 'The ACME directory URL [default: Let\'s Encrypt\'s production directory]' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l acme-ca-cert -d 'A PEM certificate to trust when talking to the ACME server (a test CA\'s own HTTPS certificate), beyond the public roots' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l credential-ttl -d 'Lifetime of environment and session credentials, in seconds' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l heartbeat-interval -d 'Heartbeat interval told to daemons, in seconds' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l offline-after -d 'An environment is offline after this long without a heartbeat [default: 3 heartbeat intervals]' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l forget-after -d 'An environment is dropped from every list after this long without a heartbeat' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l poll-timeout -d 'Longest a daemon\'s work poll is held open' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l work-timeout -d 'How long a device waits for a daemon to create or stop a session' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l ping-interval -d 'Ping interval on session links and attach sockets; two missed pongs close one' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l header-timeout -d 'How long a client has to finish its TLS handshake and to send each request\'s header (also how long a kept-alive connection may sit idle); a slower one is closed' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l max-connections -d 'Most connections open at once (HTTP and WebSocket); beyond it new ones are refused, with a warning in the log. Keep it below the process\'s open-file limit (LimitNOFILE= in systemd)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l push-contact -d 'Who runs this relay, for the push services that deliver its notifications (the VAPID `sub` claim): a `mailto:` or `https:` URL. Some push services refuse pushes without a real one' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand serve" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "create" -d 'Make an enrollment token; it is printed once, on stdout'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "list" -d 'List enrollment tokens (never their secrets)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "revoke" -d 'Revoke an enrollment token, with every device token it owns; a running relay drops its machines within seconds'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from create" -l label -d 'A name to recognise it by, e.g. the machine\'s' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from create" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from create" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from create" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from create" -l json
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from list" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from list" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from list" -l json
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from revoke" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from revoke" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from revoke" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "create" -d 'Make an enrollment token; it is printed once, on stdout'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "list" -d 'List enrollment tokens (never their secrets)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke an enrollment token, with every device token it owns; a running relay drops its machines within seconds'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and not __fish_seen_subcommand_from list revoke help" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and not __fish_seen_subcommand_from list revoke help" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and not __fish_seen_subcommand_from list revoke help" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and not __fish_seen_subcommand_from list revoke help" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and not __fish_seen_subcommand_from list revoke help" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and not __fish_seen_subcommand_from list revoke help" -f -a "list" -d 'List device tokens (never their secrets)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and not __fish_seen_subcommand_from list revoke help" -f -a "revoke" -d 'Revoke a device token; its open sessions are closed'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and not __fish_seen_subcommand_from list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from list" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from list" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from list" -l json
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from revoke" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from revoke" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from revoke" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "list" -d 'List device tokens (never their secrets)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a device token; its open sessions are closed'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand completions" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand completions" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand completions" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand completions" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand completions" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and not __fish_seen_subcommand_from create help" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and not __fish_seen_subcommand_from create help" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and not __fish_seen_subcommand_from create help" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and not __fish_seen_subcommand_from create help" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and not __fish_seen_subcommand_from create help" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and not __fish_seen_subcommand_from create help" -f -a "create" -d 'Make a self-signed server certificate and key for the names clients use in the relay\'s URL, and say how to serve with it and how rcd and rcctl trust it (--ca-cert)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and not __fish_seen_subcommand_from create help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -l name -d 'A host name or IP address of the relay, as in its URL (repeat for more: --name relay.example.com --name 192.0.2.7)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -l out -d 'Where to write cert.pem and key.pem' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -l days -d 'How many days the certificate is valid' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -l config -d 'Configuration file (TOML): long options as keys, e.g. `redis = "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the environment win over it [default: $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -l data-dir -d 'Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else ~/.local/share/rc-relay]' -r -F
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -l redis -d 'Keep tokens, environments and work in this Redis (7 or newer) instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a password as redis://:PASSWORD@HOST:PORT/DB)' -r
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -l force -d 'Replace cert.pem and key.pem if they exist'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -l json
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Debug logging (RUST_LOG overrides)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "create" -d 'Make a self-signed server certificate and key for the names clients use in the relay\'s URL, and say how to serve with it and how rcd and rcctl trust it (--ca-cert)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and not __fish_seen_subcommand_from serve token device completions cert help" -f -a "serve" -d 'Run the relay'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and not __fish_seen_subcommand_from serve token device completions cert help" -f -a "token" -d 'Enrollment tokens (held by machines running rcd)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and not __fish_seen_subcommand_from serve token device completions cert help" -f -a "device" -d 'Device tokens (made by pairing)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and not __fish_seen_subcommand_from serve token device completions cert help" -f -a "completions" -d 'Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell), e.g. `rc-relay completions bash > ~/.local/share/bash-completion/completions/rc-relay`'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and not __fish_seen_subcommand_from serve token device completions cert help" -f -a "cert" -d 'TLS certificates for `serve --tls-cert/--tls-key`'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and not __fish_seen_subcommand_from serve token device completions cert help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "create" -d 'Make an enrollment token; it is printed once, on stdout'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "list" -d 'List enrollment tokens (never their secrets)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "revoke" -d 'Revoke an enrollment token, with every device token it owns; a running relay drops its machines within seconds'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "list" -d 'List device tokens (never their secrets)'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "revoke" -d 'Revoke a device token; its open sessions are closed'
complete -c rc-relay -n "__fish_rc_relay_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "create" -d 'Make a self-signed server certificate and key for the names clients use in the relay\'s URL, and say how to serve with it and how rcd and rcctl trust it (--ca-cert)'
