//! The media server: the router on its own thread, one UDP socket, and a handle for async code.

use std::collections::HashMap;
use std::io::{ErrorKind, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, UdpSocket as MioUdpSocket};
use mio::{Events, Interest, Poll, Token};
use quinn_udp::{RecvMeta, UdpSockRef, UdpSocketState};
use str0m::net::{Protocol, Receive, Transmit};
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::sfu::SfuInput;
use crate::tcp::TcpMedia;
use crate::{MediaConfig, MediaError, MediaEvent, MediaStats, ParticipantId, Permissions, RoomId, RoomOptions, View};
use crate::{Sfu, SfuConfig, SfuOutput};

/// The longest the media thread sleeps; commands also wake it at once (see `wake`).
const MAX_WAIT: Duration = Duration::from_millis(100);
/// Large enough for any datagram WebRTC sends (MTU-sized, well under this).
const RECEIVE_BUFFER: usize = 2048;
/// One read's slot when the OS coalesces datagrams (GRO): the most one read can return (64 KiB),
/// plus 17 cache lines so that the slots do not all start at the same cache set (with a
/// power-of-two stride the first lines of the 32 datagrams of a batch would evict each other
/// from the CPU caches before the router reads them).
const GRO_SLOT: usize = (1 << 16) + 17 * 64;
/// Reads (of up to `quinn_udp::BATCH_SIZE` datagrams each) before the media thread looks at
/// its timers and sends what is due.
const RECEIVE_BATCHES: usize = 2;
/// Timer rounds per wake-up for sessions that want to run again at once (see `run_timers`).
const TIMER_ROUNDS: usize = 16;
/// The most bytes one segmented send carries (a UDP datagram's limit, with headroom).
const MAX_GSO_BYTES: usize = 60_000;
/// Socket buffers asked for (the kernel caps them at `net.core.rmem_max`/`wmem_max`): a few
/// hundred milliseconds of a busy server's traffic, so a media thread that is briefly not
/// scheduled does not lose packets.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
const SOCKET: Token = Token(0);
/// How often idle TCP connections are looked for.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(5);

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
    // ---- sfu ----
    OpenRoom(RoomId, Box<RoomOptions>),
    SetView(ParticipantId, View),
    SetStreamSources(RoomId, Option<ParticipantId>, Vec<ParticipantId>),
    // ---- end sfu ----
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
    tcp_addr: Option<SocketAddr>,
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
            Command::OpenRoom(..) => "OpenRoom",
            Command::SetView(..) => "SetView",
            Command::SetStreamSources(..) => "SetStreamSources",
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
        let mut socket = MioUdpSocket::from_std(socket);
        // Also asks the kernel for each datagram's destination address and for GRO.
        let udp = UdpSocketState::new(UdpSockRef::from(&socket))?;
        let candidates = announced_addresses(udp_addr, &public_ips);
        // The address browsers reach us on: str0m's ICE wants the packet's destination to be
        // one of the announced candidates. The kernel tells each datagram's destination
        // (IP_PKTINFO); when that is not an announced address (behind NAT) or unknown, the
        // first announced address stands in.
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

        let poll = Poll::new()?;
        poll.registry().register(&mut socket, SOCKET, Interest::READABLE)?;
        // The TCP candidate: a passive one for each announced address, on the TCP port.
        let (tcp, tcp_addr, tcp_candidates) = match tcp_listen {
            Some(listen) => {
                let listener = std::net::TcpListener::bind(listen)?;
                let tcp_addr = listener.local_addr()?;
                listener.set_nonblocking(true)?;
                let candidates: Vec<SocketAddr> =
                    candidates.iter().map(|c| SocketAddr::new(c.ip(), tcp_addr.port())).collect();
                let mut tcp = TcpMedia::new(TcpListener::from_std(listener), candidates.clone());
                tcp.register(poll.registry())?;
                (Some(tcp), Some(tcp_addr), candidates)
            }
            None => (None, None, Vec::new()),
        };

        let stats = Arc::new(SharedStats::default());
        let (commands, receiver) = mpsc::channel();
        let driver = Driver {
            sfu: Sfu::new(
                SfuConfig { candidates: candidates.clone(), tcp_candidates: tcp_candidates.clone() },
                Instant::now(),
            ),
            poll,
            socket,
            udp,
            tcp,
            candidates,
            destination,
            local_ips: Vec::new(),
            outbox: Vec::new(),
            gso_buf: Vec::new(),
            commands: receiver,
            senders: HashMap::new(),
            stats: stats.clone(),
            bytes_received: 0,
        };
        thread::Builder::new().name("ricevo-media".into()).spawn(move || driver.run())?;
        match tcp_candidates.first() {
            Some(tcp) => tracing::info!("media server on udp {udp_addr} and tcp {tcp}, announcing {destination}"),
            None => tracing::info!("media server on udp {udp_addr}, announcing {destination}"),
        }
        Ok(MediaServer { inner: Arc::new(Inner { commands, wake, udp_addr, tcp_addr, stats }) })
    }

    /// The bound UDP address (port 0 resolved).
    pub fn udp_addr(&self) -> SocketAddr {
        self.inner.udp_addr
    }

    /// The bound TCP address (port 0 resolved), when the TCP candidate is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.inner.tcp_addr
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

    // ---- sfu ----
    /// Sets up a room before anyone joins it (capacity, simulcast H.264, the stream's feed).
    /// Opening a room that has participants changes its options for those who join next.
    pub fn open_room(&self, room: RoomId, options: RoomOptions) {
        self.send_quietly(Command::OpenRoom(room, Box::new(options)));
    }

    /// Chooses whose video `who` receives and at which layer (see [`View`]).
    pub fn set_view(&self, who: ParticipantId, view: View) {
        self.send_quietly(Command::SetView(who, view));
    }

    /// Chooses the stream's sources in an opened room with a feed: the video shown and the
    /// microphones heard.
    pub fn set_stream_sources(&self, room: RoomId, video: Option<ParticipantId>, audio: Vec<ParticipantId>) {
        self.send_quietly(Command::SetStreamSources(room, video, audio));
    }
    // ---- end sfu ----

    /// Removes everyone from the room (and forgets its options: the stream's feed ends).
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
    poll: Poll,
    socket: MioUdpSocket,
    /// Batched reads and segmented sends on `socket` (recvmmsg, GRO, GSO where the OS has them).
    udp: UdpSocketState,
    /// The TCP candidate's listener and connections, when configured.
    tcp: Option<TcpMedia>,
    /// The announced addresses; a datagram's destination is matched against them.
    candidates: Vec<SocketAddr>,
    /// Stands in for a datagram's destination when the OS does not tell it.
    destination: SocketAddr,
    /// Announced addresses datagrams actually arrived on: replies to them are sent from them
    /// (with a socket bound to an unspecified address and several local addresses).
    local_ips: Vec<IpAddr>,
    /// Datagrams the router produced, sent together by [`Driver::flush`].
    outbox: Vec<Transmit>,
    /// Where runs of same-size datagrams are joined for one segmented send.
    gso_buf: Vec<u8>,
    commands: Receiver<Command>,
    senders: HashMap<ParticipantId, tokio_mpsc::UnboundedSender<MediaEvent>>,
    stats: Arc<SharedStats>,
    bytes_received: u64,
}

