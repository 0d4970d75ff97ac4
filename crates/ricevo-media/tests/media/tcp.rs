//! The TCP candidate: a str0m client on a real loopback TCP connection (RFC 4571 framing)
//! meets a client on UDP through the real media server.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use common::{Client, GIVE_UP, drive_until};
use ricevo_media::{MediaConfig, MediaEvent, MediaServer, ParticipantId, Permissions, RoomId};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Input};
use tokio::sync::mpsc::UnboundedReceiver;

enum Transport {
    Udp(UdpSocket),
    /// The connection and the bytes of a packet not complete yet.
    Tcp(TcpStream, Vec<u8>),
}

struct Peer {
    client: Client,
    transport: Transport,
    events: UnboundedReceiver<MediaEvent>,
}

impl Peer {
    fn udp(rt: &tokio::runtime::Runtime, server: &MediaServer, room: i64, who: i64) -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let (client, offer) = Client::new(ParticipantId(who), socket.local_addr().unwrap(), Instant::now());
        Peer::join(rt, server, room, client, offer, Transport::Udp(socket))
    }

    /// A client whose only candidate is an active TCP one, connected to the server's TCP port.
    fn tcp(rt: &tokio::runtime::Runtime, server: &MediaServer, room: i64, who: i64) -> Peer {
        let stream = TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
        stream.set_nodelay(true).unwrap();
        stream.set_nonblocking(true).unwrap();
        let local = stream.local_addr().unwrap();
        let candidate = Candidate::builder().tcp().host(local).tcptype(TcpType::Active).build().unwrap();
        let (client, offer) = Client::with_candidate(ParticipantId(who), candidate, Instant::now());
        Peer::join(rt, server, room, client, offer, Transport::Tcp(stream, Vec::new()))
    }

    fn join(
        rt: &tokio::runtime::Runtime,
        server: &MediaServer,
        room: i64,
        mut client: Client,
        offer: String,
        transport: Transport,
    ) -> Peer {
        let joined = rt.block_on(server.join(RoomId(room), client.who, offer, Permissions::ALL)).unwrap();
        client.accept_answer(&joined.answer_sdp);
        Peer { client, transport, events: joined.events }
    }

    /// One turn of the client's event loop.
    fn turn(&mut self, rt: &tokio::runtime::Runtime, server: &MediaServer, tick: bool) {
        while let Ok(event) = self.events.try_recv() {
            if let Some(answer) = self.client.on_event(event) {
                rt.block_on(server.answer(self.client.who, answer)).unwrap();
            }
        }
        if tick {
            self.client.send_tick(Instant::now());
        }
        let addr = self.client.addr;
        let mut received = Vec::new();
        match &mut self.transport {
            Transport::Udp(socket) => {
                for transmit in self.client.poll() {
                    socket.send_to(&transmit.contents, transmit.destination).unwrap();
                }
                let mut buf = [0u8; 2048];
                loop {
                    match socket.recv_from(&mut buf) {
                        Ok((n, source)) => received.push((Protocol::Udp, source, buf[..n].to_vec())),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("client socket: {e}"),
                    }
                }
            }
            Transport::Tcp(stream, inbox) => {
                for transmit in self.client.poll() {
                    assert_eq!(transmit.proto, Protocol::Tcp);
                    // The length and the packet in separate segments: the server must put
                    // together what arrives in pieces.
                    let len = u16::try_from(transmit.contents.len()).unwrap().to_be_bytes();
                    write_all(stream, &len);
                    write_all(stream, &transmit.contents);
                }
                let source = stream.peer_addr().unwrap();
                let mut buf = [0u8; 4096];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) => panic!("the server closed the connection"),
                        Ok(n) => inbox.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("client connection: {e}"),
                    }
                }
                let mut at = 0;
                while inbox.len() >= at + 2 {
                    let len = usize::from(u16::from_be_bytes([inbox[at], inbox[at + 1]]));
                    if inbox.len() < at + 2 + len {
                        break;
                    }
                    received.push((Protocol::Tcp, source, inbox[at + 2..at + 2 + len].to_vec()));
                    at += 2 + len;
                }
                inbox.drain(..at);
            }
        }
        for (proto, source, data) in received {
            let receive = Receive { proto, source, destination: addr, contents: data.as_slice().try_into().unwrap() };
            self.client.rtc.handle_input(Input::Receive(Instant::now(), receive)).unwrap();
        }
        let now = Instant::now();
        if self.client.timeout <= now {
            self.client.rtc.handle_input(Input::Timeout(now)).unwrap();
        }
    }
}

