//! The media server: the router on its own thread, one UDP socket, and a handle for async code.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::UdpSocket as MioUdpSocket;
use mio::{Events, Interest, Poll, Token};
use str0m::net::{Protocol, Receive};
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::sfu::SfuInput;
use crate::{MediaConfig, MediaError, MediaEvent, MediaStats, ParticipantId, Permissions, RoomId};
use crate::{Sfu, SfuConfig, SfuOutput};

/// The longest the media thread sleeps; commands also wake it at once (see `wake`).
const MAX_WAIT: Duration = Duration::from_millis(100);
/// Large enough for any datagram WebRTC sends (MTU-sized, well under this).
const RECEIVE_BUFFER: usize = 2048;
/// Datagrams read before the media thread looks at its timers and sends what is due.
const RECEIVE_BATCH: usize = 64;
/// Socket buffers asked for (the kernel caps them at `net.core.rmem_max`/`wmem_max`): a few
/// hundred milliseconds of a busy server's traffic, so a media thread that is briefly not
/// scheduled does not lose packets.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
const SOCKET: Token = Token(0);

/// A participant admitted into a room.
#[derive(Debug)]
pub struct Joined {
    /// The SDP answer to the browser's offer.
    pub answer_sdp: String,
    /// This participant's events; the stream ends when the participant leaves or is replaced.
    pub events: tokio_mpsc::UnboundedReceiver<MediaEvent>,
}

enum Command {
    Join {
        room: RoomId,
        who: ParticipantId,
        offer_sdp: String,
        permissions: Permissions,
        reply: oneshot::Sender<Result<Joined, MediaError>>,
    },
    Answer {
        who: ParticipantId,
        answer_sdp: String,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Leave(ParticipantId),
    CloseRoom(RoomId),
    SetMuted(ParticipantId, bool),
    SetAudioOnly(ParticipantId, bool),
}

/// The media server's counters, written by the media thread and read by anyone.
#[derive(Debug, Default)]
struct SharedStats {
    rooms: AtomicU64,
    participants: AtomicU64,
    frames_forwarded: AtomicU64,
    packets_forwarded: AtomicU64,
    bytes_forwarded: AtomicU64,
    datagrams_received: AtomicU64,
    bytes_received: AtomicU64,
    datagrams_sent: AtomicU64,
    bytes_sent: AtomicU64,
}

impl SharedStats {
    fn store(&self, s: &MediaStats) {
        let pairs = [
            (&self.rooms, s.rooms),
            (&self.participants, s.participants),
            (&self.frames_forwarded, s.frames_forwarded),
            (&self.packets_forwarded, s.packets_forwarded),
            (&self.bytes_forwarded, s.bytes_forwarded),
            (&self.datagrams_received, s.datagrams_received),
            (&self.bytes_received, s.bytes_received),
            (&self.datagrams_sent, s.datagrams_sent),
            (&self.bytes_sent, s.bytes_sent),
        ];
        for (cell, value) in pairs {
            cell.store(value, Ordering::Relaxed);
        }
    }

    fn load(&self) -> MediaStats {
        MediaStats {
            rooms: self.rooms.load(Ordering::Relaxed),
            participants: self.participants.load(Ordering::Relaxed),
            frames_forwarded: self.frames_forwarded.load(Ordering::Relaxed),
            packets_forwarded: self.packets_forwarded.load(Ordering::Relaxed),
            bytes_forwarded: self.bytes_forwarded.load(Ordering::Relaxed),
            datagrams_received: self.datagrams_received.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            datagrams_sent: self.datagrams_sent.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug)]
struct Inner {
    commands: Sender<Command>,
    /// Sends an empty datagram to the media socket after each command, so the media thread
    /// handles it now rather than at its next timeout.
    wake: UdpSocket,
    udp_addr: SocketAddr,
    stats: Arc<SharedStats>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Command::Join { .. } => "Join",
            Command::Answer { .. } => "Answer",
            Command::Leave(_) => "Leave",
            Command::CloseRoom(_) => "CloseRoom",
            Command::SetMuted(..) => "SetMuted",
            Command::SetAudioOnly(..) => "SetAudioOnly",
        };
        f.write_str(name)
    }
}

/// A handle to the media server; cheap to clone. The media thread stops when the last handle
/// is dropped.
#[derive(Debug, Clone)]
pub struct MediaServer {
    inner: Arc<Inner>,
}

