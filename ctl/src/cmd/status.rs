use crate::client::unexpected;
use rcd_proto::{Request, Response};
use std::path::Path;

pub fn run(socket: &Path, args: super::Json) -> anyhow::Result<()> {
    let Response::Status(s) = super::call(socket, &Request::Status)? else {
        return Err(unexpected(Response::Ok));
    };
    if args.json {
        return super::print_json(&s);
    }
    println!("rcd {} (protocol {}), pid {}", s.version, s.protocol, s.pid);
    println!("name:      {} on {}", s.name, s.machine);
    println!("directory: {}", s.dir);
    println!("spawn:     {}", s.spawn);
    println!("sessions:  {}/{}", s.used, s.capacity);
    println!("uptime:    {}", uptime(s.uptime_secs));
    println!("relay:     none (local only)");
    println!("socket:    {}", s.socket);
    println!("state:     {}", s.state_dir);
    Ok(())
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
