// The virtual office in the citizen's (and official's) browser: device check, waiting room and
// the meeting. Plain JavaScript, no framework. The page carries its settings and texts in
// <script type="application/json" id="room-data">; the server speaks over one WebSocket
// (/a/{token}/ws, JSON messages tagged by "type") and media flow through one
// RTCPeerConnection to the server's SFU.
//
// Negotiation has one direction after the first offer: the browser offers once, with three
// transceivers (microphone, camera, screen) and receive-only ones (audio, camera, screen) for
// each participant already in the meeting (at least one), on which the server's answer carries
// their media at once; from then on it only answers the server's offers (tracks beyond those
// places, places freed and reused). Screen sharing swaps a track into the third transceiver,
// so it needs no renegotiation. A page that is already admitted (a direct link, a reload)
// offers at once, while the socket and the camera open, and adds the camera when it is open.
//
// Several nodes: a socket that comes back (on the same node, or through the public address on
// another one after a node died) is told `admitted` again, and the page offers anew to that
// node's SFU; a page on a dead node's own address moves to the public address.
//
// The call is a screen, not a form: the others large on a stage that fits the window (a grid
// for several, a shared screen whole and large), the self-view small in a corner, a bar of
// controls at the bottom, and chat, documents, people and (for the official) the citizen's case
// in panels over the call. Admission is announced with a tone, the tab title and a heading.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("room-data").textContent);
  var T = data.texts;
  var $ = function (id) { return document.getElementById(id); };

  var local = null;          // MediaStream from the camera and microphone, or null
  var screen = null;         // MediaStream of a shared screen, or null
  var pc = null;             // RTCPeerConnection, once admitted
  var ws = null;
  var closedByUs = false;
  var restarting = false;    // the server said it restarts: reconnect, a little later
  var retry = 0;
  var senders = {};          // audio, camera, screen RTCRtpSender
  var tracksByMid = {};      // mid -> {entry_id, name, kind, source}
  var streamsByMid = {};     // mid -> MediaStreamTrack
  var admitted = false;
  var offeredOn = null;      // the socket that carried this connection's offer, "soon" while it is made
  var queued = null;         // an offer waiting for the socket to open
  var abilities = {};
  var meter = null;
  var mutedByOfficial = false; // the official muted us: only the official lifts it

  var openPanel = null;       // the name of the open panel, or null
  var opener = null;          // the button that opened it (focus goes back there)
  var unread = { chat: 0, documents: 0 };
  var title = document.title;

  // Tests and support staff read the connection and the cues given from here.
  window.ricevo = { pc: function () { return pc; }, state: "check", cues: { admitted: 0 } };

  function show(phase) {
    ["check", "waiting", "meeting", "closed"].forEach(function (p) {
      var el = $("phase-" + p);
      if (el) el.hidden = p !== phase;
    });
    window.ricevo.state = phase;
    inCall(phase === "meeting");
    var h = $("phase-" + phase) && $("phase-" + phase).querySelector("h1, h2");
    if (h) { h.setAttribute("tabindex", "-1"); h.focus(); }
  }

  // The call covers the window: what is under it (header, footer) leaves the tab order and the
  // accessibility tree while it lasts, so focus never goes where nobody can see it.
  function inCall(on) {
    document.body.classList.toggle("in-call", on);
    var el = $("phase-meeting");
    while (el && el !== document.body) {
      var parent = el.parentElement;
      if (!parent) break;
      Array.prototype.forEach.call(parent.children, function (sib) {
        if (sib !== el && sib.id !== "connection" && sib.tagName !== "SCRIPT") sib.inert = on;
      });
      el = parent;
    }
  }

  function say(el, text) { if (el) el.textContent = text || ""; }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }

  // ---- 1. Device check -------------------------------------------------------------------
  function stopLocal() {
    if (local) local.getTracks().forEach(function (t) { t.stop(); });
    local = null;
    if (meter) { meter.stop(); meter = null; }
  }

  function startPreview() {
    var cam = $("camera").value, mic = $("microphone").value;
    var want = {
      audio: mic ? { deviceId: { exact: mic } } : true,
      video: cam ? { deviceId: { exact: cam } } : { width: { ideal: 1280 }, height: { ideal: 720 } }
    };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say($("device-status"), T.no_devices_api);
      return Promise.resolve();
    }
    stopLocal();
    return navigator.mediaDevices.getUserMedia(want).catch(function () {
      return navigator.mediaDevices.getUserMedia({ audio: true }).catch(function () { return null; });
    }).then(function (stream) {
      local = stream;
      $("preview").srcObject = stream;
      if (!stream) { say($("device-status"), T.devices_denied); return; }
      say($("device-status"), stream.getVideoTracks().length ? T.devices_ok : T.camera_missing);
      meter = levelMeter(stream, $("level"));
      return listDevices();
    });
  }

  function listDevices() {
    return navigator.mediaDevices.enumerateDevices().then(function (devices) {
      fillSelect($("camera"), devices.filter(function (d) { return d.kind === "videoinput"; }), local && local.getVideoTracks()[0]);
      fillSelect($("microphone"), devices.filter(function (d) { return d.kind === "audioinput"; }), local && local.getAudioTracks()[0]);
    });
  }

  function fillSelect(select, devices, track) {
    var current = track && track.getSettings ? track.getSettings().deviceId : "";
    select.textContent = "";
    devices.forEach(function (d, i) {
      var o = document.createElement("option");
      o.value = d.deviceId;
      o.textContent = d.label || (select.id === "camera" ? T.camera : T.microphone) + " " + (i + 1);
      if (d.deviceId === current) o.selected = true;
      select.appendChild(o);
    });
  }

  // The microphone's level on a <meter>, so people see that they can be heard.
  function levelMeter(stream, el) {
    if (!stream.getAudioTracks().length || !window.AudioContext) return null;
    var ctx = new AudioContext();
    var analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(stream).connect(analyser);
    var buf = new Uint8Array(analyser.fftSize);
    var timer = setInterval(function () {
      analyser.getByteTimeDomainData(buf);
      var peak = 0;
      for (var i = 0; i < buf.length; i++) peak = Math.max(peak, Math.abs(buf[i] - 128));
      el.value = Math.min(1, peak / 64);
    }, 100);
    return { stop: function () { clearInterval(timer); ctx.close(); } };
  }

  function proceed(withMedia) {
    if (withMedia === "audio" && local) {
      local.getVideoTracks().forEach(function (t) { t.stop(); local.removeTrack(t); });
    } else if (withMedia === "none") {
      stopLocal();
    }
    if (meter) { meter.stop(); meter = null; }
    connect();
  }

  // ---- 2. Waiting room ---------------------------------------------------------------------
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + data.ws);
    ws.onopen = function () {
      retry = 0;
      restarting = false;
      say($("connection"), "");
      if (queued) { ws.send(queued); offeredOn = ws; queued = null; }
    };
    ws.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      var handler = handlers[m.type];
      if (handler) handler(m);
    };
    ws.onclose = function (e) {
      if (closedByUs) return;
      // A dropped connection comes back by itself; the server keeps our place. A server that
      // restarts (close code 1012) says so first; every page then comes back within a few
      // seconds, spread out so the new server is not hit by all of them at once.
      if (e && e.code === 1012) restarting = true;
      say($("connection"), restarting ? T.restarting : T.reconnecting);
      retry = Math.min(retry + 1, 5);
      if (retry >= 3 && onOtherNode()) {
        // This page is on one node's own address (its meeting ran there) and that node does not
        // answer: the public address leads to a live node, which takes the meeting over. The
        // new page negotiates media with it.
        closedByUs = true;
        if (pc) pc.close();
        location.replace(data.public_join);
        return;
      }
      setTimeout(connect, restarting ? 1500 + Math.floor(Math.random() * 3000) : 500 * retry);
    };
    if (!admitted && !data.admitted) show("waiting");
  }

  // Whether this page was sent to a node's own address, away from the public one.
  function onOtherNode() {
    try { return !!data.public_join && new URL(data.public_join).origin !== location.origin; }
    catch (_) { return false; }
  }

  function send(m) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(m)); }

  var handlers = {
    state: function (m) {
      // Not admitted after all (a page older than its entry): no media, the waiting room.
      if (pc) { pc.close(); pc = null; offeredOn = null; }
      if (window.ricevo.state !== "waiting") show("waiting");
      var parts = [];
      if (m.status === "held") parts.push(T.held);
      else parts.push(T.waiting);
      say($("wait-status"), parts.join(" "));
      say($("wait-position"), m.position === null || m.position === undefined ? "" :
        (m.position === 0 ? T.you_are_next : fill(T.position, { n: m.position + 1 })));
      say($("wait-estimate"), m.estimate_minutes ? fill(T.estimate, { n: m.estimate_minutes }) : "");
      say($("wait-message"), m.message || "");
      $("wait-message").hidden = !m.message;
      var timing = "";
      if (m.early_minutes) timing = fill(T.early, { n: m.early_minutes });
      if (m.late_minutes) timing = fill(T.late, { n: m.late_minutes });
      say($("wait-timing"), timing);
    },
    admitted: function (m) {
      var wasWaiting = window.ricevo.state === "waiting";
      admitted = true;
      abilities = m.abilities || {};
      show("meeting");
      if (wasWaiting && !abilities.moderate) cueAdmitted();
      $("share").hidden = !canShare();
      $("documents-form").hidden = !abilities.share_documents;
      $("end").hidden = !abilities.moderate;
      $("open-case").hidden = !abilities.moderate;
      if (abilities.moderate) {
        renderCase(m["case"]);
        // On a desk-sized screen the case stays beside the call from the start.
        if (window.matchMedia && window.matchMedia("(min-width: 64em)").matches) openPanelNamed("case", $("open-case"), false);
      }
      // An offer made before `admitted` (sent on this socket, or about to be) stands.
      if (!pc || (offeredOn !== ws && offeredOn !== "soon")) startMedia(m.ice_servers || []);
    },
    answer: function (m) { if (pc) pc.setRemoteDescription({ type: "answer", sdp: m.sdp }); },
    offer: function (m) {
      if (!pc) return;
      pc.setRemoteDescription({ type: "offer", sdp: m.sdp })
        .then(function () { return pc.createAnswer(); })
        .then(function (a) { return pc.setLocalDescription(a); })
        .then(function () { send({ type: "answer", sdp: pc.localDescription.sdp }); });
    },
    track: function (m) { tracksByMid[m.mid] = m; placeTrack(m.mid); },
    track_ended: function (m) { removeTile(m.mid); delete tracksByMid[m.mid]; },
    participants: function (m) { renderParticipants(m.list || []); },
    chat: function (m) {
      addChat(m);
      if (openPanel !== "chat" && m.entry_id !== data.entry_id) {
        unread.chat++;
        badges();
        say($("notice"), fill(T.new_message, { name: m.from }));
      }
    },
    chat_history: function (m) { (m.lines || []).forEach(addChat); },
    document: function (m) {
      var added = addDocument(m);
      if (added && openPanel !== "documents" && m.entry_id !== data.entry_id) { unread.documents++; badges(); }
    },
    muted: function () { officialMute(true); say($("notice"), T.muted_by_official); },
    unmuted: function () { officialMute(false); say($("notice"), T.unmuted_by_official); },
    asks_to_speak: function (m) {
      if (abilities.moderate) say($("notice"), fill(T.asks_to_speak, { name: m.name }));
    },
    removed: function (m) { finish(T.removed, m.url, { title: T.removed_title, next: true }); },
    cancelled: function (m) { finish(T.cancelled, null, { title: T.cancelled_title, message: m.message, next: true }); },
    removed_participant: function (m) { if (abilities.moderate) listRemoved(m); },
    readmitted: function (m) {
      var li = document.querySelector('[data-removed="' + m.entry_id + '"]');
      if (li) li.remove();
    },
    refused: function (m) { finish(T.refused_text, null, { title: T.refused_title, message: m.message, next: true }); },
    no_show: function (m) { finish(T.no_show, null, { title: T.no_show_title, message: m.message, next: true }); },
    ended: function (m) { finish(T.ended, m.url); },
    error: function (m) { say($("notice"), m.message); },
    restarting: function () { restarting = true; say($("connection"), T.restarting); },
    // Several servers: the meeting runs on another one, which this page moves to.
    elsewhere: function (m) { closedByUs = true; if (ws) ws.close(); location.href = m.url; }
  };

  // ---- 3. The meeting ----------------------------------------------------------------------
  function startMedia(iceServers) {
    if (pc) { pc.close(); }
    tracksByMid = {};
    streamsByMid = {};
    $("tiles").querySelectorAll(".tile.remote").forEach(function (t) { t.remove(); });
    arrange();
    pc = new RTCPeerConnection({ iceServers: iceServers, bundlePolicy: "max-bundle" });
    var audio = local && local.getAudioTracks()[0];
    var video = local && local.getVideoTracks()[0];
    senders.audio = pc.addTransceiver(audio || "audio", { direction: "sendrecv" }).sender;
    senders.camera = pc.addTransceiver(video || "video", { direction: "sendrecv" }).sender;
    senders.screen = pc.addTransceiver("video", { direction: "sendonly" }).sender;
    for (var i = 0; i < Math.min(Math.max(data.others || 0, 1), 9); i++) {
      ["audio", "video", "video"].forEach(function (k) { pc.addTransceiver(k, { direction: "recvonly" }); });
    }
    showLocal();
    pc.ontrack = function (e) {
      var mid = e.transceiver && e.transceiver.mid;
      if (!mid) return;
      streamsByMid[mid] = e.track;
      placeTrack(mid);
    };
    var mine = pc;
    pc.onconnectionstatechange = function () {
      if (pc !== mine) return;
      var failed = pc.connectionState === "failed";
      say($("connection"), failed ? T.media_failed : "");
      // The media path broke while signalling still works (a network change on a phone):
      // connect again; the server replaces the old session.
      if (failed) setTimeout(function () { if (pc === mine && !closedByUs) startMedia(iceServers); }, 1000);
    };
    offeredOn = "soon";
    pc.createOffer()
      .then(function (o) { return mine.setLocalDescription(o); })
      .then(function () {
        if (pc !== mine) return;
        var offer = JSON.stringify({ type: "offer", sdp: mine.localDescription.sdp });
        if (ws && ws.readyState === 1) { ws.send(offer); offeredOn = ws; } else queued = offer;
      });
  }

  // The camera and microphone on the connection's senders and the page's own tile.
  function showLocal() {
    var audio = local && local.getAudioTracks()[0];
    var video = local && local.getVideoTracks()[0];
    if (pc) {
      senders.audio.replaceTrack(audio || null);
      senders.camera.replaceTrack(video || null);
    }
    $("self").srcObject = local;
    // No empty tile: the self-view shows only while the camera sends.
    $("self-view").hidden = !(video && video.enabled);
    $("mic").setAttribute("aria-pressed", audio ? "true" : "false");
    $("cam").setAttribute("aria-pressed", video ? "true" : "false");
    $("mic").disabled = !audio || mutedByOfficial;
    $("cam").disabled = !video;
  }

  function canShare() {
    return !!(abilities.share_screen && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  }

  // The official's mute: the microphone goes off and stays off (the server drops our audio
  // anyway) until the official lifts it; meanwhile we may ask to speak.
  function officialMute(on) {
    mutedByOfficial = on;
    if (on) setMic(false);
    $("mic").disabled = on || !(local && local.getAudioTracks().length);
    $("ask-to-speak").hidden = !on;
  }

  // A remote track gets a tile once both the track and who sends it are known.
  function placeTrack(mid) {
    var info = tracksByMid[mid], track = streamsByMid[mid];
    if (!info || !track) return;
    var tile = document.querySelector('.tile[data-mid="' + mid + '"]');
    if (!tile) {
      var kind = info.kind === "audio" ? "audio-only" : info.source === "screen" ? "screen" : "camera";
      // One tile per person and source: a person who came back (a reload, a new tab) is sent
      // on a new place, and the old one shows a frozen picture until it is told it ended.
      document.querySelectorAll('#tiles .tile.' + kind + '[data-entry="' + info.entry_id + '"]').forEach(function (old) { old.remove(); });
      tile = document.createElement("figure");
      tile.className = "tile remote " + kind;
      tile.setAttribute("data-mid", mid);
      tile.setAttribute("data-entry", info.entry_id);
      var media = document.createElement(info.kind === "audio" ? "audio" : "video");
      media.autoplay = true;
      media.setAttribute("playsinline", "");
      tile.appendChild(media);
      var cap = document.createElement("figcaption");
      var name = document.createElement("span");
      name.textContent = info.source === "screen" ? fill(T.screen_of, { name: info.name }) : info.name;
      cap.appendChild(name);
      var note = document.createElement("span");
      note.className = "sr-only speaking-note";
      note.textContent = ", " + T.speaking;
      note.hidden = true;
      cap.appendChild(note);
      var off = document.createElement("span");
      off.className = "cam-off-note";
      off.textContent = " (" + T.camera_off + ")";
      cap.appendChild(off);
      tile.appendChild(cap);
      if (info.source === "screen" && document.fullscreenEnabled) {
        var full = document.createElement("button");
        full.type = "button";
        full.className = "full";
        full.innerHTML = '<svg aria-hidden="true" focusable="false"><use href="#i-full"/></svg>';
        var label = document.createElement("span");
        label.textContent = T.full_screen;
        full.appendChild(label);
        full.setAttribute("aria-label", T.full_screen + ": " + name.textContent);
        full.onclick = function () {
          if (document.fullscreenElement) document.exitFullscreen();
          else tile.requestFullscreen().catch(function () {});
        };
        tile.appendChild(full);
      }
      $("tiles").appendChild(tile);
    }
    tile.querySelector("audio, video").srcObject = new MediaStream([track]);
    if (info.kind === "video") {
      // A camera turned off: the tile shows the name instead of a black picture; a screen
      // nobody shares shows nothing at all.
      var idle = info.source === "screen" ? "idle" : "cam-off";
      var mark = function () { tile.classList.toggle(idle, track.muted); arrange(); };
      track.onmute = mark;
      track.onunmute = mark;
      tile.classList.toggle(idle, track.muted);
    }
    arrange();
  }

  function removeTile(mid) {
    var tile = document.querySelector('.tile[data-mid="' + mid + '"]');
    if (tile) tile.remove();
    arrange();
  }

  // The stage fits the window: no empty tile, a grid that grows with the people (never a
  // scrolling page of videos), a shared screen large and whole. Someone heard but not seen
  // (no camera) gets a name card instead of an invisible audio tile.
  function arrange() {
    var stage = $("tiles");
    var cams = [], screens = [];
    Array.prototype.forEach.call(stage.children, function (t) {
      if (t.classList.contains("audio-only")) {
        var seen = stage.querySelector('.tile.camera[data-entry="' + t.getAttribute("data-entry") + '"]');
        t.classList.toggle("card", !seen);
        if (!seen) cams.push(t);
      } else if (t.classList.contains("screen")) { if (!t.classList.contains("idle")) screens.push(t); }
      else cams.push(t);
    });
    var n = cams.length;
    var portrait = stage.clientHeight > stage.clientWidth;
    var cols = 1;
    if (screens.length) cols = Math.max(1, Math.min(n, portrait ? 3 : 4));
    else if (n > 1) cols = portrait ? (n <= 2 ? 1 : n <= 6 ? 2 : 3) : (n <= 4 ? 2 : n <= 9 ? 3 : 4);
    stage.style.setProperty("--cols", cols);
    stage.style.setProperty("--rows", Math.max(1, Math.ceil(n / cols)));
    stage.classList.toggle("has-screen", screens.length > 0);
    stage.classList.toggle("has-others", screens.length > 0 && n > 0);
    $("stage-empty").hidden = n + screens.length > 0;
  }

  // Who speaks: the audio level of each incoming stream (the browser measures it for every
  // received packet), marked on the person's tile with an outline and words for screen readers.
  function markSpeakers() {
    if (!pc || !pc.getReceivers) return;
    var speaking = {};
    pc.getTransceivers().forEach(function (tr) {
      var r = tr.receiver, info = tracksByMid[tr.mid];
      if (!info || info.kind !== "audio" || !r.getSynchronizationSources) return;
      r.getSynchronizationSources().forEach(function (src) {
        if (src.audioLevel > 0.02) speaking[info.entry_id] = true;
      });
    });
    document.querySelectorAll("#tiles .tile").forEach(function (t) {
      if (t.classList.contains("screen") || (t.classList.contains("audio-only") && !t.classList.contains("card"))) return;
      var on = !!speaking[t.getAttribute("data-entry")];
      t.classList.toggle("speaking", on);
      var note = t.querySelector(".speaking-note");
      if (note) note.hidden = !on;
    });
  }

  function setMic(on) {
    if (!local) return;
    local.getAudioTracks().forEach(function (t) { t.enabled = on; });
    $("mic").setAttribute("aria-pressed", on ? "true" : "false");
  }

  function setCam(on) {
    if (!local) return;
    local.getVideoTracks().forEach(function (t) { t.enabled = on; });
    $("cam").setAttribute("aria-pressed", on ? "true" : "false");
    $("self-view").hidden = !on;
  }

  function toggleShare() {
    if (screen) { stopShare(); return; }
    navigator.mediaDevices.getDisplayMedia({ video: true }).then(function (s) {
      screen = s;
      var t = s.getVideoTracks()[0];
      t.onended = stopShare;
      senders.screen.replaceTrack(t);
      $("share").setAttribute("aria-pressed", "true");
      say($("share").querySelector("span"), T.stop_share_short);
      $("share").setAttribute("aria-label", T.stop_share);
    }).catch(function () { say($("notice"), T.share_failed); });
  }

  function stopShare() {
    if (!screen) return;
    screen.getTracks().forEach(function (t) { t.stop(); });
    screen = null;
    senders.screen.replaceTrack(null);
    $("share").setAttribute("aria-pressed", "false");
    say($("share").querySelector("span"), T.share_short);
    $("share").setAttribute("aria-label", T.share);
  }

  function renderParticipants(list) {
    var ul = $("participants");
    ul.textContent = "";
    list.forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.name + (p.muted ? " (" + T.muted + ")" : "");
      // After a reload the list is how this page learns that the official muted us.
      if (p.entry_id === data.entry_id && p.muted && !mutedByOfficial) {
        officialMute(true);
        say($("notice"), T.muted_by_official);
      }
      if (abilities.moderate && p.entry_id !== data.entry_id) {
        [[p.muted ? "unmute" : "mute", p.muted ? T.unmute : T.mute], ["remove", T.remove]].forEach(function (a) {
          var b = document.createElement("button");
          b.type = "button";
          b.className = "btn btn-outline btn-small";
          b.textContent = a[1];
          b.setAttribute("aria-label", a[1] + " " + p.name);
          b.onclick = function () { send({ type: a[0], entry_id: p.entry_id }); };
          li.appendChild(document.createTextNode(" "));
          li.appendChild(b);
        });
      }
      ul.appendChild(li);
    });
  }

  // The people this official removed, each with a button to let them back in (their link
  // opens the meeting again once admitted).
  function listRemoved(m) {
    var ul = $("removed-people");
    if (!ul) {
      var h = document.createElement("h3");
      h.textContent = T.removed_people;
      ul = document.createElement("ul");
      ul.id = "removed-people";
      $("participants").after(h, ul);
    }
    if (document.querySelector('[data-removed="' + m.entry_id + '"]')) return;
    var li = document.createElement("li");
    li.setAttribute("data-removed", m.entry_id);
    li.textContent = m.name + " ";
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-outline btn-small";
    b.textContent = T.readmit;
    b.setAttribute("aria-label", T.readmit + " " + m.name);
    b.onclick = function () { send({ type: "readmit", entry_id: m.entry_id }); };
    li.appendChild(b);
    ul.appendChild(li);
  }

  // A chat line, once (a reload hears the stored lines again).
  function addChat(m) {
    if (m.id && document.querySelector('[data-chat="' + m.id + '"]')) return;
    var li = document.createElement("li");
    if (m.id) li.setAttribute("data-chat", m.id);
    var who = document.createElement("strong");
    who.textContent = m.from + " ";
    li.appendChild(who);
    var at = (m.at || "").slice(11, 16);
    if (at) {
      var time = document.createElement("time");
      time.dateTime = m.at;
      time.textContent = at;
      li.appendChild(time);
    }
    var p = document.createElement("p");
    p.textContent = m.text;
    li.appendChild(p);
    $("chat-log").appendChild(li);
    $("chat-empty").hidden = true;
    if (openPanel === "chat") li.scrollIntoView({ block: "nearest" });
  }

  // A document of the meeting, once; true when it is new here. The official's case lists it too.
  function addDocument(d) {
    if (document.querySelector('#documents [data-document="' + d.id + '"]')) return false;
    ["documents", "case-documents"].forEach(function (id) {
      var li = document.createElement("li");
      li.setAttribute("data-document", d.id);
      var a = document.createElement("a");
      a.href = d.url;
      a.setAttribute("download", d.name);
      a.textContent = d.name;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" (" + Math.max(1, Math.round(d.size / 1024)) + " KB)"));
      $(id).appendChild(li);
    });
    $("documents-empty").hidden = true;
    return true;
  }

  // The citizen's case beside the official's call (only an official's socket receives it).
  function renderCase(c) {
    var box = $("case");
    box.textContent = "";
    if (!c) { var p = document.createElement("p"); p.textContent = T.case_none; box.appendChild(p); return; }
    var dl = document.createElement("dl");
    dl.className = "facts case";
    var row = function (label, value) {
      if (value === null || value === undefined || value === "") return;
      var dt = document.createElement("dt"); dt.textContent = label;
      var dd = document.createElement("dd"); dd.textContent = value;
      dl.appendChild(dt); dl.appendChild(dd);
    };
    row(T.case_name, c.name);
    row(T.case_service, c.service);
    row(T.case_booked, c.booked);
    row(T.case_ticket, c.ticket);
    row(T.case_reference, c.reference);
    row(T.case_notes, c.notes);
    (c.answers || []).forEach(function (qa) { row(qa[0], qa[1]); });
    box.appendChild(dl);
  }

  // ---- Panels over the call: one at a time; focus moves in, Escape closes and focus goes
  // back to the button that opened it.
  function openPanelNamed(name, button, focus) {
    closePanel(false);
    var panel = $("panel-" + name);
    panel.hidden = false;
    openPanel = name;
    opener = button;
    button.setAttribute("aria-expanded", "true");
    $("call-body").classList.add("with-panel");
    if (unread[name]) { unread[name] = 0; badges(); }
    if (focus !== false) {
      var target = name === "chat" ? $("chat-text") : panel.querySelector("h2");
      if (target.tagName === "H2") target.setAttribute("tabindex", "-1");
      target.focus();
    }
    if (name === "chat") { var last = $("chat-log").lastElementChild; if (last) last.scrollIntoView({ block: "nearest" }); }
    arrange();
  }

  function closePanel(returnFocus) {
    if (!openPanel) return;
    $("panel-" + openPanel).hidden = true;
    if (opener) opener.setAttribute("aria-expanded", "false");
    $("call-body").classList.remove("with-panel");
    if (returnFocus && opener) opener.focus();
    openPanel = null;
    opener = null;
    arrange();
  }

  function badges() {
    [["chat", "open-chat"], ["documents", "open-documents"]].forEach(function (p) {
      var b = $(p[1]).querySelector(".badge");
      b.querySelector(".n").textContent = unread[p[0]];
      b.hidden = !unread[p[0]];
    });
  }

  // The citizen who was let in hears a tone, sees the tab's title change and a clear heading,
  // so someone who switched to another app or tab notices.
  function cueAdmitted() {
    window.ricevo.cues.admitted++;
    document.title = T.your_turn + " – " + title;
    var h = $("meeting-h");
    h.textContent = T.your_turn_heading;
    h.classList.add("cue");
    setTimeout(function () { h.classList.remove("cue"); }, 15000);
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      [660, 880].forEach(function (hz, i) {
        var osc = ctx.createOscillator(), gain = ctx.createGain();
        var start = ctx.currentTime + i * 0.25;
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.22);
        osc.connect(gain).connect(ctx.destination);
        osc.start(start);
        osc.stop(start + 0.24);
      });
      setTimeout(function () { ctx.close(); }, 1000);
    } catch (_) { /* no sound: the title and heading remain */ }
  }

  function upload(e) {
    e.preventDefault();
    var file = $("document-file").files[0];
    if (!file) return;
    if (file.size > data.max_document_bytes) { say($("document-status"), T.too_large); return; }
    say($("document-status"), T.uploading);
    fetch(data.documents, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream", "X-File-Name": encodeURIComponent(file.name) },
      body: file
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.message || T.upload_failed);
        say($("document-status"), T.uploaded);
        $("document-file").value = "";
      });
    }).catch(function (err) { say($("document-status"), err.message || T.upload_failed); });
  }

  // The end of the wait or the meeting. `how` may give the closing page its own heading, the
  // office's message and the ways to go on (a refusal is not "meeting over").
  function finish(text, url, how) {
    how = how || {};
    closedByUs = true;
    if (pc) pc.close();
    stopShare();
    stopLocal();
    if (ws) ws.close();
    if (url) { location.href = url; return; }
    say($("closed-text"), text);
    if (how.title) { say($("closed-h"), how.title); document.title = how.title + " – " + title; }
    say($("closed-office-message"), how.message || "");
    $("closed-message").hidden = !how.message;
    $("closed-next").hidden = !how.next;
    show("closed");
  }

  // ---- Wiring ------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", function () {
    $("js-needed").hidden = true;
    if (data.admitted) {
      // An admitted page (a direct link, a reload) goes straight into the meeting: the offer
      // leaves as soon as the socket is open, and the camera joins it when it is open.
      show("meeting");
      connect();
      startMedia(data.ice_servers || []);
      navigator.mediaDevices.getUserMedia({ audio: true, video: true })
        .catch(function () { return null; })
        .then(function (s) { local = s; showLocal(); });
      return;
    }
    show("check");
    startPreview();
    $("camera").onchange = startPreview;
    $("microphone").onchange = startPreview;
    $("go-full").onclick = function () { proceed("full"); };
    $("go-audio").onclick = function () { proceed("audio"); };
    $("go-none").onclick = function () { proceed("none"); };
  });
  document.addEventListener("DOMContentLoaded", function () {
    $("mic").onclick = function () {
      if (!mutedByOfficial) setMic($("mic").getAttribute("aria-pressed") !== "true");
    };
    $("ask-to-speak").onclick = function () { send({ type: "ask_to_speak" }); say($("notice"), T.asked_to_speak); };
    $("cam").onclick = function () { setCam($("cam").getAttribute("aria-pressed") !== "true"); };
    $("share").onclick = toggleShare;
    $("audio-only").onchange = function () { send({ type: "audio_only", on: this.checked }); };
    $("leave").onclick = function () { send({ type: "leave" }); finish(T.left, data.closing); };
    $("end").onclick = function () { if (confirm(T.end_confirm)) send({ type: "end" }); };
    $("leave-queue").onclick = function () { send({ type: "leave" }); finish(T.left_queue, null); };
    $("chat-form").onsubmit = function (e) {
      e.preventDefault();
      var text = $("chat-text").value.trim();
      if (text) send({ type: "chat", text: text });
      $("chat-text").value = "";
    };
    $("documents-form").onsubmit = upload;
    document.querySelectorAll(".bar [data-panel]").forEach(function (b) {
      b.onclick = function () {
        var name = b.getAttribute("data-panel");
        if (openPanel === name) closePanel(true); else openPanelNamed(name, b);
      };
    });
    document.querySelectorAll(".panel-close").forEach(function (b) { b.onclick = function () { closePanel(true); }; });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && openPanel) { e.preventDefault(); closePanel(true); }
    });
    window.addEventListener("resize", arrange);
    setInterval(markSpeakers, 400);
  });
})();