impl MediaServer {
    /// Binds the UDP socket and starts the media thread.
    pub fn start(config: MediaConfig) -> std::io::Result<MediaServer> {
        let MediaConfig { udp_listen, public_ips, tcp_listen } = config;
        if let Some(tcp) = tcp_listen {
            tracing::warn!("media.tcp_listen {tcp} is not implemented yet; only UDP is offered");
        }
        let socket = UdpSocket::bind(udp_listen)?;
        let udp_addr = socket.local_addr()?;
        let buffers = socket2::SockRef::from(&socket);
        for result in
            [buffers.set_recv_buffer_size(SOCKET_BUFFER_BYTES), buffers.set_send_buffer_size(SOCKET_BUFFER_BYTES)]
        {
            if let Err(e) = result {
                tracing::warn!("media socket buffer size: {e}");
            }
        }
        socket.set_nonblocking(true)?;
        let socket = MioUdpSocket::from_std(socket);
        let candidates = announced_addresses(udp_addr, &public_ips);
        // The address browsers reach us on: str0m's ICE wants the packet's destination to be
        // one of the announced candidates. With a socket bound to an unspecified address we
        // cannot see the real destination, so the first announced address stands in.
        let destination = if udp_addr.ip().is_unspecified() || !candidates.contains(&udp_addr) {
            candidates.first().copied().unwrap_or(udp_addr)
        } else {
            udp_addr
        };

        let wake_target = match udp_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, udp_addr.port())),
            IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, udp_addr.port())),
            _ => udp_addr,
        };
        let wake_bind: SocketAddr = match wake_target {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let wake = UdpSocket::bind(wake_bind)?;
        wake.connect(wake_target)?;

        let stats = Arc::new(SharedStats::default());
        let (commands, receiver) = mpsc::channel();
        let driver = Driver {
            sfu: Sfu::new(SfuConfig { candidates }, Instant::now()),
            socket,
            destination,
            commands: receiver,
            senders: HashMap::new(),
            stats: stats.clone(),
            bytes_received: 0,
        };
        thread::Builder::new().name("ricevo-media".into()).spawn(move || driver.run())?;
        tracing::info!("media server on udp {udp_addr}, announcing {destination}");
        Ok(MediaServer { inner: Arc::new(Inner { commands, wake, udp_addr, stats }) })
    }

    /// The bound UDP address (port 0 resolved).
    pub fn udp_addr(&self) -> SocketAddr {
        self.inner.udp_addr
    }

    /// Adds the participant to the room with the browser's initial offer; returns the answer
    /// and the participant's own event stream. Joining again with the same id replaces the old
    /// session (a reload).
    pub async fn join(
        &self,
        room: RoomId,
        who: ParticipantId,
        offer_sdp: String,
        permissions: Permissions,
    ) -> Result<Joined, MediaError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Join { room, who, offer_sdp, permissions, reply })?;
        answer.await.map_err(|_| MediaError::Stopped)?
    }

    /// Applies the browser's answer to a server offer.
    pub async fn answer(&self, who: ParticipantId, answer_sdp: String) -> Result<(), MediaError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Answer { who, answer_sdp, reply })?;
        answer.await.map_err(|_| MediaError::Stopped)?
    }

    /// Removes the participant from its room (no-op when not in one).
    pub fn leave(&self, who: ParticipantId) {
        self.send_quietly(Command::Leave(who));
    }

    /// Removes everyone from the room.
    pub fn close_room(&self, room: RoomId) {
        self.send_quietly(Command::CloseRoom(room));
    }

    /// Stops (or resumes) forwarding the participant's audio.
    pub fn set_muted(&self, who: ParticipantId, muted: bool) {
        self.send_quietly(Command::SetMuted(who, muted));
    }

    /// Stops (or resumes) forwarding video to the participant.
    pub fn set_audio_only(&self, who: ParticipantId, on: bool) {
        self.send_quietly(Command::SetAudioOnly(who, on));
    }

    /// Rooms, participants and traffic so far.
    pub fn stats(&self) -> MediaStats {
        self.inner.stats.load()
    }

    fn send(&self, command: Command) -> Result<(), MediaError> {
        self.inner.commands.send(command).map_err(|_| MediaError::Stopped)?;
        // Best effort: if the wake-up datagram is lost the command waits for the next timeout.
        let _ = self.inner.wake.send(&[]);
        Ok(())
    }

    fn send_quietly(&self, command: Command) {
        if self.send(command).is_err() {
            tracing::debug!("media server stopped; command dropped");
        }
    }
}

/// The addresses to announce: the configured public ones, else the bound one (loopback when
/// the socket is bound to an unspecified address).
fn announced_addresses(bound: SocketAddr, public_ips: &[IpAddr]) -> Vec<SocketAddr> {
    if !public_ips.is_empty() {
        return public_ips.iter().map(|ip| SocketAddr::new(*ip, bound.port())).collect();
    }
    let ip = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    vec![SocketAddr::new(ip, bound.port())]
}

