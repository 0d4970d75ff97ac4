// Questionnaires (templates/survey/questions.html): a question with a condition is shown only
// while the answer it depends on is one of its values; its inputs are disabled meanwhile so
// nothing hidden is sent. A kiosk's thank-you page (data-restart-after, data-restart-url)
// starts over by itself. Without this script every question shows and the server decides.
(function () {
  "use strict";
  function update(form) {
    var blocks = form.querySelectorAll("[data-show-if]");
    for (var i = 0; i < blocks.length; i++) {
      var b = blocks[i];
      var name = b.getAttribute("data-show-if");
      var wanted = b.getAttribute("data-show-values").split(" ");
      var shown = false;
      var inputs = form.querySelectorAll("input, select, textarea");
      for (var j = 0; j < inputs.length; j++) {
        var el = inputs[j];
        if (el.name !== name) continue;
        var on = (el.type === "radio" || el.type === "checkbox") ? el.checked : el.value !== "";
        if (on && wanted.indexOf(el.value) >= 0) shown = true;
      }
      // A hidden question may itself decide another: hide it first, then look again.
      if (b.hidden !== !shown) {
        b.hidden = !shown;
        var own = b.querySelectorAll("input, textarea, select");
        for (var k = 0; k < own.length; k++) own[k].disabled = !shown;
        update(form);
        return;
      }
    }
  }
  function start() {
    var forms = document.querySelectorAll("form");
    for (var i = 0; i < forms.length; i++) {
      (function (form) {
        if (!form.querySelector("[data-show-if]")) return;
        var hints = form.querySelectorAll(".survey-cond");
        for (var h = 0; h < hints.length; h++) hints[h].hidden = true;
        form.addEventListener("change", function () { update(form); });
        update(form);
      })(forms[i]);
    }
    var restart = document.querySelector("[data-restart-after]");
    if (restart) {
      var secs = parseInt(restart.getAttribute("data-restart-after"), 10) || 8;
      setTimeout(function () { window.location.replace(restart.getAttribute("data-restart-url")); }, secs * 1000);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
