// Follows a background job (a round's close, a key import, an export): polls the progress
// endpoint, moves the bar, and opens the results when done. Without JS the page reloads
// itself (noscript).
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box) { return; }
  var bar = box.querySelector("progress");
  var label = box.querySelector(".phase-label");
  var steps = box.querySelectorAll("[data-phase]");

  function show(state) {
    bar.value = state.percent;
    bar.textContent = state.percent + " %";
    steps.forEach(function (li) {
      var here = li.dataset.phase === state.phase;
      if (here) { li.setAttribute("aria-current", "step"); } else { li.removeAttribute("aria-current"); }
    });
    if (state.failed) {
      label.textContent = "Failed: " + state.message;
    } else if (state.phase === "queued") {
      label.textContent = "Waiting for a worker…";
    } else {
      label.textContent = "Now: " + state.phase + (state.message ? " (" + state.message + ")" : "");
    }
  }

  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (state) {
        show(state);
        if (state.done) { window.location.assign(state.results_url); return; }
        if (state.failed) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
}());
