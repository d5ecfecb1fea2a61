//! Framing: a 4-byte big-endian length followed by that many bytes of
//! JSON. The length is checked against the reader's maximum
//! ([`MAX_FRAME_LEN`], or [`MAX_REQUEST_LEN`] for what rcd reads from its
//! clients) first, and the buffer grows as bytes arrive rather than being
//! allocated at the announced length, so a peer that announces a large
//! frame and sends little of it holds little memory.

use serde::{Serialize, de::DeserializeOwned};
use std::io::{self, Read, Write};

/// Largest frame either side accepts, in bytes of payload.
pub const MAX_FRAME_LEN: usize = 4 * 1024 * 1024;

/// Largest frame rcd reads from a client (requests and attach input). A
/// request is at most a command-line argument (`rcctl send`'s text, which
/// Linux caps at 128 KiB) with its JSON escaping, or a keyboard read.
pub const MAX_REQUEST_LEN: usize = 512 * 1024;

/// What the body buffer starts at; it grows as bytes arrive.
const FIRST_ALLOCATION: usize = 16 * 1024;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection cleanly between frames.
    #[error("connection closed")]
    Closed,
    /// The length prefix announces more than the maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge { len: usize, max: usize },
    /// The connection ended in the middle of a frame.
    #[error("connection closed in the middle of a frame")]
    Truncated,
    /// The payload is not a message this side understands.
    #[error(
        "could not decode a frame ({0}); are client and daemon the same version? \
         Restart rcd with the binary that came with this rcctl"
    )]
    Decode(#[source] serde_json::Error),
    /// Transport error.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

/// Encodes `msg` as one frame (length prefix included).
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let body = serde_json::to_vec(msg).map_err(FrameError::Decode)?;
    if body.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge {
            len: body.len(),
            max: MAX_FRAME_LEN,
        });
    }
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooLarge {
        len: body.len(),
        max: MAX_FRAME_LEN,
    })?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a frame payload (without its length prefix).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(body).map_err(FrameError::Decode)
}

fn check_len(prefix: [u8; 4], max: usize) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(len)
}

fn body_buffer(len: usize) -> Vec<u8> {
    Vec::with_capacity(len.min(FIRST_ALLOCATION))
}

fn complete(body: &[u8], len: usize) -> Result<(), FrameError> {
    if body.len() < len {
        return Err(FrameError::Truncated);
    }
    Ok(())
}

fn eof_to(err: io::Error, at_start: bool) -> FrameError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        if at_start {
            FrameError::Closed
        } else {
            FrameError::Truncated
        }
    } else {
        FrameError::Io(err)
    }
}

/// Writes one frame to a blocking writer.
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    w.write_all(&encode(msg)?)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame from a blocking reader.
pub fn read_frame<R: Read, T: DeserializeOwned>(r: &mut R) -> Result<T, FrameError> {
    let mut prefix = [0u8; 4];
    r.read_exact(&mut prefix).map_err(|e| eof_to(e, true))?;
    let len = check_len(prefix, MAX_FRAME_LEN)?;
    let mut body = body_buffer(len);
    r.take(len as u64)
        .read_to_end(&mut body)
        .map_err(|e| eof_to(e, false))?;
    complete(&body, len)?;
    decode(&body)
}

/// Async framing over tokio streams.
#[cfg(feature = "tokio")]
pub mod tokio_io {
    use super::{
        FrameError, MAX_FRAME_LEN, body_buffer, check_len, complete, decode, encode, eof_to,
    };
    use serde::{Serialize, de::DeserializeOwned};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

    /// Writes one frame.
    pub async fn write_frame<W, T>(w: &mut W, msg: &T) -> Result<(), FrameError>
    where
        W: AsyncWrite + Unpin,
        T: Serialize,
    {
        w.write_all(&encode(msg)?).await?;
        w.flush().await?;
        Ok(())
    }

