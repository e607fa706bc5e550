// Live progress of a run: server-sent events (a few a second) -> numbers, a bar and a small SVG chart.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || live.dataset.live !== "yes") return;
  var runId = live.dataset.run;
  var $ = function (id) { return document.getElementById(id); };

  function eta(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 90) return seconds + " s";
    return Math.round(seconds / 60) + " min";
  }

  function drawChart(series) {
    var svg = $("chart"), w = 480, h = 100;
    var top = Math.max(1, Math.max.apply(null, series.concat([1])));
    var step = series.length > 1 ? w / (series.length - 1) : w;
    var points = series.map(function (v, i) { return (i * step).toFixed(1) + "," + (h - (v / top) * (h - 12)).toFixed(1); });
    svg.innerHTML = "";
    var line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#2b6cb0");
    line.setAttribute("stroke-width", "2");
    svg.appendChild(line);
    var label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    label.setAttribute("x", "4"); label.setAttribute("y", "11"); label.setAttribute("font-size", "10");
    label.textContent = "rows/s (peak " + top + ")";
    svg.appendChild(label);
  }

  function showGroups(groups) {
    var body = $("groups").tBodies[0];
    body.textContent = "";
    groups.forEach(function (g) {
      var row = body.insertRow();
      row.insertCell().textContent = g.rows;
      row.insertCell().textContent = g.outcome;
      row.insertCell().textContent = [g.error_type, g.error_message].filter(Boolean).join(": ");
    });
  }

  function showNotes(notes) {
    var list = $("notes");
    if (!list || !notes) return;
    for (var i = list.children.length; i < notes.length; i++) {
      var item = document.createElement("li");
      item.textContent = notes[i];
      list.appendChild(item);
    }
  }

  function show(s) {
    $("done").textContent = s.done;
    $("total").textContent = s.total;
    $("state").textContent = s.state;
    $("not-sent").textContent = s.not_sent;
    $("not-sent-part").hidden = !s.not_sent;
    Object.keys(s.counts).forEach(function (name) {
      var cell = $("count-" + name);
      if (cell) cell.textContent = s.counts[name];
    });
    $("cps").textContent = s.calls_per_second;
    $("rps").textContent = s.rows_per_second;
    $("eta").textContent = eta(s.eta_seconds);
    $("bar").max = s.total || 1;
    $("bar").value = s.done;
    drawChart(s.series);
    showGroups(s.groups);
    showNotes(s.notes);
    var none = $("no-groups");
    if (none) none.hidden = s.groups.length > 0;
  }

  var events = new EventSource("/runs/" + runId + "/events");
  events.onmessage = function (e) { show(JSON.parse(e.data)); };
  events.addEventListener("end", function () {
    events.close();
    // The job ended: the same address now shows the results.
    setTimeout(function () { window.location.reload(); }, 300);
  });
})();
