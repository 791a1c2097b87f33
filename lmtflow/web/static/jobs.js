// lmtflow web: the live job page. Server-sent events carry the state and the log; where
// EventSource fails (a proxy that buffers), the page polls status.json instead.
"use strict";

(function () {
  var box = document.getElementById("job");
  if (!box) return;
  var logEl = document.getElementById("log");
  var offset = 0, ended = false, source = null;

  function show(s) {
    var state = document.getElementById("state");
    state.textContent = s.state;
    state.className = "state-" + s.state;
    document.getElementById("bar").value = s.percent;
    document.getElementById("steps").textContent =
      s.done + " of " + (s.total === null ? "?" : s.total) + " steps";
    document.getElementById("position").textContent =
      s.state === "queued" ? "(position " + (s.position + 1) + " in the project's queue)" : "";
    var err = document.getElementById("error");
    err.hidden = !s.error;
    err.textContent = s.error || "";
    document.getElementById("results").hidden = s.state !== "succeeded";
    var cancel = document.getElementById("cancel");
    if (cancel && (s.state !== "queued" && s.state !== "running")) cancel.disabled = true;
  }

  function append(text) {
    logEl.textContent += text;
    logEl.scrollTop = logEl.scrollHeight;
  }

  function poll() {
    fetch(box.dataset.status + "?offset=" + offset, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        append(s.log);
        offset = s.offset;
        show(s);
        var done = s.state === "succeeded" || s.state === "failed" || s.state === "cancelled";
        if (!done || s.log) setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }

  if (!window.EventSource) { poll(); return; }
  source = new EventSource(box.dataset.events);
  source.addEventListener("log", function (e) {
    append(e.data);
    offset = Number(e.lastEventId) || offset;
  });
  source.addEventListener("status", function (e) { show(JSON.parse(e.data)); });
  source.addEventListener("end", function () { ended = true; source.close(); });
  source.onerror = function () {
    if (ended) return;
    source.close();
    poll();  // the fallback picks up from the last offset
  };
}());
