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

  // Tests and support staff read the connection from here.
  window.ricevo = { pc: function () { return pc; }, state: "check" };

  function show(phase) {
    ["check", "waiting", "meeting", "closed"].forEach(function (p) {
      var el = $("phase-" + p);
      if (el) el.hidden = p !== phase;
    });
    window.ricevo.state = phase;
    var h = $("phase-" + phase) && $("phase-" + phase).querySelector("h1, h2");
    if (h) { h.setAttribute("tabindex", "-1"); h.focus(); }
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

  var officeNotice = "";
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
      // A transfer's notice (it names the new office) stays above the office's message.
      if (m.notice) officeNotice = m.notice;
      var told = [officeNotice, m.message || ""].filter(Boolean).join(" ");
      say($("wait-message"), told);
      $("wait-message").hidden = !told;
      var timing = "";
      if (m.early_minutes) timing = fill(T.early, { n: m.early_minutes });
      if (m.late_minutes) timing = fill(T.late, { n: m.late_minutes });
      say($("wait-timing"), timing);
    },
    admitted: function (m) {
      admitted = true;
      abilities = m.abilities || {};
      show("meeting");
      $("share").hidden = !(abilities.share_screen && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
      $("documents-form").hidden = !abilities.share_documents;
      $("end").hidden = !abilities.moderate;
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
    chat: function (m) { addChat(m.from, m.text, m.at); },
    document: function (m) { addDocument(m); },
    muted: function () { officialMute(true); say($("notice"), T.muted_by_official); },
    unmuted: function () { officialMute(false); say($("notice"), T.unmuted_by_official); },
    asks_to_speak: function (m) {
      if (abilities.moderate) say($("notice"), fill(T.asks_to_speak, { name: m.name }));
    },
    removed: function (m) { finish(T.removed, m.url); },
    cancelled: function () { finish(T.cancelled, null); },
    removed_participant: function (m) { if (abilities.moderate) listRemoved(m); },
    readmitted: function (m) {
      var li = document.querySelector('[data-removed="' + m.entry_id + '"]');
      if (li) li.remove();
    },
    refused: function (m) { finish((T.refused + " " + (m.message || "")).trim(), null); },
    no_show: function () { finish(T.no_show, null); },
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
    $("mic").setAttribute("aria-pressed", audio ? "true" : "false");
    $("cam").setAttribute("aria-pressed", video ? "true" : "false");
    $("mic").disabled = !audio || mutedByOfficial;
    $("cam").disabled = !video;
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
      tile = document.createElement("figure");
      tile.className = "tile remote";
      tile.setAttribute("data-mid", mid);
      var media = document.createElement(info.kind === "audio" ? "audio" : "video");
      media.autoplay = true;
      media.setAttribute("playsinline", "");
      tile.appendChild(media);
      var cap = document.createElement("figcaption");
      cap.textContent = info.source === "screen" ? fill(T.screen_of, { name: info.name }) : info.name;
      tile.appendChild(cap);
      if (info.kind === "audio") tile.className += " audio-only";
      $("tiles").appendChild(tile);
    }
    tile.querySelector("audio, video").srcObject = new MediaStream([track]);
  }

  function removeTile(mid) {
    var tile = document.querySelector('.tile[data-mid="' + mid + '"]');
    if (tile) tile.remove();
  }

  function setMic(on) {
    if (!local) return;
    local.getAudioTracks().forEach(function (t) { t.enabled = on; });
    $("mic").setAttribute("aria-pressed", on ? "true" : "false");
    say($("mic"), on ? T.mic_off : T.mic_on);
  }

  function setCam(on) {
    if (!local) return;
    local.getVideoTracks().forEach(function (t) { t.enabled = on; });
    $("cam").setAttribute("aria-pressed", on ? "true" : "false");
    say($("cam"), on ? T.cam_off : T.cam_on);
  }

  function toggleShare() {
    if (screen) { stopShare(); return; }
    navigator.mediaDevices.getDisplayMedia({ video: true }).then(function (s) {
      screen = s;
      var t = s.getVideoTracks()[0];
      t.onended = stopShare;
      senders.screen.replaceTrack(t);
      $("share").setAttribute("aria-pressed", "true");
      say($("share"), T.stop_share);
    }).catch(function () { say($("notice"), T.share_failed); });
  }

  function stopShare() {
    if (!screen) return;
    screen.getTracks().forEach(function (t) { t.stop(); });
    screen = null;
    senders.screen.replaceTrack(null);
    $("share").setAttribute("aria-pressed", "false");
    say($("share"), T.share);
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

  function addChat(from, text, at) {
    var li = document.createElement("li");
    var who = document.createElement("strong");
    who.textContent = from + ": ";
    li.appendChild(who);
    li.appendChild(document.createTextNode(text));
    $("chat-log").appendChild(li);
    li.scrollIntoView({ block: "nearest" });
  }

  function addDocument(d) {
    if (document.querySelector('[data-document="' + d.id + '"]')) return;
    var li = document.createElement("li");
    li.setAttribute("data-document", d.id);
    var a = document.createElement("a");
    a.href = d.url;
    a.setAttribute("download", d.name);
    a.textContent = d.name;
    li.appendChild(a);
    li.appendChild(document.createTextNode(" (" + Math.max(1, Math.round(d.size / 1024)) + " KB)"));
    $("documents").appendChild(li);
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

  function finish(text, url) {
    closedByUs = true;
    if (pc) pc.close();
    stopShare();
    stopLocal();
    if (ws) ws.close();
    if (url) { location.href = url; return; }
    say($("closed-text"), text);
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
  });
})();
