//! The TCP candidate: media over TCP for networks that block UDP (RFC 6544 passive host
//! candidates, RFC 4571 framing: every packet preceded by its length, 2 bytes big-endian).
//!
//! The listener and its connections live on the media thread, polled by the same mio `Poll`
//! as the UDP socket. Each connection stands for one browser's ICE-TCP candidate; the packets
//! it carries go to the router exactly as datagrams do, marked [`Protocol::Tcp`], and packets
//! the router sends to that peer over TCP are framed and written to it. Buffers are bounded:
//! a connection holds at most one incomplete incoming packet, and when its peer reads too
//! slowly the outgoing packets that do not fit are dropped (as a full UDP buffer would), never
//! half-written. A connection that sends something other than WebRTC packets is closed.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use str0m::net::{Protocol, Receive};

use crate::sfu::{Sfu, SfuInput};

/// The largest packet accepted in a frame. WebRTC packets fit a path MTU (browsers send at most
/// about 1,200 bytes of media per packet); a longer frame means this is not a WebRTC peer.
pub(crate) const MAX_FRAME: usize = 4096;
/// Framed bytes waiting to be written to one connection before further packets are dropped:
/// about 200 ms of a 2.5 Mbit/s receiver.
const MAX_PENDING_WRITE: usize = 64 * 1024;
/// Most connections open at once (each costs a file descriptor and two small buffers).
const MAX_CONNECTIONS: usize = 1024;
/// A connection on which nothing arrived for this long is closed (ICE consent checks arrive
/// every few seconds on a live one).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes read from one connection per turn of the media thread, so one busy connection cannot
/// keep the thread from everything else; the rest is read at the next turn.
const READ_PER_TURN: usize = 64 * 1024;

/// The listener's token; connections take tokens above it.
pub(crate) const LISTENER: Token = Token(1);
const FIRST_CONNECTION: usize = 2;

/// What reading a connection's bytes found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frames {
    /// Complete packets at these ranges of the buffer; `consumed` bytes can be dropped (the
    /// rest is the start of a packet still arriving).
    Complete { packets: Vec<std::ops::Range<usize>>, consumed: usize },
    /// A frame of length zero or over [`MAX_FRAME`]: not a WebRTC peer.
    Garbage,
}

/// Splits RFC 4571 frames off the start of `buf`.
pub(crate) fn split_frames(buf: &[u8]) -> Frames {
    let mut packets = Vec::new();
    let mut at = 0;
    while let Some(&[high, low]) = buf.get(at..at + 2) {
        let len = usize::from(u16::from_be_bytes([high, low]));
        if len == 0 || len > MAX_FRAME {
            return Frames::Garbage;
        }
        let start = at + 2;
        if buf.len() < start + len {
            break;
        }
        packets.push(start..start + len);
        at = start + len;
    }
    Frames::Complete { packets, consumed: at }
}

/// One accepted connection.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    /// The announced TCP candidate the peer connected to.
    local: SocketAddr,
    /// Received bytes not yet a complete packet (less than `2 + MAX_FRAME`).
    inbox: Vec<u8>,
    /// Framed packets not yet written, from `written` on.
    outbox: Vec<u8>,
    written: usize,
    /// Whether the poll also waits for the connection to become writable.
    wants_write: bool,
    last_read: Instant,
}

/// The TCP listener and its connections.
#[derive(Debug)]
pub(crate) struct TcpMedia {
    listener: TcpListener,
    /// The announced TCP candidates: a connection's local address is matched against them.
    candidates: Vec<SocketAddr>,
    connections: HashMap<Token, Connection>,
    /// Which connection carries packets to a peer address.
    peers: HashMap<SocketAddr, Token>,
    /// Connections with bytes left to read (read at most [`READ_PER_TURN`] per turn).
    unread: Vec<Token>,
    next_token: usize,
    /// Outgoing packets dropped because a connection's peer did not read fast enough.
    pub(crate) dropped: u64,
}

impl TcpMedia {
    pub(crate) fn new(listener: TcpListener, candidates: Vec<SocketAddr>) -> TcpMedia {
        TcpMedia {
            listener,
            candidates,
            connections: HashMap::new(),
            peers: HashMap::new(),
            unread: Vec::new(),
            next_token: FIRST_CONNECTION,
            dropped: 0,
        }
    }

