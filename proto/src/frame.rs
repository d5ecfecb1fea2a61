//! Framing: a 4-byte big-endian length followed by that many bytes of
//! JSON. The length is checked against [`MAX_FRAME_LEN`] before the buffer
//! is allocated, so a hostile or confused peer cannot make the reader
//! allocate more than that.

use serde::{Serialize, de::DeserializeOwned};
use std::io::{self, Read, Write};

/// Largest frame either side accepts, in bytes of payload.
pub const MAX_FRAME_LEN: usize = 4 * 1024 * 1024;

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

fn check_len(prefix: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(len)
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
    let len = check_len(prefix)?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).map_err(|e| eof_to(e, false))?;
    decode(&body)
}

/// Async framing over tokio streams.
#[cfg(feature = "tokio")]
pub mod tokio_io {
    use super::{FrameError, check_len, decode, encode, eof_to};
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

    /// Reads one frame. Cancel-safe only between frames: do not race it
    /// in a `select!` with something that can win mid-frame.
    pub async fn read_frame<R, T>(r: &mut R) -> Result<T, FrameError>
    where
        R: AsyncRead + Unpin,
        T: DeserializeOwned,
    {
        let mut prefix = [0u8; 4];
        r.read_exact(&mut prefix)
            .await
            .map_err(|e| eof_to(e, true))?;
        let len = check_len(prefix)?;
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)
            .await
            .map_err(|e| eof_to(e, false))?;
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
    async fn roundtrip_async() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let req = Request::Screen { name: "x".into() };
        tokio_io::write_frame(&mut a, &req).await.unwrap();
        let back: Request = tokio_io::read_frame(&mut b).await.unwrap();
        assert_eq!(back, req);
    }
}
