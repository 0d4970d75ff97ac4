// The official's dashboard: the office's queue, live. The server pushes the rendered queue over
// Server-Sent Events whenever it changes; a new arrival rings a short tone and shows a browser
// notification, also when this tab is in the background. Without JavaScript the page still
// works: it shows the queue as it was when loaded, and every action is a plain form.
(function () {
  "use strict";
  var queue = document.getElementById("queue");
  if (!queue) return;
  // Forms that end someone's wait (data-confirm) ask first. The listener sits on the queue,
  // whose rows are replaced on every refresh.
  queue.addEventListener("submit", function (e) {
    var text = e.target.getAttribute("data-confirm");
    if (text && !window.confirm(text)) e.preventDefault();
  });
  if (!window.EventSource) return;
  var status = document.getElementById("desk-status");
  var button = document.getElementById("alerts");
  var audio = null;
  var known = null;
  var lastHtml = null;

  function waitingIds(root) {
    var ids = {};
    root.querySelectorAll('tr[data-status="waiting"], tr[data-status="held"]').forEach(function (tr) {
      ids[tr.getAttribute("data-entry")] = true;
    });
    return ids;
  }

  function ring() {
    if (!audio) return;
    var osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  }

  function alertArrival(count) {
    ring();
    var text = queue.getAttribute("data-arrived");
    document.title = "(" + count + ") " + document.title.replace(/^\(\d+\) /, "");
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(text, { tag: "ricevo-arrival" }); } catch (_) { /* some browsers need a service worker */ }
    }
  }

  if (button) {
    button.hidden = false;
    button.onclick = function () {
      if (window.AudioContext && !audio) audio = new AudioContext();
      if (audio) audio.resume();
      if (window.Notification && Notification.permission === "default") Notification.requestPermission();
      button.hidden = true;
    };
  }

  known = waitingIds(queue);
  var source = null;
  var retry = 0;

  // The stream reconnects by itself after a dropped connection. When the server restarts it
  // says so ("restarting") and ends the stream; and a stream refused outright (a proxy's 502
  // while the server is down) is closed for good by the browser: both open a new one.
  function open() {
    source = new EventSource(queue.getAttribute("data-events"));
    source.addEventListener("queue", onQueue);
    source.addEventListener("restarting", function () {
      status.textContent = queue.getAttribute("data-restarting") || "";
      source.close();
      setTimeout(open, 1500 + Math.floor(Math.random() * 3000));
    });
    source.onopen = function () { retry = 0; };
    source.onerror = function () {
      status.textContent = queue.getAttribute("data-offline") || "";
      if (source.readyState === EventSource.CLOSED) {
        retry = Math.min(retry + 1, 10);
        setTimeout(open, 1000 * retry);
      }
    };
  }

  function onQueue(e) {
    var data = JSON.parse(e.data);
    status.textContent = "";
    // Nothing changed (the periodic refresh): leave the page alone, so no click is lost.
    if (data.html === lastHtml) return;
    lastHtml = data.html;
    // Keep what the official is typing and where the focus is.
    var focused = document.activeElement && document.activeElement.id;
    var typed = {};
    queue.querySelectorAll("input[type=text], select").forEach(function (el) { if (el.id) typed[el.id] = el.value; });
    queue.innerHTML = data.html;
    Object.keys(typed).forEach(function (id) { var el = document.getElementById(id); if (el) el.value = typed[id]; });
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
    var now = waitingIds(queue), arrived = false, count = 0;
    Object.keys(now).forEach(function (id) { count++; if (!known[id]) arrived = true; });
    known = now;
    if (arrived) alertArrival(count);
    if (!count) document.title = document.title.replace(/^\(\d+\) /, "");
    status.textContent = "";
  }
  open();
})();
