// lmtflow web: the interactive spectrum (plotly) and the cube browser.
// Pages work without this file except for the plotted spectrum.
"use strict";

(function () {
  var current = null;  // the last spectrum payload drawn

  function bands(windows, axis, restGHz) {
    // Baseline (green) and line (orange) windows as plotly shapes on the chosen axis.
    if (!windows) return [];
    var toAxis = function (v) {
      if (windows.unit === "km/s" && axis === "frequency") return restGHz * (1 - v / 299792.458);
      if (windows.unit === "GHz" && axis === "velocity") return null;
      return v;
    };
    var shapes = [];
    [["baseline", "rgba(0,160,0,0.12)"], ["line", "rgba(255,140,0,0.18)"]].forEach(function (kc) {
      (windows[kc[0]] || []).forEach(function (w) {
        var a = toAxis(w[0]), b = toAxis(w[1]);
        if (a === null || b === null) return;
        shapes.push({type: "rect", xref: "x", yref: "paper", x0: Math.min(a, b), x1: Math.max(a, b),
                     y0: 0, y1: 1, fillcolor: kc[1], line: {width: 0}, layer: "below"});
      });
    });
    return shapes;
  }

  function plain(text) {
    // Plotly reads <b>, <a href>, <span style> in titles and legends as markup; a source name
    // comes from a raw file's header, so show it as text (plotly decodes these entities).
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function draw(div, data) {
    current = data;
    var sel = document.getElementById("axis");
    var axis = sel ? sel.value : "velocity";
    if (!data[axis]) axis = data.velocity ? "velocity" : "frequency";
    if (sel) sel.value = axis;
    var x = data[axis];
    var traces = [{x: x, y: data.y, mode: "lines", name: plain(data.yname), line: {width: 1.2}}];
    (data.extra || []).forEach(function (name) {
      traces.push({x: x, y: data.columns[name], mode: "lines", name: plain(name),
                   visible: "legendonly", line: {width: 0.8}});
    });
    var layout = {
      title: {text: plain(data.title || "")}, margin: {t: 40, r: 20, b: 50, l: 60},
      xaxis: {title: {text: axis === "velocity" ? "velocity (km/s)" : "frequency (GHz)"}},
      yaxis: {title: {text: plain(data.yname)}},
      shapes: bands(data.windows, axis, data.restfreq_GHz), showlegend: traces.length > 1
    };
    Plotly.react(div, traces, layout, {responsive: true, displaylogo: false});
    div.dataset.ready = "1";
  }

  function load(div, url) {
    div.dataset.ready = "";
    fetch(url, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error(r.status + " " + url);
      return r.json();
    }).then(function (data) { draw(div, data); }).catch(function (e) {
      div.textContent = "could not load the spectrum: " + e.message;
    });
  }

  function setupSpectrum() {
    var div = document.getElementById("spectrum");
    if (!div || !window.Plotly) return;
    load(div, div.dataset.src);
    var sel = document.getElementById("axis");
    if (sel) sel.addEventListener("change", function () { if (current) draw(div, current); });
  }

  function setupCube() {
    var form = document.getElementById("cube-form");
    if (!form) return;
    var slider = document.getElementById("chan"), img = document.getElementById("chan-img");
    var label = document.getElementById("chan-label");
    var velocities = JSON.parse(form.dataset.velocities);
    var attempt = encodeURIComponent(form.dataset.attempt);
    slider.addEventListener("input", function () {
      var k = parseInt(slider.value, 10);
      img.src = form.dataset.chanBase + k + ".png?attempt=" + attempt;
      label.textContent = "channel " + k + ": " + velocities[k].toFixed(2) + " km/s";
    });
    var div = document.getElementById("spectrum");
    var pick = function (ev) {
      var el = ev.currentTarget, box = el.getBoundingClientRect();
      var nx = parseInt(el.dataset.nx, 10), ny = parseInt(el.dataset.ny, 10);
      var x = Math.min(nx - 1, Math.floor((ev.clientX - box.left) / box.width * nx));
      var y = Math.min(ny - 1, Math.floor((box.bottom - ev.clientY) / box.height * ny));  // north up
      document.getElementById("px").value = x;
      document.getElementById("py").value = y;
      document.getElementById("pixel-xy").textContent = x + ", " + y;
      var url = new URL(div.dataset.src, window.location.href);
      url.searchParams.set("x", x);
      url.searchParams.set("y", y);
      div.dataset.src = url.pathname + url.search;
      var link = document.getElementById("pixel-link");
      var page = new URL(link.href);
      page.searchParams.set("x", x);
      page.searchParams.set("y", y);
      link.href = page.pathname + page.search;
      load(div, div.dataset.src);
    };
    document.querySelectorAll("img.map").forEach(function (el) { el.addEventListener("click", pick); });
  }

  document.addEventListener("DOMContentLoaded", function () { setupSpectrum(); setupCube(); });
})();
