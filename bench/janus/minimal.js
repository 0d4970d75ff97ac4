// The smallest useful VideoRoom client on the packaged janus.js, for bench/compare-janus.sh:
// join a room as publisher, publish camera and microphone, and subscribe to everyone already
// publishing or publishing later, on one multistream subscriber handle. It starts at once,
// with no button, like a direct invitation link on Ricevo.
//
// Query: ?room=N&name=X&transport=ws|http (WebSockets on :8188 by default, the transport
// Janus recommends; plain HTTP long polling on :8088 as the packaged demo uses).
(function () {
  "use strict";
  var q = new URLSearchParams(location.search);
  var room = parseInt(q.get("room") || "1234", 10);
  var name = q.get("name") || "guest";
  var server = q.get("transport") === "http"
    ? "http://" + location.hostname + ":8088/janus"
    : "ws://" + location.hostname + ":8188/";
  var janus = null;
  var publisher = null;
  var subscriber = null;
  var privateId = null;
  var subscribed = {};      // feed id -> true

  function status(text) { document.getElementById("status").textContent = text; }

  function publish() {
    publisher.createOffer({
      tracks: [
        { type: "audio", capture: true, recv: false },
        { type: "video", capture: true, recv: false }
      ],
      success: function (jsep) {
        publisher.send({ message: { request: "configure", audio: true, video: true }, jsep: jsep });
      },
      error: function (e) { status("cannot publish: " + (e.message || e)); }
    });
  }

  // Everyone's streams in `publishers` that we do not receive yet.
  function wanted(publishers) {
    var streams = [];
    (publishers || []).forEach(function (p) {
      if (p.dummy || subscribed[p.id]) return;
      subscribed[p.id] = true;
      streams.push({ feed: p.id });
    });
    return streams;
  }

  function subscribe(publishers) {
    var streams = wanted(publishers);
    if (!streams.length) return;
    if (subscriber) {
      subscriber.send({ message: { request: "subscribe", streams: streams } });
      return;
    }
    janus.attach({
      plugin: "janus.plugin.videoroom",
      success: function (handle) {
        subscriber = handle;
        handle.send({ message: { request: "join", room: room, ptype: "subscriber", streams: streams, private_id: privateId } });
      },
      error: function (e) { status("cannot subscribe: " + e); },
      onmessage: function (msg, jsep) {
        if (!jsep) return;
        subscriber.createAnswer({
          jsep: jsep,
          tracks: [{ type: "data" }],
          success: function (answer) { subscriber.send({ message: { request: "start", room: room }, jsep: answer }); },
          error: function (e) { status("cannot answer: " + (e.message || e)); }
        });
      },
      onremotetrack: function (track, mid, on) {
        var id = "remote-" + mid;
        var el = document.getElementById(id);
        if (!on) { if (el) el.remove(); return; }
        if (!el) {
          el = document.createElement(track.kind === "audio" ? "audio" : "video");
          el.id = id;
          el.autoplay = true;
          el.setAttribute("playsinline", "");
          document.getElementById("videos").appendChild(el);
        }
        el.srcObject = new MediaStream([track]);
        status("in the room");
      }
    });
  }

  Janus.init({
    debug: false,
    callback: function () {
      janus = new Janus({
        server: server,
        iceServers: [],
        success: function () {
          janus.attach({
            plugin: "janus.plugin.videoroom",
            success: function (handle) {
              publisher = handle;
              handle.send({ message: { request: "join", room: room, ptype: "publisher", display: name } });
            },
            error: function (e) { status("cannot attach: " + e); },
            onmessage: function (msg, jsep) {
              if (msg.videoroom === "joined") {
                privateId = msg.private_id;
                publish();
                subscribe(msg.publishers);
              } else if (msg.videoroom === "event" && msg.publishers) {
                subscribe(msg.publishers);
              } else if (msg.error) {
                status(msg.error);
              }
              if (jsep) publisher.handleRemoteJsep({ jsep: jsep });
            },
            onlocaltrack: function (track, on) {
              if (on && track.kind === "video") document.getElementById("local").srcObject = new MediaStream([track]);
            }
          });
        },
        error: function (e) { status("cannot reach Janus: " + e); }
      });
    }
  });
  window.janusMinimal = { janus: function () { return janus; } };
})();
