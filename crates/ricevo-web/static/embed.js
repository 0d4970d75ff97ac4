// For a town's own site: sizes each Ricevo iframe to its content. See EMBED.md.
// Load it on the town site from the Ricevo server itself, as EMBED.md shows.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.URL) return;
  var origin = new URL(me.src, location.href).origin;
  window.addEventListener("message", function (ev) {
    if (ev.origin !== origin) return;
    var d = ev.data;
    if (!d || d.type !== "ricevo:height" || typeof d.height !== "number") return;
    var frames = document.getElementsByTagName("iframe");
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      if (f.contentWindow !== ev.source) continue;
      f.style.height = Math.max(150, Math.min(20000, Math.round(d.height))) + "px";
      // After a step of the booking (a new page), bring the top of the frame into view.
      if (d.loaded && f.getBoundingClientRect().top < 0) f.scrollIntoView();
    }
  });
})();
