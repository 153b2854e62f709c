//! A TCP proxy in front of the test server that a test can cut (every connection through it
//! closed), reset (every client's side ended with a TCP reset, as a firewall or a load
//! balancer that forgot the connection does), turn silent (new connections accepted and never
//! answered, as a server that hangs), or have hold the next COMMIT: the client's side is closed as if the link died,
//! while the server's side stays open with the COMMIT not yet delivered, until the test lets
//! it through (a pooler or a slow link between custodian and the server).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<ProxyState>>,
}

#[derive(Default)]
struct ProxyState {
    silent: bool,
    /// Set by [`Proxy::reset`]: a connection that ends leaves its client's side to close with
    /// a reset (no FIN first).
    resetting: bool,
    open: Vec<TcpStream>,
    hold_commit: bool,
    /// Set by [`Proxy::sever`]: a connection that ends keeps its server's side open.
    severing: bool,
    /// The server's sides kept open by [`Proxy::sever`].
    kept: Vec<TcpStream>,
    /// Set by [`Proxy::stall_at_next_begin`] (and [`Proxy::stall_at_next_snapshot`]): the next
    /// message holding these bytes and all after it are never delivered, the connection left
    /// open (a server that stopped answering).
    stall_at: Option<&'static [u8]>,
    /// Set once stalled: nothing more goes either way ([`Proxy::stall_now`] too: a link that
    /// keeps its connections open and drops the bytes).
    stalled: bool,
    /// The server's side of the connection whose COMMIT is held, and the bytes held.
    held: Option<(TcpStream, Vec<u8>)>,
}

/// A simple-protocol query message `COMMIT` ('Q', its length, the text, NUL), as
/// `postgres::Transaction::commit` sends it.
const COMMIT: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";
/// A plain `START TRANSACTION`, as `postgres::Client::transaction` sends it (a read-only
/// snapshot's names its isolation level, and is not this message).
const BEGIN: &[u8] = b"Q\0\0\0\x16START TRANSACTION\0";
/// A read-only snapshot's start, as `build_transaction` sends it (an export's walk).
const SNAPSHOT: &[u8] = b"START TRANSACTION ISOLATION LEVEL";

impl Proxy {
    pub fn to(upstream: u16) -> Self {
        Self::at("127.0.0.1", upstream)
    }

