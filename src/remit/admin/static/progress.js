// remit admin: a job's live progress bar, fed by the job's server-sent events. Plain script, no build step.
// It writes text only (textContent), never HTML, and stops listening once the job ended.
(function () {
  "use strict";
  var root = document.getElementById("job-progress");
  if (!root) { return; }
  var bar = root.querySelector("progress");
  var text = document.getElementById("job-progress-text");
  var state = document.getElementById("job-state");
  var attempt = document.getElementById("job-attempt");

  function counts(p) {
    if (p.done === null || p.done === undefined) { return ""; }
    if (!p.total) { return String(p.done); }
    return p.done + "/" + p.total + " (" + Math.floor((p.fraction || 0) * 100) + "%)";
  }

  function show(p) {
    root.dataset.state = p.state;
    state.textContent = p.state;
    attempt.textContent = p.attempt + "/" + p.max_attempts;
    if (p.fraction !== null && p.fraction !== undefined) {
      bar.value = p.fraction;
    } else if (p.state === "completed") {
      bar.value = 1;
    } else {
      bar.removeAttribute("value"); // no total reported: the bar shows it is busy, not how far
    }
    text.textContent = counts(p);
  }

  function ended(state) {
    root.dataset.finished = "yes";
    root.dataset.state = state || root.dataset.state;
    text.textContent = (text.textContent ? text.textContent + " · " : "") + "ended: " + root.dataset.state;
  }

  if (root.dataset.finished === "yes" || !window.EventSource) { return; }
  var source = new EventSource(root.dataset.stream);
  source.addEventListener("progress", function (event) { show(JSON.parse(event.data)); });
  source.addEventListener("end", function (event) {
    source.close(); // otherwise the browser would reconnect and start over
    ended(JSON.parse(event.data).state);
  });
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) { text.textContent = "live updates stopped: reload the page"; }
  };
})();
