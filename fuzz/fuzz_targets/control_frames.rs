//! The control socket's framing (a 4-byte big-endian length, then JSON),
//! fed a stream of arbitrary bytes. First byte even: the daemon's side,
//! reading as `daemon/src/control.rs` does (a hello, requests, and after
//! `attach` the attach input) with `read_frame_rest` and its limit of
//! `MAX_REQUEST_LEN`. Odd: rcctl's side, reading the daemon's answers
//! with the blocking `read_frame` (`ServerHello`, `Response`s, then
//! `AttachOutput`). A frame must never be read past its announced length
//! nor past the reader's maximum, and whatever decodes round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcd_fuzz::{ready, roundtrip};
use rcd_proto::frame::tokio_io::read_frame_rest;
use rcd_proto::frame::{FrameError, MAX_FRAME_LEN, MAX_REQUEST_LEN, read_frame};
use rcd_proto::{AttachInput, AttachOutput, ClientHello, Request, Response, ServerHello};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

fuzz_target!(|data: &[u8]| {
    let Some((&side, stream)) = data.split_first() else {
        return;
    };
    if side % 2 == 0 {
        daemon_reads(stream);
    } else {
        client_reads(stream);
    }
});

/// The length a frame at the front of `r` announces, if it has a prefix.
fn announced(r: &[u8]) -> Option<usize> {
    r.first_chunk::<4>()
        .map(|p| u32::from_be_bytes(*p) as usize)
}

/// What a read must have done with the frame at the front of `before`,
/// leaving `after`.
fn check<T>(before: &[u8], after: &[u8], result: &Result<T, FrameError>, max: usize) {
    match announced(before) {
        None => assert!(
            matches!(result, Err(FrameError::Closed | FrameError::Truncated)),
            "a partial prefix is an end, not a frame"
        ),
        Some(len) if len > max => {
            assert!(
                matches!(result, Err(FrameError::TooLarge { .. })),
                "{len} > {max}"
            );
        }
        Some(len) if before.len() < 4 + len => {
            assert!(matches!(result, Err(FrameError::Truncated)), "short body");
        }
        Some(len) => {
            assert_eq!(
                after.len(),
                before.len() - 4 - len,
                "read exactly one frame"
            );
            assert!(!matches!(
                result,
                Err(FrameError::TooLarge { .. } | FrameError::Truncated)
            ));
        }
    }
}

/// One frame as the daemon reads it: a first byte, then the rest.
fn daemon_next<T>(r: &mut &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let before = *r;
    let (&first, rest) = r.split_first()?;
    *r = rest;
    let result = ready(read_frame_rest::<_, T>(r, first, MAX_REQUEST_LEN));
    check(before, r, &result, MAX_REQUEST_LEN);
    let msg = result.ok()?;
    roundtrip(&msg);
    Some(msg)
}

fn daemon_reads(mut r: &[u8]) {
    let Some(_hello) = daemon_next::<ClientHello>(&mut r) else {
        return;
    };
    loop {
        match daemon_next::<Request>(&mut r) {
            Some(Request::Attach { .. }) => break,
            Some(_) => {}
            None => return,
        }
    }
    while let Some(input) = daemon_next::<AttachInput>(&mut r) {
        if input == AttachInput::Detach {
            return;
        }
    }
}

/// One frame as rcctl reads it.
fn client_next<T>(r: &mut &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let before = *r;
    if before.is_empty() {
        assert!(matches!(read_frame::<_, T>(r), Err(FrameError::Closed)));
        return None;
    }
    let result = read_frame::<_, T>(r);
    check(before, r, &result, MAX_FRAME_LEN);
    let msg = result.ok()?;
    roundtrip(&msg);
    Some(msg)
}

fn client_reads(mut r: &[u8]) {
    if client_next::<ServerHello>(&mut r).is_none() {
        return;
    }
    loop {
        match client_next::<Response>(&mut r) {
            Some(Response::Attached { .. }) => break,
            Some(_) => {}
            None => return,
        }
    }
    while let Some(out) = client_next::<AttachOutput>(&mut r) {
        if matches!(out, AttachOutput::Exited { .. } | AttachOutput::Detached) {
            return;
        }
    }
}