impl Driver {
    fn run(mut self) {
        // One slot per datagram read at once; with GRO a slot holds several datagrams of one
        // sender (at most 64 KiB in all).
        let slot = if self.udp.gro_segments() > 1 { GRO_SLOT } else { RECEIVE_BUFFER };
        let mut buf = vec![0u8; slot * quinn_udp::BATCH_SIZE];
        let mut events = Events::with_capacity(64);
        let mut next_expiry = Instant::now() + EXPIRY_INTERVAL;
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
            let deadline = self.run_timers();
            let mut stats = self.sfu.stats();
            stats.bytes_received = self.bytes_received;
            self.stats.store(&stats);

            // Everything already queued is read first (a batch at a time) and the clock is
            // looked at once per batch; the thread sleeps only when nothing is waiting.
            let received = self.receive_batches(&mut buf, slot);
            let Some(tcp) = &mut self.tcp else {
                if received == 0 {
                    if !self.sleep(&mut events, deadline) {
                        return;
                    }
                    self.receive_batches(&mut buf, slot);
                }
                continue;
            };
            // With TCP connections the poll is looked at on every turn (without waiting while
            // there is work), so a busy UDP socket cannot starve them.
            let busy = received > 0 || tcp.has_unread();
            let wait = if busy { Some(Duration::ZERO) } else { None };
            if !self.sleep_for(&mut events, deadline, wait) {
                return;
            }
            if let Some(tcp) = &mut self.tcp {
                let registry = self.poll.registry();
                for event in events.iter() {
                    if event.token() != SOCKET {
                        tcp.ready(registry, event.token(), event.is_readable(), event.is_writable());
                    }
                }
                let now = Instant::now();
                self.bytes_received += tcp.read(registry, &mut self.sfu, now);
                if now >= next_expiry {
                    tcp.expire(registry, now);
                    next_expiry = now + EXPIRY_INTERVAL;
                }
            }
            if !busy {
                self.receive_batches(&mut buf, slot);
            }
        }
    }

    /// Waits for the socket (or a command's wake-up) until the router's deadline; false when
    /// polling failed for good.
    fn sleep(&mut self, events: &mut Events, deadline: Instant) -> bool {
        self.sleep_for(events, deadline, None)
    }

    /// Waits for readiness for `wait`, or else until the router's deadline (at least a
    /// millisecond, at most [`MAX_WAIT`]).
    fn sleep_for(&mut self, events: &mut Events, deadline: Instant, wait: Option<Duration>) -> bool {
        let wait = wait.unwrap_or_else(|| {
            deadline.saturating_duration_since(Instant::now()).clamp(Duration::from_millis(1), MAX_WAIT)
        });
        match self.poll.poll(events, Some(wait)) {
            Ok(()) => true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {
                events.clear();
                true
            }
            Err(e) => {
                tracing::error!("media socket poll: {e}");
                false
            }
        }
    }

    /// Runs the sessions' timers and sends what they release; returns when to run them next.
    /// str0m's pacer lets one packet go per timer run, so sessions that want to run again at
    /// once (the rest of a video frame) are run again, a bounded number of rounds: a frame's
    /// packets to one receiver then leave together, in one segmented send.
    fn run_timers(&mut self) -> Instant {
        let mut deadline = self.drain_output();
        for _ in 0..TIMER_ROUNDS {
            let now = Instant::now();
            if deadline > now {
                break;
            }
            self.sfu.handle_input(SfuInput::Timeout(now));
            deadline = self.drain_output();
        }
        self.flush();
        deadline
    }

    /// Feeds the router what is waiting on the socket, up to [`RECEIVE_BATCHES`] reads of
    /// [`quinn_udp::BATCH_SIZE`] datagrams; returns how many datagrams came (wake-ups
    /// included).
    fn receive_batches(&mut self, buf: &mut [u8], slot: usize) -> usize {
        let mut received = 0;
        for _ in 0..RECEIVE_BATCHES {
            let mut meta = [RecvMeta::default(); quinn_udp::BATCH_SIZE];
            let mut chunks = buf.chunks_mut(slot);
            let mut slices: [IoSliceMut<'_>; quinn_udp::BATCH_SIZE] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
            let count = match self.udp.recv(UdpSockRef::from(&self.socket), &mut slices, &mut meta) {
                Ok(count) => count,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // ICMP errors from earlier sends surface here on some systems; not fatal.
                Err(e) => {
                    tracing::debug!("media socket receive: {e}");
                    received += 1;
                    continue;
                }
            };
            let now = Instant::now();
            for (meta, slice) in meta.iter().zip(slices.iter()).take(count) {
                let Some(data) = slice.get(..meta.len) else { continue };
                if data.is_empty() {
                    received += 1; // a wake-up
                    continue;
                }
                let destination = self.destination_of(meta);
                // With GRO, one read holds several datagrams of the same size (the last may
                // be shorter).
                for datagram in data.chunks(meta.stride.max(1)) {
                    received += 1;
                    self.bytes_received += datagram.len() as u64;
                    if let Ok(contents) = datagram.try_into() {
                        let receive = Receive { proto: Protocol::Udp, source: meta.addr, destination, contents };
                        self.sfu.handle_input(SfuInput::Receive(now, receive));
                    }
                }
            }
            if count < quinn_udp::BATCH_SIZE {
                break;
            }
        }
        received
    }

    /// The announced address a datagram was sent to, when the OS tells it and it is one of
    /// ours; else the stand-in.
    fn destination_of(&mut self, meta: &RecvMeta) -> SocketAddr {
        let Some(ip) = meta.dst_ip else {
            return self.destination;
        };
        let port = self.destination.port();
        // An IPv4 datagram on an IPv6 socket shows as an IPv4-mapped address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            ip => ip,
        };
        let Some(found) = self.candidates.iter().find(|c| c.ip() == ip && c.port() == port) else {
            return self.destination;
        };
        if !self.local_ips.contains(&ip) {
            self.local_ips.push(ip);
        }
        *found
    }

    /// Moves what the router wants done into the outbox and the event streams; returns when
    /// the router wants to run its timers next.
    fn drain_output(&mut self) -> Instant {
        loop {
            match self.sfu.poll_output() {
                SfuOutput::Transmit(transmit) => self.outbox.push(transmit),
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

    /// Sends the outbox. Datagrams to one destination keep their order; consecutive ones of
    /// the same size (the last of a run may be shorter) go out in one segmented send (UDP
    /// GSO) where the OS supports it, so a video frame's packets cost one system call.
    fn flush(&mut self) {
        if self.outbox.is_empty() {
            return;
        }
        let mut outbox = std::mem::take(&mut self.outbox);
        if let Some(tcp) = &mut self.tcp {
            let registry = self.poll.registry();
            outbox.retain(|t| {
                if t.proto == Protocol::Udp {
                    return true;
                }
                if tcp.connected_to(t.destination) {
                    tcp.send(registry, t.destination, &t.contents);
                }
                false
            });
        }
        // Stable: the order towards each destination stays as the sessions produced it.
        outbox.sort_by_key(|t| t.destination);
        let max_segments = self.udp.max_gso_segments().max(1);
        let mut i = 0;
        while let Some(first) = outbox.get(i) {
            let size = first.contents.len();
            let mut end = i + 1;
            if let Some(fit) = MAX_GSO_BYTES.checked_div(size) {
                let limit = max_segments.min(fit).max(1);
                while end - i < limit
                    && let Some(next) = outbox.get(end)
                    && next.destination == first.destination
                    && next.source == first.source
                    && next.contents.len() <= size
                    && !next.contents.is_empty()
                {
                    end += 1;
                    if next.contents.len() < size {
                        break; // only the last segment may be shorter
                    }
                }
            }
            let run = outbox.get(i..end).unwrap_or_default();
            self.send_run(run, size);
            i = end;
        }
        outbox.clear();
        self.outbox = outbox;
    }

    /// Sends datagrams of one destination, all `size` long but the last: as one segmented
    /// send when there are several, else alone.
    fn send_run(&mut self, run: &[Transmit], size: usize) {
        let Some(first) = run.first() else { return };
        let src_ip = self.source_ip(first.source);
        if let [single] = run {
            self.send_one(&single.contents, single.destination, None, src_ip);
            return;
        }
        self.gso_buf.clear();
        for transmit in run {
            self.gso_buf.extend_from_slice(&transmit.contents);
        }
        let transmit = quinn_udp::Transmit {
            destination: first.destination,
            ecn: None,
            contents: &self.gso_buf,
            segment_size: Some(size),
            src_ip,
        };
        match self.udp.try_send(UdpSockRef::from(&self.socket), &transmit) {
            Ok(()) => {}
            // The device refused segmentation (quinn-udp stops offering it): one at a time.
            Err(e) if self.udp.max_gso_segments() <= 1 && e.kind() != ErrorKind::WouldBlock => {
                for transmit in run {
                    self.send_one(&transmit.contents, transmit.destination, None, src_ip);
                }
            }
            Err(e) => tracing::debug!("send to {} failed: {e}", first.destination),
        }
    }

    fn send_one(&self, contents: &[u8], destination: SocketAddr, segment_size: Option<usize>, src_ip: Option<IpAddr>) {
        let transmit = quinn_udp::Transmit { destination, ecn: None, contents, segment_size, src_ip };
        if let Err(e) = self.udp.try_send(UdpSockRef::from(&self.socket), &transmit) {
            tracing::debug!("send to {destination} failed: {e}");
        }
    }

    /// The source address to put on a reply when several addresses are announced: the one the
    /// browser's datagrams arrived on (ICE wants replies from there), if it is local; else the
    /// kernel chooses.
    fn source_ip(&self, source: SocketAddr) -> Option<IpAddr> {
        (self.candidates.len() > 1 && self.local_ips.contains(&source.ip())).then_some(source.ip())
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
            Command::OpenRoom(room, options) => self.sfu.open_room(room, *options),
            Command::SetView(who, view) => self.sfu.set_view(who, view),
            Command::SetStreamSources(room, video, audio) => self.sfu.set_stream_sources(room, video, &audio),
        }
    }
}
