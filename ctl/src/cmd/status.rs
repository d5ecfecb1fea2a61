//! `rcctl status`: the daemon's version, directory, spawn mode, capacity,
//! uptime and relay link; through a relay, whether it answers and the
//! state of each environment.

use crate::backend::{Backend, Status};
use rcd_proto::relay::EnvironmentView;
use rcd_proto::{LinkStatus, StatusInfo};

pub fn run(backend: &mut Backend, args: super::Json) -> anyhow::Result<()> {
    match backend.status()? {
        Status::Daemon(s) => daemon(&s, args.json),
        Status::Relay { url, environments } => relay(&url, &environments, args.json),
    }
}

fn daemon(s: &StatusInfo, json: bool) -> anyhow::Result<()> {
    if json {
        return super::print_json(s);
    }
    println!("rcd {} (protocol {}), pid {}", s.version, s.protocol, s.pid);
    println!("name:      {} on {}", s.name, s.machine);
    println!("directory: {}", s.dir);
    println!("spawn:     {}", s.spawn);
    if !s.programs.is_empty() {
        println!(
            "programs:  {}",
            programs(&s.programs, s.default_program.as_deref())
        );
    }
    if s.adopted > 0 {
        println!(
            "sessions:  {}/{} ({} adopted from the last rcd)",
            s.used, s.capacity, s.adopted
        );
    } else {
        println!("sessions:  {}/{}", s.used, s.capacity);
    }
    println!("uptime:    {}", uptime(s.uptime_secs));
    println!("relay:     {}", link(s.link.as_ref()));
    if let Some(n) = &s.notify {
        let failed = match (&n.last_error, n.failed) {
            (_, 0) => String::new(),
            (Some(e), f) => format!(", {f} failed (last: {e})"),
            (None, f) => format!(", {f} failed"),
        };
        println!("notify:    {} ({} delivered{failed})", n.url, n.delivered);
    }
    println!("socket:    {}", s.socket);
    println!("state:     {}", s.state_dir);
    Ok(())
}

fn relay(url: &str, envs: &[EnvironmentView], json: bool) -> anyhow::Result<()> {
    if json {
        return super::print_json(&serde_json::json!({
            "relay": url,
            "environments": envs,
        }));
    }
    println!("relay:     {url} (reachable, token accepted)");
    if envs.is_empty() {
        println!("environments: none (start rcd on a machine with --relay {url})");
        return Ok(());
    }
    for e in envs {
        let presence = if e.online {
            "online".to_string()
        } else {
            format!("offline, last seen {}s ago", e.last_seen_secs)
        };
        println!();
        println!("{} on {} (id {}): {presence}", e.name, e.machine, e.id);
        println!("  rcd:       {}", e.version);
        println!("  directory: {}", e.dir);
        println!("  spawn:     {}", e.spawn);
        if !e.programs.is_empty() {
            println!(
                "  programs:  {}",
                programs(&e.programs, e.default_program.as_deref())
            );
        }
        println!("  sessions:  {}/{}", e.used, e.capacity);
    }
    Ok(())
}

/// `claude (default), codex, shell`.
fn programs(names: &[String], default: Option<&str>) -> String {
    names
        .iter()
        .map(|n| {
            if Some(n.as_str()) == default {
                format!("{n} (default)")
            } else {
                n.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The relay link in one line: its state, since when, the next retry and
/// the outage time left.
fn link(link: Option<&LinkStatus>) -> String {
    let Some(l) = link else {
        return "none (local only)".into();
    };
    let mut out = format!(
        "{} to {}{} for {}",
        l.state,
        l.relay,
        if l.embedded { " (embedded)" } else { "" },
        uptime(l.since_secs)
    );
    if let Some(id) = &l.environment_id {
        out.push_str(&format!(", environment {id}"));
    }
    if let Some(next) = l.next_retry_secs {
        out.push_str(&format!("; next retry in {}", uptime(next)));
    }
    if let Some(left) = l.outage_left_secs {
        out.push_str(&format!("; exits after {} more of outage", uptime(left)));
    }
    if let Some(e) = &l.last_error {
        out.push_str(&format!(" (last error: {e})"));
    }
    out
}

fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_line_says_state_retry_and_outage() {
        assert_eq!(link(None), "none (local only)");
        let mut l = LinkStatus {
            relay: "https://relay.example".into(),
            embedded: false,
            state: rcd_proto::LinkState::Connected,
            environment_id: Some("env1".into()),
            since_secs: 125,
            next_retry_secs: None,
            outage_left_secs: None,
            last_error: None,
        };
        assert_eq!(
            link(Some(&l)),
            "connected to https://relay.example for 2m 5s, environment env1"
        );
        l.state = rcd_proto::LinkState::Reconnecting;
        l.since_secs = 12;
        l.next_retry_secs = Some(3);
        l.outage_left_secs = Some(588);
        l.last_error = Some("connection refused".into());
        assert_eq!(
            link(Some(&l)),
            "reconnecting to https://relay.example for 12s, environment env1; next retry in \
             3s; exits after 9m 48s more of outage (last error: connection refused)"
        );
    }
}
