// Injected into the public stream page before its own scripts: for every frame the page's
// <video> presents (requestVideoFrameCallback), reads the wall clock that bench/browser/clock.js
// painted into it and records now minus that time: the camera-to-screen latency of the frame.
// Results in window.__latency = { samples: [ms...], unreadable: count }.
(function () {
  "use strict";
  var N = 6, S = 120;
  var out = { samples: [], unreadable: 0, frames: 0 };
  window.__latency = out;
  var canvas = null, ctx = null;
  function read(video) {
    if (!canvas) {
      canvas = document.createElement("canvas");
      canvas.width = S; canvas.height = S;
      ctx = canvas.getContext("2d", { willReadFrequently: true });
    }
    ctx.drawImage(video, 0, 0, S, S);
    var data = ctx.getImageData(0, 0, S, S).data, c = S / N, levels = [];
    for (var k = 0; k < N * N; k++) {
      var x0 = (k % N) * c + c / 4, y0 = Math.floor(k / N) * c + c / 4, sum = 0, n = 0;
      for (var y = y0; y < y0 + c / 2; y++) for (var x = x0; x < x0 + c / 2; x++) {
        var p = (Math.floor(y) * S + Math.floor(x)) * 4; sum += data[p] + data[p + 1] + data[p + 2]; n++;
      }
      levels.push(sum / n);
    }
    var threshold = (levels[0] + levels[1]) / 2;
    if (levels[1] - levels[0] < 100) return null;
    var v = 0, ones = 0, check = 0;
    for (var i = 2; i < 32; i++) { var b = levels[i] > threshold ? 1 : 0; v = v * 2 + b; ones += b; }
    for (var j = 32; j < 36; j++) check = check * 2 + (levels[j] > threshold ? 1 : 0);
    return (ones % 16) === check ? v : null;
  }
  function watch(video) {
    if (video.__clockWatched || !video.requestVideoFrameCallback) return;
    video.__clockWatched = true;
    var onFrame = function () {
      out.frames++;
      var shown = Date.now();
      var painted = read(video);
      if (painted === null) out.unreadable++;
      else out.samples.push((shown % 1073741824 - painted + 1073741824) % 1073741824);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
  new MutationObserver(function () { document.querySelectorAll("video").forEach(watch); })
    .observe(document, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", function () { document.querySelectorAll("video").forEach(watch); });
})();
