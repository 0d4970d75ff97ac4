// The members' session room of a council (or Giunta, commission) session, in each member's
// browser: the agenda, the roll call, the floor with its queue and the speech timer, the votes,
// the chair's controls, and everyone's video through the server's SFU. Plain JavaScript.
//
// The page carries its settings and texts in <script type="application/json" id="council-data">.
// One WebSocket (data.ws) carries, from the page: the session's commands as JSON tagged "do"
// (the same JSON as the server's `Command`: {"do":"request_floor"}, {"do":"vote","choice":
// "favorevole"}, ...) and WebRTC signalling tagged "type" (offer, answer, view); from the
// server: {"type":"snapshot"} after every change, {"type":"error"} for a refusal, and the
// meeting room's signalling (answer, offer, track, track_ended).
//
// Media: one RTCPeerConnection, laid out like the meeting page's (microphone, camera, an unused
// screen place, then receive-only places), the camera sent as three simulcast layers (rid q,
// h, f: a quarter, half and full resolution) with H.264 preferred. The floor holder and the
// chair are shown large; everyone else as small tiles, and only the tiles on screen are asked
// for (IntersectionObserver → a "view" message): the server forwards nothing else.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("council-data").textContent);
  var T = data.texts;
  var $ = function (id) { return document.getElementById(id); };

  var ws = null, pc = null, local = null, queued = null;
  var closedByUs = false, retry = 0;
  var snapshot = null;     // the last snapshot
  var clockSkew = 0;       // server time minus this browser's, in ms
  var tracksByMid = {};    // mid -> {member, name, kind}
  var streamsByMid = {};   // mid -> MediaStreamTrack
  var visible = {};        // member id -> true when its small tile is on screen
  var viewSent = "";
  var observer = null;
  var myVote = { number: null, choice: null }; // this page's choice in the open vote (kept secret until it closes)

  // Tests read the connection and the last snapshot from here.
  window.ricevo = { pc: function () { return pc; }, snapshot: function () { return snapshot; }, state: "starting" };

  function say(el, text) { if (el) el.textContent = text || ""; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }
  function send(m) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(m)); }
  function act(command) { send(command); }

  // ---- The socket --------------------------------------------------------------------------
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + data.ws);
    ws.onopen = function () {
      retry = 0;
      say($("connection"), "");
      if (queued) { ws.send(queued); queued = null; }
    };
    ws.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      var handler = handlers[m.type];
      if (handler) handler(m);
    };
    ws.onclose = function () {
      if (closedByUs) return;
      say($("connection"), T.reconnecting);
      retry = Math.min(retry + 1, 5);
      // A new socket means a new media session: the server forgot the old one.
      if (pc) { pc.close(); pc = null; }
      setTimeout(function () { connect(); startMedia(); }, 500 * retry);
    };
  }

  var handlers = {
    snapshot: function (m) {
      if (m.now) clockSkew = Date.parse(m.now) - Date.now();
      snapshot = m.snapshot;
      window.ricevo.state = snapshot.state;
      render(snapshot);
    },
    error: function (m) { say($("notice"), m.message); },
    answer: function (m) {
      if (!pc) return;
      pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
      // The server takes the view once the media are up: say it again now.
      viewSent = "";
      sendView();
    },
    offer: function (m) {
      if (!pc) return;
      pc.setRemoteDescription({ type: "offer", sdp: m.sdp })
        .then(function () { return pc.createAnswer(); })
        .then(function (a) { return pc.setLocalDescription(a); })
        .then(function () { send({ type: "answer", sdp: pc.localDescription.sdp }); });
    },
    track: function (m) { tracksByMid[m.mid] = m; placeTrack(m.mid); },
    track_ended: function (m) { removeTile(m.mid); delete tracksByMid[m.mid]; },
    closed: function () {
      closedByUs = true;
      if (pc) pc.close();
      if (local) local.getTracks().forEach(function (t) { t.stop(); });
      if (ws) ws.close();
    }
  };

  // ---- Rendering the session ---------------------------------------------------------------
  function memberName(id) {
    var m = snapshot && snapshot.members.filter(function (x) { return x.id === id; })[0];
    return m ? m.name : "";
  }

  function button(text, label, onclick, cls) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = cls || "btn btn-outline btn-small";
    b.textContent = text;
    if (label) b.setAttribute("aria-label", label);
    b.onclick = onclick;
    return b;
  }

  function render(s) {
    var me = data.member;
    var chair = data.chair;
    say($("council-state"), T["phase_" + s.state] || s.state);
    // Agenda, the item under discussion marked.
    var ol = $("agenda");
    ol.textContent = "";
    s.items.forEach(function (it) {
      var li = document.createElement("li");
      li.value = it.number;
      li.textContent = it.title;
      if (s.item === it.number) {
        li.setAttribute("aria-current", "step");
        li.className = "current";
        var note = document.createElement("span");
        note.className = "current-note";
        note.textContent = " – " + T.under_discussion;
        li.appendChild(note);
      }
      ol.appendChild(li);
    });
    // Roll call and quorum.
    var q = s.quorum;
    var voting = s.members.filter(function (m) { return m.votes; }).length;
    say($("quorum"), fill(q.reached ? T.quorum_reached : T.quorum_missing, { present: q.present, needed: q.needed, members: voting }));
    $("quorum").className = q.reached ? "quorum ok" : "quorum missing";
    var tbody = $("roll");
    tbody.textContent = "";
    s.members.forEach(function (m) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-member", m.id);
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = m.name + (m.id === me ? " (" + T.you + ")" : "");
      tr.appendChild(th);
      var role = document.createElement("td");
      role.textContent = T["role_" + m.role] || m.role;
      tr.appendChild(role);
      var pres = document.createElement("td");
      pres.className = m.present ? "present" : "absent";
      pres.textContent = (m.present ? T.present : T.absent) + (m.connected ? "" : " · " + T.offline);
      tr.appendChild(pres);
      if (chair) {
        var td = document.createElement("td");
        if (s.state === "open") {
          if (m.present) td.appendChild(button(T.mark_absent, T.mark_absent + ": " + m.name, function () { act({ "do": "mark_absent", member: m.id }); }));
          else td.appendChild(button(T.mark_present, T.mark_present + ": " + m.name, function () { act({ "do": "mark_present", member: m.id }); }));
        }
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    });
    renderFloor(s);
    renderVote(s);
    // Chair's controls: only those that make sense now are enabled.
    if (chair) {
      var open = s.state === "open";
      var voting = !!s.vote;
      $("do-open").hidden = s.state !== "scheduled";
      $("do-call-roll").disabled = !open || voting;
      var idx = s.items.map(function (i) { return i.number; }).indexOf(s.item);
      $("do-next-item").disabled = !open || voting || idx >= s.items.length - 1;
      $("do-prev-item").disabled = !open || voting || idx <= 0;
      $("do-open-vote").disabled = !open || voting || s.item === null || s.item === undefined;
      $("do-close-vote").disabled = !voting;
      $("do-close").disabled = s.state === "closed" || voting;
      $("take-floor").hidden = !s.floor;
    }
    $("request-floor").disabled = s.state !== "open";
    sendView();
    placeAll();
  }

  function renderFloor(s) {
    var box = $("floor-holder");
    box.textContent = "";
    var p = document.createElement("p");
    if (s.floor) {
      p.innerHTML = "";
      var strong = document.createElement("strong");
      strong.id = "speaker";
      strong.textContent = s.floor.name;
      p.appendChild(document.createTextNode(T.speaking_now + " "));
      p.appendChild(strong);
    } else {
      p.textContent = T.nobody_speaks;
    }
    box.appendChild(p);
    $("speech-timer").hidden = !s.floor;
    tickTimer();
    var queue = s.queue || [];
    var mine = queue.indexOf(data.member) >= 0;
    $("request-floor").hidden = mine || (s.floor && s.floor.member === data.member);
    $("withdraw-request").hidden = !mine;
    var ol = $("queue");
    ol.textContent = "";
    queue.forEach(function (id) {
      var li = document.createElement("li");
      li.textContent = memberName(id) + (id === data.member ? " (" + T.you + ")" : "") + " ";
      if (data.chair && s.state === "open") {
        li.appendChild(button(T.give_floor, T.give_floor + ": " + memberName(id), function () { act({ "do": "give_floor", member: id }); }));
      }
      ol.appendChild(li);
    });
    $("queue-empty").hidden = queue.length > 0;
    var mic = s.floor && s.floor.member === data.member ? T.mic_open_floor : data.chair ? T.mic_open_chair : T.mic_closed;
    say($("mic-state"), mic);
  }

  function tickTimer() {
    var s = snapshot;
    if (!s || !s.floor) return;
    var now = Date.now() + clockSkew;
    var elapsed = Math.max(0, Math.floor((now - Date.parse(s.floor.since)) / 1000));
    var text = fill(T.speech_elapsed, { time: mmss(elapsed) });
    if (s.floor.limit_seconds) {
      var left = s.floor.limit_seconds - elapsed;
      text += " · " + (left >= 0 ? fill(T.speech_left, { time: mmss(left) }) : fill(T.speech_over, { time: mmss(-left) }));
      $("speech-timer").classList.toggle("over", left < 0);
    }
    say($("speech-timer"), text);
  }

  function mmss(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function itemTitle(n) {
    var it = snapshot.items.filter(function (i) { return i.number === n; })[0];
    return it ? it.number + ". " + it.title : "";
  }

  function renderVote(s) {
    var v = s.vote;
    $("vote-open").hidden = !v;
    $("vote-none").hidden = !!v || (s.results || []).length > 0;
    if (v) {
      if (v.number !== myVote.number) myVote = { number: v.number, choice: null };
      var me = s.members.filter(function (m) { return m.id === data.member; })[0];
      var voted = v.voted.indexOf(data.member) >= 0;
      var mayVote = !!me && me.votes && me.present && !voted && v.absent.indexOf(data.member) < 0;
      say($("vote-question"), fill(T.vote_on, { item: itemTitle(v.item) }));
      document.querySelectorAll(".vote-choice").forEach(function (b) {
        b.disabled = !mayVote;
        b.setAttribute("aria-pressed", voted && myVote.choice === b.getAttribute("data-choice") ? "true" : "false");
      });
      var said = "";
      if (voted) said = myVote.choice ? fill(T.you_voted, { choice: T["choice_" + myVote.choice] }) : T.you_voted_plain;
      else if (!mayVote) said = T.you_cannot_vote;
      say($("my-vote"), said);
      var voters = s.members.filter(function (m) { return m.votes && m.present; }).length;
      say($("vote-count"), fill(T.votes_cast, { n: v.voted.length, of: voters }));
    }
    var box = $("results");
    box.textContent = "";
    (s.results || []).slice().reverse().forEach(function (r) {
      var sec = document.createElement("div");
      sec.className = "result";
      sec.setAttribute("data-item", r.item);
      var h = document.createElement("h3");
      h.textContent = fill(T.result_of, { item: r.item + ". " + r.item_title });
      sec.appendChild(h);
      var p = document.createElement("p");
      p.className = "outcome";
      p.textContent = fill(T.result_line, { yes: r.in_favour, no: r.against, abstained: r.abstain }) + " – " + (T["outcome_" + r.outcome] || r.outcome);
      sec.appendChild(p);
      var ul = document.createElement("ul");
      ul.className = "ballots";
      (r.ballots || []).forEach(function (b) {
        var li = document.createElement("li");
        li.textContent = b.name + ": " + (T["choice_" + b.choice] || b.choice);
        ul.appendChild(li);
      });
      sec.appendChild(ul);
      if (r.not_voting && r.not_voting.length) {
        var nv = document.createElement("p");
        nv.className = "muted";
        nv.textContent = fill(T.not_voting, { names: r.not_voting.join(", ") });
        sec.appendChild(nv);
      }
      box.appendChild(sec);
    });
  }

  // ---- Media -------------------------------------------------------------------------------
  // H.264 first (the public stream is packaged from it without decoding), then the rest.
  function preferH264(transceiver) {
    if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
    var caps = RTCRtpReceiver.getCapabilities("video");
    if (!caps) return;
    var h264 = caps.codecs.filter(function (c) { return /h264/i.test(c.mimeType); });
    if (!h264.length) return;
    h264.sort(function (a, b) {
      var score = function (c) {
        var f = c.sdpFmtpLine || "";
        return (/packetization-mode=1/.test(f) ? 0 : 2) + (/profile-level-id=42e0/.test(f) ? 0 : 1);
      };
      return score(a) - score(b);
    });
    var rest = caps.codecs.filter(function (c) { return !/h264/i.test(c.mimeType); });
    try { transceiver.setCodecPreferences(h264.concat(rest)); } catch (_) { /* the browser's own order */ }
  }

  function startMedia() {
    if (pc) pc.close();
    tracksByMid = {};
    streamsByMid = {};
    document.querySelectorAll(".tile.remote").forEach(function (t) { t.remove(); });
    pc = new RTCPeerConnection({ iceServers: data.ice_servers || [], bundlePolicy: "max-bundle" });
    var audio = local && local.getAudioTracks()[0];
    var video = local && local.getVideoTracks()[0];
    pc.addTransceiver(audio || "audio", { direction: "sendrecv" });
    var camera = pc.addTransceiver(video || "video", {
      direction: "sendrecv",
      sendEncodings: [
        { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150000 },
        { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500000 },
        { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1500000 }
      ]
    });
    preferH264(camera);
    preferH264(pc.addTransceiver("video", { direction: "sendonly" }));
    for (var i = 0; i < Math.min(Math.max(data.others || 0, 1), 8); i++) {
      pc.addTransceiver("audio", { direction: "recvonly" });
      preferH264(pc.addTransceiver("video", { direction: "recvonly" }));
      preferH264(pc.addTransceiver("video", { direction: "recvonly" }));
    }
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
      if (failed) setTimeout(function () { if (pc === mine && !closedByUs) startMedia(); }, 1000);
    };
    pc.createOffer()
      .then(function (o) { return mine.setLocalDescription(o); })
      .then(function () {
        if (pc !== mine) return;
        var offer = JSON.stringify({ type: "offer", sdp: mine.localDescription.sdp });
        if (ws && ws.readyState === 1) ws.send(offer); else queued = offer;
      });
    viewSent = "";
  }

  // Who is shown large: the floor holder and the chair.
  function largeIds() {
    if (!snapshot) return [];
    var ids = [];
    if (snapshot.floor) ids.push(snapshot.floor.member);
    if (snapshot.chair !== undefined && snapshot.chair !== null && ids.indexOf(snapshot.chair) < 0) ids.push(snapshot.chair);
    return ids.filter(function (id) { return id !== data.member; });
  }

  // The server forwards video only for the tiles in the view: large ones at the top layer,
  // small ones on screen at the lowest.
  function sendView() {
    var large = largeIds();
    var small = Object.keys(visible).map(Number).filter(function (id) { return visible[id] && large.indexOf(id) < 0; });
    small.sort(function (a, b) { return a - b; });
    var text = JSON.stringify({ type: "view", large: large, small: small });
    if (text === viewSent) return;
    viewSent = text;
    send(JSON.parse(text));
  }

  function placeTrack(mid) {
    var info = tracksByMid[mid], track = streamsByMid[mid];
    if (!info || !track) return;
    if (info.kind === "audio") {
      var a = document.querySelector('audio[data-mid="' + mid + '"]');
      if (!a) {
        a = document.createElement("audio");
        a.autoplay = true;
        a.setAttribute("data-mid", mid);
        a.setAttribute("data-member", info.member);
        $("audio").appendChild(a);
      }
      a.srcObject = new MediaStream([track]);
      return;
    }
    if (info.source === "screen") return;
    var tile = document.querySelector('.tile[data-mid="' + mid + '"]');
    if (!tile) {
      document.querySelectorAll('.tile.remote[data-member="' + info.member + '"]').forEach(function (old) { old.remove(); });
      tile = document.createElement("figure");
      tile.className = "tile remote";
      tile.setAttribute("data-mid", mid);
      tile.setAttribute("data-member", info.member);
      var v = document.createElement("video");
      v.autoplay = true;
      v.muted = true;
      v.setAttribute("playsinline", "");
      tile.appendChild(v);
      var cap = document.createElement("figcaption");
      cap.textContent = info.name;
      tile.appendChild(cap);
      $("stage-small").appendChild(tile);
      if (observer) observer.observe(tile);
    }
    tile.querySelector("video").srcObject = new MediaStream([track]);
    placeAll();
  }

  // The floor holder's and the chair's tiles go to the large stage, the others to the grid.
  function placeAll() {
    var large = largeIds();
    document.querySelectorAll(".tile.remote").forEach(function (t) {
      var id = Number(t.getAttribute("data-member"));
      var want = large.indexOf(id) >= 0 ? $("stage-large") : $("stage-small");
      if (t.parentElement !== want) want.appendChild(t);
      t.classList.toggle("speaker", !!(snapshot && snapshot.floor && snapshot.floor.member === id));
    });
    $("stage-empty").hidden = document.querySelectorAll(".tile.remote").length > 0;
  }

  function removeTile(mid) {
    var el = document.querySelector('[data-mid="' + mid + '"]');
    if (el) { if (observer) observer.unobserve(el); el.remove(); }
    placeAll();
  }

  function watchTiles() {
    if (!window.IntersectionObserver) return;
    observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        var id = Number(e.target.getAttribute("data-member"));
        visible[id] = e.isIntersecting;
      });
      sendView();
    }, { threshold: 0.1 });
  }

  function showLocal() {
    var video = local && local.getVideoTracks()[0];
    $("self").srcObject = local;
    $("self-view").hidden = !video;
    $("cam").hidden = !video;
  }

  // ---- Wiring ------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", function () {
    $("js-needed").hidden = true;
    watchTiles();
    connect();
    var media = navigator.mediaDevices && navigator.mediaDevices.getUserMedia
      ? navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } })
        .catch(function () { return navigator.mediaDevices.getUserMedia({ audio: true }); })
        .catch(function () { return null; })
      : Promise.resolve(null);
    media.then(function (s) {
      local = s;
      if (!s) say($("notice"), T.devices_denied);
      showLocal();
      startMedia();
    });
    $("request-floor").onclick = function () { act({ "do": "request_floor" }); };
    $("withdraw-request").onclick = function () { act({ "do": "withdraw_request" }); };
    document.querySelectorAll(".vote-choice").forEach(function (b) {
      b.onclick = function () {
        if (snapshot && snapshot.vote) myVote = { number: snapshot.vote.number, choice: b.getAttribute("data-choice") };
        act({ "do": "vote", choice: b.getAttribute("data-choice") });
      };
    });
    $("cam").onclick = function () {
      var on = $("cam").getAttribute("aria-pressed") !== "true";
      if (local) local.getVideoTracks().forEach(function (t) { t.enabled = on; });
      $("cam").setAttribute("aria-pressed", on ? "true" : "false");
      $("cam").textContent = on ? T.camera_on : T.camera_off;
    };
    if (data.chair) {
      document.querySelectorAll("[data-do]").forEach(function (b) {
        b.onclick = function () {
          var question = b.getAttribute("data-confirm");
          if (question && !confirm(question)) return;
          act({ "do": b.getAttribute("data-do") });
        };
      });
      var step = function (by) {
        if (!snapshot) return;
        var numbers = snapshot.items.map(function (i) { return i.number; });
        var i = numbers.indexOf(snapshot.item) + by;
        if (i >= 0 && i < numbers.length) act({ "do": "set_item", item: numbers[i] });
      };
      $("do-next-item").onclick = function () { step(1); };
      $("do-prev-item").onclick = function () { step(-1); };
      $("take-floor").onclick = function () { act({ "do": "take_floor" }); };
    }
    setInterval(tickTimer, 1000);
  });
})();