    pub(crate) fn register(&mut self, registry: &Registry) -> std::io::Result<()> {
        registry.register(&mut self.listener, LISTENER, Interest::READABLE)
    }

    /// Whether some connection still has bytes to read (the media thread must not sleep).
    pub(crate) fn has_unread(&self) -> bool {
        !self.unread.is_empty()
    }

    /// Handles a readiness event for the listener or a connection.
    pub(crate) fn ready(&mut self, registry: &Registry, token: Token, readable: bool, writable: bool) {
        if token == LISTENER {
            self.accept(registry);
            return;
        }
        if writable {
            self.write(registry, token);
        }
        if readable && self.connections.contains_key(&token) && !self.unread.contains(&token) {
            self.unread.push(token);
        }
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            let (mut stream, peer) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of file descriptors and the like: try again at the next event.
                    tracing::warn!("media tcp accept: {e}");
                    return;
                }
            };
            if self.connections.len() >= MAX_CONNECTIONS {
                tracing::warn!("media tcp: {MAX_CONNECTIONS} connections open; {peer} refused");
                continue;
            }
            let local = stream.local_addr().ok();
            let local = local
                .and_then(|l| self.candidates.iter().find(|c| **c == l).copied())
                .or_else(|| self.candidates.first().copied());
            let Some(local) = local else { continue };
            let _ = stream.set_nodelay(true);
            let token = self.free_token();
            if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
                tracing::warn!("media tcp connection from {peer} cannot be polled: {e}");
                continue;
            }
            tracing::debug!("media tcp connection from {peer}");
            if let Some(old) = self.peers.insert(peer, token) {
                self.close(registry, old);
                self.peers.insert(peer, token);
            }
            self.connections.insert(
                token,
                Connection {
                    stream,
                    peer,
                    local,
                    inbox: Vec::new(),
                    outbox: Vec::new(),
                    written: 0,
                    wants_write: false,
                    last_read: Instant::now(),
                },
            );
            // Bytes may have arrived with the connection: edge-triggered polling would not
            // report them again.
            self.unread.push(token);
        }
    }

    fn free_token(&mut self) -> Token {
        loop {
            let token = Token(self.next_token);
            self.next_token = self.next_token.checked_add(1).unwrap_or(FIRST_CONNECTION);
            if !self.connections.contains_key(&token) {
                return token;
            }
        }
    }

    /// Reads what the connections with unread bytes have (a bounded amount each) and feeds
    /// the router their packets; returns the bytes read.
    pub(crate) fn read(&mut self, registry: &Registry, sfu: &mut Sfu, now: Instant) -> u64 {
        let mut total = 0;
        let tokens = std::mem::take(&mut self.unread);
        for token in tokens {
            let (read, outcome) = self.read_one(token, sfu, now);
            total += read;
            match outcome {
                ReadOutcome::Drained => {}
                ReadOutcome::More => self.unread.push(token),
                ReadOutcome::Close(why) => {
                    tracing::debug!("media tcp connection closed: {why}");
                    self.close(registry, token);
                }
            }
        }
        total
    }

    fn read_one(&mut self, token: Token, sfu: &mut Sfu, now: Instant) -> (u64, ReadOutcome) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return (0, ReadOutcome::Drained);
        };
        let mut chunk = [0u8; 16 * 1024];
        let mut read = 0usize;
        loop {
            if read >= READ_PER_TURN {
                return (read as u64, ReadOutcome::More);
            }
            let n = match connection.stream.read(&mut chunk) {
                Ok(0) => return (read as u64, ReadOutcome::Close("end of stream")),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return (read as u64, ReadOutcome::Drained),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return (read as u64, ReadOutcome::Close("read error")),
            };
            read += n;
            connection.last_read = now;
            connection.inbox.extend_from_slice(chunk.get(..n).unwrap_or_default());
            let (packets, consumed) = match split_frames(&connection.inbox) {
                Frames::Complete { packets, consumed } => (packets, consumed),
                Frames::Garbage => return (read as u64, ReadOutcome::Close("not RFC 4571 framing")),
            };
            for range in packets {
                let Some(packet) = connection.inbox.get(range) else { continue };
                let Ok(contents) = packet.try_into() else {
                    return (read as u64, ReadOutcome::Close("not a WebRTC packet"));
                };
                let receive =
                    Receive { proto: Protocol::Tcp, source: connection.peer, destination: connection.local, contents };
                sfu.handle_input(SfuInput::Receive(now, receive));
            }
            connection.inbox.drain(..consumed);
        }
    }

    /// Whether a packet to `destination` goes over one of our connections.
    pub(crate) fn connected_to(&self, destination: SocketAddr) -> bool {
        self.peers.contains_key(&destination)
    }

    /// Frames a packet for its peer and writes what the connection takes now; the rest is
    /// written when it becomes writable. Dropped when too much is waiting already.
    pub(crate) fn send(&mut self, registry: &Registry, destination: SocketAddr, packet: &[u8]) {
        let Some(&token) = self.peers.get(&destination) else {
            tracing::trace!("no tcp connection to {destination}");
            return;
        };
        let Some(connection) = self.connections.get_mut(&token) else { return };
        let Ok(len) = u16::try_from(packet.len()) else { return };
        if connection.outbox.len() - connection.written + 2 + packet.len() > MAX_PENDING_WRITE {
            self.dropped += 1;
            return;
        }
        connection.outbox.extend_from_slice(&len.to_be_bytes());
        connection.outbox.extend_from_slice(packet);
        self.write(registry, token);
    }

    /// Writes pending bytes until the connection would block.
    fn write(&mut self, registry: &Registry, token: Token) {
        let Some(connection) = self.connections.get_mut(&token) else { return };
        let failed = loop {
            let Some(pending) = connection.outbox.get(connection.written..).filter(|p| !p.is_empty()) else {
                break false;
            };
            match connection.stream.write(pending) {
                Ok(0) => break true,
                Ok(n) => connection.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break true,
            }
        };
        if failed {
            self.close(registry, token);
            return;
        }
        let pending = connection.written < connection.outbox.len();
        if !pending {
            connection.outbox.clear();
            connection.written = 0;
        } else if connection.written > MAX_PENDING_WRITE {
            connection.outbox.drain(..connection.written);
            connection.written = 0;
        }
        if pending != connection.wants_write {
            let interest = if pending { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            if registry.reregister(&mut connection.stream, token, interest).is_ok() {
                connection.wants_write = pending;
            }
        }
    }

    /// Closes connections nothing arrived on for a while.
    pub(crate) fn expire(&mut self, registry: &Registry, now: Instant) {
        let idle: Vec<Token> = self
            .connections
            .iter()
            .filter(|(_, c)| now.saturating_duration_since(c.last_read) > IDLE_TIMEOUT)
            .map(|(t, _)| *t)
            .collect();
        for token in idle {
            tracing::debug!("media tcp connection idle; closed");
            self.close(registry, token);
        }
    }

    fn close(&mut self, registry: &Registry, token: Token) {
        let Some(mut connection) = self.connections.remove(&token) else { return };
        let _ = registry.deregister(&mut connection.stream);
        if self.peers.get(&connection.peer) == Some(&token) {
            self.peers.remove(&connection.peer);
        }
        self.unread.retain(|t| *t != token);
    }
}

