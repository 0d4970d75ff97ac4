// The public council page: plays the stream (with hls.js from our own origin where the browser
// has Media Source Extensions, natively elsewhere) and keeps the item, the speaker and the closed votes
// beside it up to date from the session's state (stato.json, cached for about a second).
// Without this script the page shows the state at load and Safari still plays the stream.
(function () {
  'use strict';
  var root = document.getElementById('council');
  if (!root) return;
  var video = document.getElementById('council-video');
  var texts = root.dataset;

  function play(src) {
    if (!video || !src) return;
    // Where the browser has no Media Source Extensions (Safari on the iPhone) its own HLS
    // player plays the <source>, low-latency parts included. Elsewhere hls.js plays it: the
    // built-in HLS of some browsers (Chromium's) does not play low-latency fMP4 streams.
    if (!window.MediaSource && !window.ManagedMediaSource) return;
    var s = document.createElement('script');
    s.src = texts.player;
    s.onload = function () {
      if (!window.Hls || !window.Hls.isSupported()) return;
      var live = texts.phase === 'open';
      // The <source> is for browsers without hls.js: hls.js attaches the stream itself.
      Array.prototype.slice.call(video.querySelectorAll('source')).forEach(function (el) { el.remove(); });
      video.removeAttribute('src');
      video.load();
      var hls = new window.Hls({ lowLatencyMode: live, enableWorker: false, backBufferLength: 30 });
      hls.loadSource(src);
      hls.attachMedia(video);
      hls.on(window.Hls.Events.ERROR, function (_e, data) {
        if (!data.fatal) return;
        if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) setTimeout(function () { hls.startLoad(); }, 2000);
        else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      });
      window.councilPlayer = hls;
    };
    document.head.appendChild(s);
  }

  function text(id, value) {
    var el = document.getElementById(id);
    if (el && el.textContent !== value) el.textContent = value;
  }

  function results(list) {
    var ul = document.getElementById('council-results');
    if (!ul || ul.childElementCount === list.length) return;
    ul.textContent = '';
    list.forEach(function (r) {
      var li = document.createElement('li');
      var title = document.createElement('strong');
      title.textContent = r.item_title;
      var tally = document.createElement('span');
      tally.className = 'tally';
      tally.textContent = texts.inFavour + ' ' + r.in_favour + ' · ' + texts.against + ' ' + r.against + ' · ' + texts.abstain + ' ' + r.abstain;
      var outcome = document.createElement('span');
      outcome.className = 'outcome-' + r.outcome;
      outcome.textContent = r.outcome === 'approved' ? texts.approved : texts.rejected;
      li.appendChild(title); li.appendChild(tally); li.appendChild(outcome);
      ul.appendChild(li);
    });
    text('council-no-results', list.length ? '' : texts.noResults);
  }

  function poll() {
    fetch(texts.state, { credentials: 'omit' }).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
      if (!s) return;
      // A session that opens or closes changes what the page shows (the live stream, the
      // recording): the server draws it again.
      if (s.state !== texts.phase || (s.live && !video && s.state === 'open')) { location.reload(); return; }
      text('council-item', s.item ? s.item.number + '. ' + s.item.title : texts.noItem);
      text('council-speaker', s.speaker || texts.noSpeaker);
      text('council-voting', s.voting ? texts.voting : '');
      results(s.results || []);
    }).catch(function () {}).then(function () {
      if (texts.phase !== 'closed') setTimeout(poll, 2000);
    });
  }

  play(texts.src);
  if (texts.phase !== 'closed') setTimeout(poll, 2000);
})();
