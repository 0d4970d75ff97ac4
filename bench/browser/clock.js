// Injected into a council member's page before its own scripts (CDP
// Page.addScriptToEvaluateOnNewDocument via puppeteer): the page's camera becomes a canvas that
// shows the wall clock (Date.now(), milliseconds) as a grid of black and white cells, so a
// viewer can read, on each frame it shows, when that frame left the "camera". The microphone
// stays the browser's fake device. Nothing else of the page changes.
//
// The grid: 6 x 6 cells over the whole picture; cell 0 black and cell 1 white (the reader's
// threshold), cells 2..31 the time modulo 2^30 ms (about 12 days), most significant bit first,
// cells 32..35 the number of 1 bits of those 30 modulo 16 (a check against misread frames).
(function () {
  "use strict";
  var W = 640, H = 360, N = 6;
  function paint(ctx, t) {
    var bits = [0, 1];
    var v = t % 1073741824, ones = 0;
    for (var i = 29; i >= 0; i--) { var b = Math.floor(v / Math.pow(2, i)) % 2; bits.push(b); ones += b; }
    for (var j = 3; j >= 0; j--) bits.push((ones >> j) & 1);
    var cw = W / N, ch = H / N;
    for (var k = 0; k < N * N; k++) {
      ctx.fillStyle = bits[k] ? "#fff" : "#000";
      ctx.fillRect((k % N) * cw, Math.floor(k / N) * ch, cw, ch);
    }
  }
  var original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async function (constraints) {
    var wantsVideo = constraints && constraints.video;
    var wantsAudio = constraints && constraints.audio;
    var stream = new MediaStream();
    if (wantsAudio) {
      (await original({ audio: wantsAudio })).getAudioTracks().forEach(function (t) { stream.addTrack(t); });
    }
    if (wantsVideo) {
      var canvas = document.createElement("canvas");
      canvas.width = W; canvas.height = H;
      var ctx = canvas.getContext("2d");
      paint(ctx, Date.now());
      var track = canvas.captureStream(30).getVideoTracks()[0];
      // Painted on a timer, not requestAnimationFrame: a page in the background still paints.
      setInterval(function () { paint(ctx, Date.now()); }, 1000 / 30);
      stream.addTrack(track);
    }
    window.__clockCamera = true;
    return stream;
  };
})();
