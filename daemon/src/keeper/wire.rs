//! The keeper's framing: length-prefixed JSON messages on a Unix stream
//! socket, each carrying up to [`MAX_FDS`] file descriptors
//! (`SCM_RIGHTS`).
//!
//! A frame is `[len: u32 LE][fds: u8][len bytes of JSON]`, written with
//! one `sendmsg` whose ancillary data holds the descriptors. The kernel
//! delivers them with the frame's first bytes, so the reader, which reads
//! frames in order, queues every descriptor it receives and hands each
//! frame as many as its header says.
//!
//! The only `unsafe` here takes ownership of the descriptors the kernel
//! just installed in this process (`recvmsg` with `MSG_CMSG_CLOEXEC`, so
//! none of them leaks into a program started later).
#![allow(unsafe_code)]

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use tokio::io::Interest;
use tokio::net::UnixStream;

/// Most descriptors one frame carries.
pub const MAX_FDS: usize = 4;
/// Largest frame body: a session's record is a few KiB, a welcome with
/// every session of a full rcd well under this.
pub const MAX_FRAME: usize = 8 * 1024 * 1024;

const HEADER: usize = 5;

/// One end of a keeper connection.
#[derive(Debug)]
pub struct Conn {
    stream: UnixStream,
    buf: Vec<u8>,
    fds: VecDeque<OwnedFd>,
}

impl Conn {
    pub fn new(stream: UnixStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            fds: VecDeque::new(),
        }
    }

    /// The process at the other end (Linux and macOS both tell).
    pub fn peer_pid(&self) -> Option<i32> {
        self.stream.peer_cred().ok().and_then(|c| c.pid())
    }

    /// Sends `msg` with `fds` (at most [`MAX_FDS`]).
    pub async fn send<T: Serialize>(&self, msg: &T, fds: &[RawFd]) -> io::Result<()> {
        debug_assert!(fds.len() <= MAX_FDS);
        let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
        let mut frame = Vec::with_capacity(HEADER + body.len());
        frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
        frame.push(fds.len() as u8);
        frame.extend_from_slice(&body);
        let mut sent = 0;
        while sent < frame.len() {
            let rest = &frame[sent..];
            // The descriptors go with the frame's first bytes only.
            let with = if sent == 0 { fds } else { &[] };
            let n = self
                .stream
                .async_io(Interest::WRITABLE, || {
                    let iov = [IoSlice::new(rest)];
                    let cmsg = [ControlMessage::ScmRights(with)];
                    let cmsgs: &[ControlMessage] = if with.is_empty() { &[] } else { &cmsg };
                    sendmsg::<()>(
                        self.stream.as_raw_fd(),
                        &iov,
                        cmsgs,
                        MsgFlags::MSG_NOSIGNAL,
                        None,
                    )
                    .map_err(io::Error::from)
                })
                .await?;
            sent += n;
        }
        Ok(())
    }

    /// The next message and its descriptors; `Ok(None)` when the other
    /// end closed the connection between frames.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
        loop {
            if let Some(frame) = self.take_frame()? {
                return Ok(Some(frame));
            }
            if self.read_more().await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the keeper connection closed inside a frame",
                    ))
                };
            }
        }
    }

    fn take_frame<T: DeserializeOwned>(&mut self) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
        if self.buf.len() < HEADER {
            return Ok(None);
        }
        let len = u32::from_le_bytes(self.buf[..4].try_into().expect("4 bytes")) as usize;
        let nfds = usize::from(self.buf[4]);
        if len > MAX_FRAME || nfds > MAX_FDS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a keeper frame of {len} bytes with {nfds} descriptors is over the limit"),
            ));
        }
        if self.buf.len() < HEADER + len {
            return Ok(None);
        }
        if self.fds.len() < nfds {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a keeper frame came without its descriptors",
            ));
        }
        let msg = serde_json::from_slice(&self.buf[HEADER..HEADER + len])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.buf.drain(..HEADER + len);
        let fds = self.fds.drain(..nfds).collect();
        Ok(Some((msg, fds)))
    }

    async fn read_more(&mut self) -> io::Result<usize> {
        let mut chunk = vec![0u8; 64 * 1024];
        let (n, fds) = self
            .stream
            .async_io(Interest::READABLE, || {
                let mut iov = [IoSliceMut::new(&mut chunk)];
                let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
                let msg = recvmsg::<()>(
                    self.stream.as_raw_fd(),
                    &mut iov,
                    Some(&mut space),
                    MsgFlags::MSG_CMSG_CLOEXEC,
                )
                .map_err(io::Error::from)?;
                let mut fds = Vec::new();
                for c in msg.cmsgs().map_err(io::Error::from)? {
                    if let ControlMessageOwned::ScmRights(got) = c {
                        fds.extend(got);
                    }
                }
                Ok((msg.bytes, fds))
            })
            .await?;
        for fd in fds {
            // SAFETY: the kernel just installed `fd` in this process for
            // this message; nothing else owns it.
            self.fds.push_back(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[tokio::test]
    async fn frames_carry_their_descriptors_in_order() {
        let (a, b) = UnixStream::pair().unwrap();
        let (a, mut b) = (Conn::new(a), Conn::new(b));
        let (mut r1, w1) = std::os::unix::net::UnixStream::pair().unwrap();
        let (mut r2, w2) = std::os::unix::net::UnixStream::pair().unwrap();
        // The big frame fills the socket: it is sent while the other end
        // reads.
        let sender = tokio::spawn(async move {
            a.send(&"one", &[w1.as_raw_fd()]).await.unwrap();
            a.send(&"none", &[]).await.unwrap();
            let big = "x".repeat(300_000);
            a.send(&big, &[w2.as_raw_fd()]).await.unwrap();
            a
        });
        let (m, fds): (String, _) = b.recv().await.unwrap().unwrap();
        assert_eq!((m.as_str(), fds.len()), ("one", 1));
        std::fs::File::from(fds.into_iter().next().unwrap())
            .write_all(b"1")
            .unwrap();
        let (m, fds): (String, _) = b.recv().await.unwrap().unwrap();
        assert_eq!((m.as_str(), fds.len()), ("none", 0));
        let (m, fds): (String, _) = b.recv().await.unwrap().unwrap();
        assert_eq!((m.len(), fds.len()), (300_000, 1));
        std::fs::File::from(fds.into_iter().next().unwrap())
            .write_all(b"2")
            .unwrap();
        let mut got = [0u8; 1];
        r1.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"1");
        r2.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"2");
        drop(sender.await.unwrap());
        assert!(b.recv::<String>().await.unwrap().is_none());
    }
}
