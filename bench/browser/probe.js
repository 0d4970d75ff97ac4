// Injected into every measured page before any of its own scripts (CDP
// Page.addScriptToEvaluateOnNewDocument via puppeteer, so no Content-Security-Policy applies).
// It changes nothing the page does; it only notes when each step of joining a meeting
// happens, in milliseconds since navigation start (performance.now()), in window.__probe:
//
//   gum          getUserMedia resolved (camera and microphone open)
//   ws_open      first WebSocket opened (signalling, when the page uses one)
//   ws_in:K / ws_out:K   first signalling message of kind K received / sent on it
//   pc           first RTCPeerConnection created
//   local_offer / remote_offer / remote_answer   first SDP of each kind applied
//   track        ontrack of the remote video track that delivers the first frame
//   ice          ICE "connected" on the peer connection of that track (Janus's pages
//                publish and subscribe on separate connections; Ricevo's use one for both)
//   dtls         that peer connection "connected" (ICE and DTLS done)
//   rtp          first inbound video RTP packet seen by getStats (polled every 20 ms)
//   frame        first decoded remote video frame, read from a clone of the remote track
//                (MediaStreamTrackProcessor: resolves when the decoder delivers a frame)
//   pli_sent     first keyframe request (PLI or FIR) this page sent for remote video
//   decoded      first time getStats shows framesDecoded > 0 (polled every 20 ms: a check)
//
// Every page is measured the same way, so Ricevo's pages and Janus's pages compare fairly.
(function () {
  "use strict";
  var marks = {};
  var probe = { marks: marks, pcs: [], errors: [] };
  window.__probe = probe;
  function mark(name) {
    if (marks[name] === undefined) marks[name] = performance.now();
  }

  function kindOf(data) {
    try {
      var m = JSON.parse(data);
      return String(m.type || m.janus || "?") + (m.body && m.body.request ? "." + m.body.request : "");
    } catch (_) {
      return "?";
    }
  }

  var NativeWS = window.WebSocket;
  if (NativeWS) {
    window.WebSocket = function (url, protocols) {
      var ws = protocols === undefined ? new NativeWS(url) : new NativeWS(url, protocols);
      ws.addEventListener("open", function () { mark("ws_open"); });
      // The first message of each kind, both ways ("type" on Ricevo, "janus" on Janus).
      ws.addEventListener("message", function (e) { mark("ws_in:" + kindOf(e.data)); });
      var send = ws.send;
      ws.send = function (data) { mark("ws_out:" + kindOf(data)); return send.apply(ws, arguments); };
      return ws;
    };
    window.WebSocket.prototype = NativeWS.prototype;
    ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { window.WebSocket[k] = NativeWS[k]; });
  }

  if (window.MediaDevices && MediaDevices.prototype.getUserMedia) {
    var gum = MediaDevices.prototype.getUserMedia;
    MediaDevices.prototype.getUserMedia = function () {
      return gum.apply(this, arguments).then(function (s) { mark("gum"); return s; });
    };
  }

  var Native = window.RTCPeerConnection;
  if (!Native) return;
  var setLocal = Native.prototype.setLocalDescription;
  Native.prototype.setLocalDescription = function (d) {
    var pc = this;
    return setLocal.apply(this, arguments).then(function (r) {
      if (pc.localDescription && pc.localDescription.type === "offer") mark("local_offer");
      return r;
    });
  };
  var setRemote = Native.prototype.setRemoteDescription;
  Native.prototype.setRemoteDescription = function (d) {
    var type = d && d.type;
    return setRemote.apply(this, arguments).then(function (r) {
      if (type === "offer") mark("remote_offer");
      if (type === "answer") mark("remote_answer");
      return r;
    });
  };

  // The first frame also decides which track and connection "track", "ice" and "dtls" describe.
  function watchFrames(track, pc, trackAt) {
    if (!window.MediaStreamTrackProcessor) return;
    try {
      var clone = track.clone();
      var reader = new MediaStreamTrackProcessor({ track: clone }).readable.getReader();
      reader.read().then(function (r) {
        if (!r.done && marks.frame === undefined) {
          mark("frame");
          marks.track = trackAt;
          if (pc.__probeIce !== undefined) marks.ice = pc.__probeIce;
          if (pc.__probeDtls !== undefined) marks.dtls = pc.__probeDtls;
        }
        if (r.value) r.value.close();
        reader.cancel().catch(function () {});
        clone.stop();
      }, function (e) { probe.errors.push(String(e)); });
    } catch (e) {
      probe.errors.push(String(e));
    }
  }

  // getStats every 20 ms until a frame is decoded: first RTP packet and a check on "frame".
  var polling = null;
  function poll() {
    if (polling) return;
    var started = performance.now();
    polling = setInterval(function () {
      if (marks.decoded !== undefined || performance.now() - started > 60000) {
        clearInterval(polling);
        return;
      }
      probe.pcs.forEach(function (pc) {
        if (pc.signalingState === "closed") return;
        pc.getStats().then(function (stats) {
          stats.forEach(function (s) {
            if (s.type !== "inbound-rtp" || s.kind !== "video") return;
            if (s.packetsReceived > 0) mark("rtp");
            if ((s.pliCount || 0) + (s.firCount || 0) > 0) mark("pli_sent");
            if (s.framesDecoded > 0) mark("decoded");
          });
        }, function () {});
      });
    }, 20);
  }

  function hook(pc) {
    probe.pcs.push(pc);
    mark("pc");
    pc.addEventListener("track", function (e) {
      if (e.track.kind === "video") watchFrames(e.track, pc, performance.now());
    });
    pc.addEventListener("iceconnectionstatechange", function () {
      if ((pc.iceConnectionState === "connected" || pc.iceConnectionState === "completed") && pc.__probeIce === undefined) {
        pc.__probeIce = performance.now();
      }
    });
    pc.addEventListener("connectionstatechange", function () {
      if (pc.connectionState === "connected" && pc.__probeDtls === undefined) pc.__probeDtls = performance.now();
    });
    poll();
  }

  // For the participant already in the meeting: when keyframe requests reach it and when it
  // encodes keyframes, on the shared clock (timeOrigin + now), polled every 20 ms for `ms`.
  probe.watchSending = function (ms) {
    var log = [];
    probe.sending = log;
    var last = null;
    var started = performance.now();
    var timer = setInterval(function () {
      if (performance.now() - started > ms) { clearInterval(timer); return; }
      probe.pcs.forEach(function (pc) {
        if (pc.signalingState === "closed") return;
        pc.getStats().then(function (stats) {
          stats.forEach(function (s) {
            if (s.type !== "outbound-rtp" || s.kind !== "video" || !(s.framesSent > 0)) return;
            var now = [(s.pliCount || 0) + (s.firCount || 0), s.keyFramesEncoded || 0];
            if (!last || now[0] !== last[0] || now[1] !== last[1]) {
              log.push([performance.timeOrigin + performance.now(), now[0], now[1]]);
              last = now;
            }
          });
        }, function () {});
      });
    }, 20);
  };

  // A subclass keeps instanceof, static methods and everything else the page relies on.
  var Probed = class extends Native {
    constructor(config, constraints) {
      super(config, constraints);
      hook(this);
    }
  };
  window.RTCPeerConnection = Probed;
  if (window.webkitRTCPeerConnection) window.webkitRTCPeerConnection = Probed;
})();