    /// Reads one frame of at most [`MAX_FRAME_LEN`]. Cancel-safe only
    /// between frames: do not race it in a `select!` with something that
    /// can win mid-frame.
    pub async fn read_frame<R, T>(r: &mut R) -> Result<T, FrameError>
    where
        R: AsyncRead + Unpin,
        T: DeserializeOwned,
    {
        read_frame_max(r, MAX_FRAME_LEN).await
    }

    /// Reads one frame of at most `max` bytes.
    pub async fn read_frame_max<R, T>(r: &mut R, max: usize) -> Result<T, FrameError>
    where
        R: AsyncRead + Unpin,
        T: DeserializeOwned,
    {
        let mut first = [0u8; 1];
        r.read_exact(&mut first)
            .await
            .map_err(|e| eof_to(e, true))?;
        read_frame_rest(r, first[0], max).await
    }

    /// Reads the rest of a frame whose first byte, `first`, the caller
    /// has read already (waiting for a first byte is cancel-safe; the
    /// rest is not).
    pub async fn read_frame_rest<R, T>(r: &mut R, first: u8, max: usize) -> Result<T, FrameError>
    where
        R: AsyncRead + Unpin,
        T: DeserializeOwned,
    {
        let mut prefix = [first, 0, 0, 0];
        r.read_exact(&mut prefix[1..])
            .await
            .map_err(|e| eof_to(e, false))?;
        let len = check_len(prefix, max)?;
        let mut body = body_buffer(len);
        (&mut *r)
            .take(len as u64)
            .read_to_end(&mut body)
            .await
            .map_err(|e| eof_to(e, false))?;
        complete(&body, len)?;
        decode(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{Request, Response};

    #[test]
    fn roundtrip_blocking() {
        let req = Request::Send {
            name: "alpha".into(),
            text: "echo hi".into(),
            enter: true,
        };
        let mut buf = Vec::new();
        write_frame(&mut buf, &req).unwrap();
        let back: Request = read_frame(&mut buf.as_slice()).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn oversized_prefix_is_refused_before_allocating() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&u32::MAX.to_be_bytes());
        let err = read_frame::<_, Request>(&mut buf.as_slice()).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn truncated_and_closed_are_told_apart() {
        let err = read_frame::<_, Request>(&mut [].as_slice()).unwrap_err();
        assert!(matches!(err, FrameError::Closed));
        let mut buf = 10u32.to_be_bytes().to_vec();
        buf.extend_from_slice(b"{\"a");
        let err = read_frame::<_, Request>(&mut buf.as_slice()).unwrap_err();
        assert!(matches!(err, FrameError::Truncated));
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let mut buf = 4u32.to_be_bytes().to_vec();
        buf.extend_from_slice(b"\xff\x00zz");
        let err = read_frame::<_, Response>(&mut buf.as_slice()).unwrap_err();
        assert!(matches!(err, FrameError::Decode(_)));
        assert!(err.to_string().contains("same version"));
    }

    #[tokio::test]
    async fn a_reader_keeps_to_its_own_maximum() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let mut prefix = ((MAX_REQUEST_LEN + 1) as u32).to_be_bytes().to_vec();
        prefix.extend_from_slice(b"{");
        tokio::io::AsyncWriteExt::write_all(&mut a, &prefix)
            .await
            .unwrap();
        let err = tokio_io::read_frame_max::<_, Request>(&mut b, MAX_REQUEST_LEN)
            .await
            .unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn an_announced_length_is_not_allocated_before_it_arrives() {
        let (mut a, mut b) = tokio::io::duplex(64 * 1024);
        let mut bytes = (MAX_FRAME_LEN as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(b"{\"op\"");
        tokio::io::AsyncWriteExt::write_all(&mut a, &bytes)
            .await
            .unwrap();
        drop(a);
        let err = tokio_io::read_frame::<_, Request>(&mut b)
            .await
            .unwrap_err();
        assert!(matches!(err, FrameError::Truncated), "{err}");
    }

    #[tokio::test]
    async fn roundtrip_async() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let req = Request::Screen { name: "x".into() };
        tokio_io::write_frame(&mut a, &req).await.unwrap();
        let back: Request = tokio_io::read_frame(&mut b).await.unwrap();
        assert_eq!(back, req);
    }
}
