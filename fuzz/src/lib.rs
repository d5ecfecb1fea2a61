//! What the fuzz targets share: the round-trip check every decoded
//! message must pass, and a way to run a reader future over a slice.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// A decoded message encodes to JSON that decodes to the same message:
/// nothing a peer sends is read as something the other side would not
/// send back the same way.
pub fn roundtrip<T>(msg: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let json = serde_json::to_vec(msg).expect("a decoded message encodes");
    let back: T = serde_json::from_slice(&json).expect("an encoded message decodes");
    assert_eq!(&back, msg, "{}", String::from_utf8_lossy(&json));
}

/// Runs `f` to completion: a future that reads from a `&[u8]` never
/// waits, so one poll finishes it.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a read from a slice waited"),
    }
}

/// Splits `data` into messages at 0xff, a byte no UTF-8 (and so no JSON)
/// holds, so each piece reaches its decoder as one whole message.
pub fn messages(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == 0xff)
}