/// The media thread: owns the router and the socket.
struct Driver {
    sfu: Sfu,
    socket: MioUdpSocket,
    destination: SocketAddr,
    commands: Receiver<Command>,
    senders: HashMap<ParticipantId, tokio_mpsc::UnboundedSender<MediaEvent>>,
    stats: Arc<SharedStats>,
    bytes_received: u64,
}

impl Driver {
    fn run(mut self) {
        let mut buf = vec![0u8; RECEIVE_BUFFER];
        let mut poll = match Poll::new() {
            Ok(poll) => poll,
            Err(e) => {
                tracing::error!("media thread cannot poll: {e}");
                return;
            }
        };
        if let Err(e) = poll.registry().register(&mut self.socket, SOCKET, Interest::READABLE) {
            tracing::error!("media socket cannot be polled: {e}");
            return;
        }
        let mut events = Events::with_capacity(4);
        loop {
            loop {
                match self.commands.try_recv() {
                    Ok(command) => self.handle_command(command),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        tracing::info!("media server stopped");
                        return;
                    }
                }
            }
            let deadline = self.drain_output();
            let mut stats = self.sfu.stats();
            stats.bytes_received = self.bytes_received;
            self.stats.store(&stats);

            // Everything already queued is read first (a batch at a time) and the clock is
            // looked at once per batch; the thread sleeps only when the socket is empty.
            if self.receive_batch(&mut buf) == 0 {
                let wait = deadline.saturating_duration_since(Instant::now()).clamp(Duration::from_millis(1), MAX_WAIT);
                if let Err(e) = poll.poll(&mut events, Some(wait))
                    && e.kind() != ErrorKind::Interrupted
                {
                    tracing::error!("media socket poll: {e}");
                    return;
                }
                self.receive_batch(&mut buf);
            }
            self.sfu.handle_input(SfuInput::Timeout(Instant::now()));
        }
    }

    /// Feeds the router the datagrams waiting on the socket, at most [`RECEIVE_BATCH`];
    /// returns how many were read (wake-ups included).
    fn receive_batch(&mut self, buf: &mut [u8]) -> usize {
        let mut read = 0;
        while read < RECEIVE_BATCH {
            match self.socket.recv_from(buf) {
                Ok((0, _)) => read += 1, // a wake-up
                Ok((n, source)) => {
                    read += 1;
                    self.bytes_received += n as u64;
                    if let Some(datagram) = buf.get(..n)
                        && let Ok(contents) = datagram.try_into()
                    {
                        let receive = Receive { proto: Protocol::Udp, source, destination: self.destination, contents };
                        self.sfu.handle_input(SfuInput::Receive(Instant::now(), receive));
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // ICMP errors from earlier sends surface here on some systems; not fatal.
                Err(e) => {
                    tracing::debug!("media socket receive: {e}");
                    read += 1;
                }
            }
        }
        read
    }

    fn drain_output(&mut self) -> Instant {
        loop {
            match self.sfu.poll_output() {
                SfuOutput::Transmit(transmit) => {
                    if let Err(e) = self.socket.send_to(&transmit.contents, transmit.destination) {
                        tracing::debug!("send to {} failed: {e}", transmit.destination);
                    }
                }
                SfuOutput::Event(who, event) => {
                    let closed = self.senders.get(&who).is_some_and(|s| s.send(event).is_err());
                    if closed {
                        self.senders.remove(&who);
                    }
                }
                SfuOutput::Timeout(at) => return at,
            }
        }
    }

    fn handle_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Join { room, who, offer_sdp, permissions, reply } => {
                let result = self.sfu.join(now, room, who, &offer_sdp, permissions).map(|answer_sdp| {
                    let (sender, events) = tokio_mpsc::unbounded_channel();
                    // Replacing the sender ends the old session's event stream.
                    self.senders.insert(who, sender);
                    Joined { answer_sdp, events }
                });
                if let Err(Ok(joined)) = reply.send(result) {
                    // The caller gave up waiting: do not keep a participant nobody signals for.
                    drop(joined);
                    self.sfu.leave(now, who);
                    self.senders.remove(&who);
                }
            }
            Command::Answer { who, answer_sdp, reply } => {
                let _ = reply.send(self.sfu.answer(now, who, &answer_sdp));
            }
            Command::Leave(who) => {
                self.sfu.leave(now, who);
                self.senders.remove(&who);
            }
            Command::CloseRoom(room) => {
                for who in self.sfu.close_room(now, room) {
                    self.senders.remove(&who);
                }
            }
            Command::SetMuted(who, muted) => self.sfu.set_muted(who, muted),
            Command::SetAudioOnly(who, on) => self.sfu.set_audio_only(who, on),
        }
    }
}
