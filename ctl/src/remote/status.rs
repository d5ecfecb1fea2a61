//! `rcctl --relay URL status`: whether the relay answers and accepts the
//! token, and the state of each environment.

use super::Remote;
use crate::cmd;

pub async fn run(remote: &Remote, args: cmd::Json) -> anyhow::Result<()> {
    let envs = remote.environments().await?;
    if args.json {
        return cmd::print_json(&serde_json::json!({
            "relay": remote.url,
            "environments": envs,
        }));
    }
    println!("relay:     {} (reachable, token accepted)", remote.url);
    if envs.is_empty() {
        println!(
            "environments: none (start rcd on a machine with --relay {})",
            remote.url
        );
        return Ok(());
    }
    for e in &envs {
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
        println!("  sessions:  {}/{}", e.used, e.capacity);
    }
    Ok(())
}
