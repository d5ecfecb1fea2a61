//! A TCP round-robin in front of several relay instances, as a load
//! balancer is: each connection goes to the next backend that accepts
//! it, and is cut when either side ends.

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Listens on 127.0.0.1 until dropped.
#[derive(Debug)]
pub struct Balancer {
    pub url: String,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
    /// Connections taken by each backend.
    pub taken: Arc<Vec<AtomicUsize>>,
}

impl Balancer {
    /// A round-robin over `backends` (host:port).
    pub fn start(backends: Vec<String>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let taken: Arc<Vec<AtomicUsize>> =
            Arc::new(backends.iter().map(|_| AtomicUsize::new(0)).collect());
        let (s, t) = (stop.clone(), taken.clone());
        std::thread::spawn(move || {
            let mut next = 0usize;
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let _ = conn.set_nodelay(true);
                // The next backend that answers; a dead one is skipped.
                let picked = (0..backends.len()).find_map(|i| {
                    let at = (next + i) % backends.len();
                    let up = TcpStream::connect_timeout(
                        &backends[at].parse().expect("host:port"),
                        Duration::from_millis(500),
                    )
                    .ok()?;
                    Some((at, up))
                });
                next += 1;
                let Some((at, up)) = picked else {
                    let _ = conn.shutdown(Shutdown::Both);
                    continue;
                };
                t[at].fetch_add(1, Ordering::Relaxed);
                let _ = up.set_nodelay(true);
                pipe(conn, up);
            }
        });
        Balancer {
            url: format!("http://{addr}"),
            stop,
            addr,
            taken,
        }
    }
}

/// Copies both ways until either side ends, then cuts both.
fn pipe(a: TcpStream, b: TcpStream) {
    let (a2, b2) = match (a.try_clone(), b.try_clone()) {
        (Ok(a2), Ok(b2)) => (a2, b2),
        _ => return,
    };
    std::thread::spawn(move || copy(a, b));
    std::thread::spawn(move || copy(b2, a2));
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees the stop.
        let _ = TcpStream::connect(self.addr);
    }
}
