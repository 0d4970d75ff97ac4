// The official's dashboard: the office's queue, live. The server pushes the rendered queue over
// Server-Sent Events whenever it changes; a new arrival rings a short tone and shows a browser
// notification, also when this tab is in the background. The office tabs' counts follow every
// office the account works. Each row's "more actions" menu is a <details>: it works without
// JavaScript; here it also closes with Escape and stays open across refreshes. Without
// JavaScript the page still works: it shows the queue as it was when loaded, and every action
// is a plain form.
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
  // Escape closes the menu the focus is in and gives the focus back to its button.
  queue.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var menu = e.target.closest && e.target.closest("details[open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
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
    // How many wait at each office, on its tab.
    Object.keys(data.counts || {}).forEach(function (office) {
      var badge = document.querySelector('[data-count-for="' + office + '"]');
      if (!badge) return;
      var n = data.counts[office];
      badge.textContent = String(n);
      badge.classList.toggle("busy", n > 0);
    });
    // Nothing changed (the periodic refresh): leave the page alone, so no click is lost.
    if (data.html === lastHtml) return;
    lastHtml = data.html;
    // Keep what the official is typing and where the focus is.
    var active = document.activeElement;
    var focused = active && active.id;
    // A menu's own button has no id: remember the menu instead.
    if (active && active.tagName === "SUMMARY" && active.parentNode.id) focused = "summary:" + active.parentNode.id;
    var typed = {}, open = [];
    queue.querySelectorAll("input[type=text], select").forEach(function (el) { if (el.id) typed[el.id] = el.value; });
    queue.querySelectorAll("details[open]").forEach(function (el) { if (el.id) open.push(el.id); });
    queue.innerHTML = data.html;
    Object.keys(typed).forEach(function (id) { var el = document.getElementById(id); if (el) el.value = typed[id]; });
    open.forEach(function (id) { var el = document.getElementById(id); if (el) el.open = true; });
    if (focused && focused.indexOf("summary:") === 0) {
      var menu = document.getElementById(focused.slice(8));
      if (menu) menu.querySelector("summary").focus();
    } else if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
    var now = waitingIds(queue), arrived = false, count = 0;
    Object.keys(now).forEach(function (id) { count++; if (!known[id]) arrived = true; });
    known = now;
    if (arrived) alertArrival(count);
    if (!count) document.title = document.title.replace(/^\(\d+\) /, "");
    status.textContent = "";
  }
  open();
})();