    /// A proxy listening on `address` (another loopback address, `127.0.0.2`, reaches the
    /// server by a name its certificate does not carry).
    pub fn at(address: &str, upstream: u16) -> Self {
        let listener = TcpListener::bind((address, 0)).expect("bind the proxy");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
                if let Ok(copy) = client.try_clone() {
                    state.open.push(copy);
                }
                if state.silent {
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                if let Ok(copy) = server.try_clone() {
                    state.open.push(copy);
                }
                let (from_client, to_server) =
                    (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                let watch = Arc::clone(&shared);
                std::thread::spawn(move || forward_to_server(from_client, to_server, &watch));
                let watch = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let (mut from, mut to) = (server, client);
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(read @ 1..) = from.read(&mut buffer) {
                        // Stalled, the answers go nowhere.
                        if !watch.lock().unwrap_or_else(|e| e.into_inner()).stalled
                            && to.write_all(&buffer[..read]).is_err()
                        {
                            break;
                        }
                    }
                    if !watch.lock().unwrap_or_else(|e| e.into_inner()).resetting {
                        let _ = to.shutdown(Shutdown::Both);
                    }
                });
            }
        });
        Self { port, state }
    }

    /// Closes every connection through the proxy; new ones are accepted and never answered
    /// while `silent`.
    pub fn cut(&self, silent: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.silent = silent;
        for stream in state.open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn open(&self) {
        self.cut(false);
    }

    /// Ends every connection through the proxy with a TCP reset on the client's side: its next
    /// read or write fails with an I/O error ("connection reset by peer"), not an end of
    /// stream. The server's side is closed as by [`Proxy::cut`]; new connections are served.
    pub fn reset(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.resetting = true;
        for stream in state.open.drain(..) {
            let clients_side = stream.local_addr().is_ok_and(|at| at.port() == self.port);
            if clients_side {
                // With a zero linger, the last close of the socket sends RST. Shutting only
                // its reading half sends nothing and wakes the thread that reads from it,
                // which then lets go of its copy.
                linger_zero(&stream);
                let _ = stream.shutdown(Shutdown::Read);
            } else {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Drops every link without a word to the server: the clients' sides are closed, the
    /// server's sides stay open, as a NAT, a VPN or a pooler that loses a connection leaves
    /// them (the server sees nothing until its keepalive gives up). New connections are
    /// never answered while `silent`.
    pub fn sever(&self, silent: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.severing = true;
        state.silent = silent;
        for stream in std::mem::take(&mut state.open) {
            if stream.local_addr().is_ok_and(|at| at.port() == self.port) {
                let _ = stream.shutdown(Shutdown::Both);
            } else {
                state.kept.push(stream);
            }
        }
    }

    /// From the next `START TRANSACTION` any client sends, nothing more reaches the server and no answer
    /// comes back; every connection stays open (a server process stopped mid-session).
    pub fn stall_at_next_begin(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stall_at = Some(BEGIN);
    }

    /// [`Proxy::stall_at_next_begin`] at the next read-only snapshot's start (an export's).
    pub fn stall_at_next_snapshot(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stall_at = Some(SNAPSHOT);
    }

    /// From now on nothing more goes either way on any connection, and every one stays open:
    /// a link that keeps its connections and drops the bytes.
    pub fn stall_now(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stalled = true;
    }

    /// Whether a `START TRANSACTION` has been stalled.
    pub fn stalled(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stalled
    }

    /// The next COMMIT any client sends is held (see the module's comment).
    pub fn hold_next_commit(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).hold_commit = true;
    }

    /// Whether a COMMIT is held now.
    pub fn holds_a_commit(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).held.is_some()
    }

    /// Delivers the held COMMIT to the server, late; whether the server's side took it (its
    /// session may have been ended meanwhile).
    pub fn release_commit(&self) -> bool {
        let held = self.state.lock().unwrap_or_else(|e| e.into_inner()).held.take();
        let Some((mut server, bytes)) = held else { return false };
        let delivered = server.write_all(&bytes).and_then(|()| server.flush()).is_ok();
        // The answer, if any, goes nowhere: its client is gone.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = server.shutdown(Shutdown::Both);
        delivered
    }
}

/// Copies the client's bytes to the server until a COMMIT is to be held: then the bytes
/// before it go on, the client's side is closed and the rest is kept for
/// [`Proxy::release_commit`].
fn forward_to_server(mut client: TcpStream, mut server: TcpStream, state: &Mutex<ProxyState>) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match client.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let chunk = &buffer[..read];
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        if state.stalled {
            continue;
        }
        let begin = state.stall_at.and_then(|bytes| {
            let at = chunk.windows(bytes.len()).position(|w| w == bytes)?;
            // From the message's own start: its type byte and length come before its text.
            Some(if bytes[0] == b'Q' { at } else { at.saturating_sub(5) })
        });
        if let Some(at) = begin {
            state.stall_at = None;
            state.stalled = true;
            if server.write_all(&chunk[..at]).is_err() {
                break;
            }
            continue;
        }
        let at = chunk.windows(COMMIT.len()).position(|w| w == COMMIT);
        if let (true, Some(at)) = (state.hold_commit, at) {
            state.hold_commit = false;
            if server.write_all(&chunk[..at]).is_err() {
                break;
            }
            let _ = client.shutdown(Shutdown::Both);
            state.held = Some((server, chunk[at..].to_vec()));
            return;
        }
        drop(state);
        if server.write_all(chunk).is_err() {
            break;
        }
    }
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    if state.severing {
        state.kept.push(server);
    } else {
        let _ = server.shutdown(Shutdown::Both);
    }
}

/// SO_LINGER with a zero timeout: closing the socket resets the connection.
fn linger_zero(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid descriptor, and a pointer to a `linger` of the size given.
    let set = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
}
