//! What the in-process tests share: a temporary world and one request
//! over the control socket.

use rcd_proto::frame::tokio_io::{read_frame, write_frame};
use rcd_proto::{ClientHello, FrameError, Request, Response, ServerHello};
use std::path::Path;
use tokio::net::UnixStream;

/// The command line of an rcd in `dir` on `dir/s.sock` running `sh`, plus
/// `extra`.
pub fn args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "rcd".into(),
        "--dir".into(),
        dir.display().to_string(),
        "--socket".into(),
        dir.join("s.sock").display().to_string(),
        "--state-dir".into(),
        dir.join("state").display().to_string(),
        "--command".into(),
        "sh".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The configuration of `args`, its keeper the rcd binary built beside
/// the tests (this test binary is not one).
pub fn config(args: Vec<String>) -> rcd::config::Config {
    use clap::Parser;
    let mut cfg = rcd::config::Config::from_cli(rcd::Cli::parse_from(args)).expect("config");
    cfg.keeper_exe = env!("CARGO_BIN_EXE_rcd").into();
    cfg
}

/// Says hello, sends `req`, reads the answer.
pub async fn call(socket: &Path, req: &Request) -> Result<Response, FrameError> {
    let mut s = UnixStream::connect(socket).await?;
    write_frame(&mut s, &ClientHello::current()).await?;
    let _: ServerHello = read_frame(&mut s).await?;
    write_frame(&mut s, req).await?;
    read_frame(&mut s).await
}