enum ReadOutcome {
    /// Everything available was read.
    Drained,
    /// The per-turn budget ran out; more may be waiting.
    More,
    Close(&'static str),
}

#[cfg(test)]
mod tests {
    use super::{Frames, MAX_FRAME, split_frames};

    #[test]
    fn frames_are_split_by_their_length_prefix() {
        // Two whole packets and the start of a third.
        let buf = [0, 3, 1, 2, 3, 0, 1, 9, 0, 4, 7];
        assert_eq!(split_frames(&buf), Frames::Complete { packets: vec![2..5, 7..8], consumed: 8 });
        // Only half a length prefix.
        assert_eq!(split_frames(&[0]), Frames::Complete { packets: vec![], consumed: 0 });
        assert_eq!(split_frames(&[]), Frames::Complete { packets: vec![], consumed: 0 });
    }

    #[test]
    fn empty_and_oversized_frames_are_garbage() {
        assert_eq!(split_frames(&[0, 0, 1]), Frames::Garbage);
        let too_long = u16::try_from(MAX_FRAME + 1).unwrap_or(u16::MAX).to_be_bytes();
        assert_eq!(split_frames(&too_long), Frames::Garbage);
        // "GET / HTTP/1.1": 0x4745 = 18245 bytes announced.
        assert_eq!(split_frames(b"GET / HTTP/1.1\r\n"), Frames::Garbage);
    }
}
