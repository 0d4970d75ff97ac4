// Runs inside a Ricevo page shown in a town's iframe (embed mode): tells the parent page how
// tall the content is, so /static/embed.js can size the iframe without a scroll bar.
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function post(loaded) {
    var h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h === last && !loaded) return;
    last = h;
    // Only a number leaves the frame, so any parent may read it.
    window.parent.postMessage({ type: "ricevo:height", height: h, loaded: !!loaded }, "*");
  }
  window.addEventListener("load", function () { post(true); });
  window.addEventListener("resize", function () { post(false); });
  if (window.ResizeObserver) new ResizeObserver(function () { post(false); }).observe(document.body);
})();