/// Writes all of `data` to a non-blocking stream (the test's packets are few and small).
fn write_all(stream: &mut TcpStream, mut data: &[u8]) {
    let started = Instant::now();
    while !data.is_empty() {
        match stream.write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(started.elapsed() < GIVE_UP, "the server does not read");
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("client write: {e}"),
        }
    }
}

fn server_with_tcp() -> MediaServer {
    MediaServer::start(MediaConfig {
        udp_listen: "127.0.0.1:0".parse().unwrap(),
        public_ips: Vec::new(),
        tcp_listen: Some("127.0.0.1:0".parse().unwrap()),
    })
    .unwrap()
}

#[test]
fn a_client_on_tcp_and_a_client_on_udp_exchange_media() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = server_with_tcp();
    let tcp_addr = server.tcp_addr().unwrap();
    assert_ne!(tcp_addr.port(), 0);

    let mut peers = vec![Peer::tcp(&rt, &server, 1, 1), Peer::udp(&rt, &server, 1, 2)];
    let (a, b) = (ParticipantId(1), ParticipantId(2));
    drive_until("media did not flow", |tick| {
        if peers[1].client.hears_and_sees(a, 20) && peers[0].client.hears_and_sees(b, 20) {
            return true;
        }
        for peer in &mut peers {
            peer.turn(&rt, &server, tick);
        }
        false
    });
    for peer in &peers {
        assert!(peer.client.events.contains(&MediaEvent::Connected));
    }
    // The TCP client really used its TCP candidate: the server's answer offered one, and the
    // client's only candidate is TCP.
    let stats = server.stats();
    assert_eq!((stats.rooms, stats.participants), (1, 2));
    assert!(stats.packets_forwarded >= 80);
}

#[test]
fn the_answer_offers_a_passive_tcp_candidate_when_tcp_is_on() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = server_with_tcp();
    let port = server.tcp_addr().unwrap().port();
    let (_, offer) = Client::new(ParticipantId(1), "127.0.0.1:9".parse().unwrap(), Instant::now());
    let joined = rt.block_on(server.join(RoomId(1), ParticipantId(1), offer, Permissions::ALL)).unwrap();
    let tcp_line = joined.answer_sdp.lines().find(|l| l.starts_with("a=candidate") && l.contains(" tcp "));
    let tcp_line = tcp_line.expect("a TCP candidate in the answer");
    assert!(tcp_line.contains(&format!("127.0.0.1 {port} typ host tcptype passive")), "{tcp_line}");
    assert!(joined.answer_sdp.lines().any(|l| l.starts_with("a=candidate") && l.contains(" udp ")));

    // Without tcp_listen, only UDP.
    let udp_only = MediaServer::start(MediaConfig {
        udp_listen: "127.0.0.1:0".parse().unwrap(),
        public_ips: Vec::new(),
        tcp_listen: None,
    })
    .unwrap();
    assert_eq!(udp_only.tcp_addr(), None);
    let (_, offer) = Client::new(ParticipantId(2), "127.0.0.1:9".parse().unwrap(), Instant::now());
    let joined = rt.block_on(udp_only.join(RoomId(2), ParticipantId(2), offer, Permissions::ALL)).unwrap();
    assert!(!joined.answer_sdp.contains(" tcp "));
}

#[test]
fn a_connection_that_sends_garbage_is_closed() {
    let server = server_with_tcp();
    let addr = server.tcp_addr().unwrap();
    let garbage: [&[u8]; 3] = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", // a length far over any WebRTC packet
        &[0, 0, 1, 2, 3],                     // an empty frame
        &[0, 4, 1, 2, 3, 4],                  // a frame that is not STUN, DTLS, RTP or RTCP
    ];
    for bytes in garbage {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(GIVE_UP)).unwrap();
        stream.write_all(bytes).unwrap();
        let mut buf = [0u8; 16];
        match stream.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("{bytes:?}: the connection stayed open: {other:?}"),
        }
    }
    // The server still takes connections afterwards.
    let stream = TcpStream::connect(addr).unwrap();
    drop(stream);
}
