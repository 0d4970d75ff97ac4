//! The real media server on a loopback UDP socket, with str0m clients on real sockets.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::thread;
use std::time::{Duration, Instant};

use common::{Client, GIVE_UP, drive_until};
use ricevo_media::{MediaConfig, MediaEvent, MediaServer, ParticipantId, Permissions, RoomId};
use str0m::Input;
use str0m::net::{Protocol, Receive};
use tokio::sync::mpsc::UnboundedReceiver;

struct Peer {
    client: Client,
    socket: UdpSocket,
    events: UnboundedReceiver<MediaEvent>,
}

impl Peer {
    fn join(rt: &tokio::runtime::Runtime, server: &MediaServer, room: i64, who: i64) -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let (mut client, offer) = Client::new(ParticipantId(who), socket.local_addr().unwrap(), Instant::now());
        let joined = rt.block_on(server.join(RoomId(room), ParticipantId(who), offer, Permissions::ALL)).unwrap();
        client.accept_answer(&joined.answer_sdp);
        Peer { client, socket, events: joined.events }
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
        for transmit in self.client.poll() {
            self.socket.send_to(&transmit.contents, transmit.destination).unwrap();
        }
        let mut buf = [0u8; 2048];
        loop {
            match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => {
                    let receive = Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.client.addr,
                        contents: buf[..n].try_into().unwrap(),
                    };
                    self.client.rtc.handle_input(Input::Receive(Instant::now(), receive)).unwrap();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("client socket: {e}"),
            }
        }
        let now = Instant::now();
        if self.client.timeout <= now {
            self.client.rtc.handle_input(Input::Timeout(now)).unwrap();
        }
    }
}

#[test]
fn two_clients_exchange_media_through_the_udp_server() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = MediaServer::start(MediaConfig {
        udp_listen: "127.0.0.1:0".parse().unwrap(),
        public_ips: Vec::new(),
        tcp_listen: None,
    })
    .unwrap();
    assert_ne!(server.udp_addr().port(), 0);

    let mut peers = vec![Peer::join(&rt, &server, 1, 1), Peer::join(&rt, &server, 1, 2)];
    let (a, b) = (ParticipantId(1), ParticipantId(2));
    let started = Instant::now();
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
    let stats = server.stats();
    assert_eq!((stats.rooms, stats.participants), (1, 2));
    assert!(stats.packets_forwarded >= 80);
    assert!(stats.bytes_received > stats.datagrams_received);

    server.leave(a);
    while server.stats().participants != 1 {
        assert!(started.elapsed() < GIVE_UP, "leave was not applied");
        for peer in &mut peers {
            peer.turn(&rt, &server, false);
        }
        thread::sleep(Duration::from_millis(1));
    }
    // B hears that A's tracks ended.
    while peers[1].client.ended.len() < 3 {
        assert!(started.elapsed() < GIVE_UP, "tracks did not end");
        for peer in &mut peers {
            peer.turn(&rt, &server, false);
        }
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn the_server_reports_bad_requests_as_errors() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = MediaServer::start(MediaConfig {
        udp_listen: "127.0.0.1:0".parse().unwrap(),
        public_ips: Vec::new(),
        tcp_listen: None,
    })
    .unwrap();
    let bad = rt.block_on(server.join(RoomId(1), ParticipantId(1), "hello".into(), Permissions::ALL));
    assert!(matches!(bad, Err(ricevo_media::MediaError::Sdp(_))));
    let unknown = rt.block_on(server.answer(ParticipantId(9), "v=0\r\n".into()));
    assert!(unknown.is_err());

    // A good join, then the room closes: the participant's event stream ends.
    let (_, offer) = Client::new(ParticipantId(1), "127.0.0.1:9".parse().unwrap(), Instant::now());
    let mut joined = rt.block_on(server.join(RoomId(1), ParticipantId(1), offer, Permissions::ALL)).unwrap();
    assert!(joined.answer_sdp.contains("a=ice-lite"));
    server.close_room(RoomId(1));
    rt.block_on(async { while joined.events.recv().await.is_some() {} });
    // The counters follow right after.
    let started = Instant::now();
    while server.stats().participants != 0 {
        assert!(started.elapsed() < GIVE_UP, "the room did not close");
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(server.stats().rooms, 0);
}
