// The page's client (see guard.py): it holds the key the printed address carried, and sends it in a
// header with every request. Each screen is fetched with it and shown in place; links, forms and
// downloads go through here, and a live run's progress (server-sent events) too. No cookie: a browser
// sends a host's cookies to every port of it. Other scripts send their requests with bulkUpdater.fetch.
(function () {
  "use strict";
  var HEADER = "X-Bulk-Updater-Key";
  var STORE = "bulk-updater-key"; // this origin's storage: 127.0.0.1 and this port only
  var NO_KEY = "Open the address bulk-updater ui printed when it started (it carries the key to this page).";
  var current = null; // what the screen is loading or following: cancelled when another screen is asked for
  var memory = ""; // the key, when the browser keeps no storage for this page

  function takeKeyFromAddress() {
    var url = new URL(window.location.href);
    var token = url.searchParams.get("token");
    if (token === null) return;
    try { window.localStorage.setItem(STORE, token); } catch (e) { memory = token; }
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  function key() {
    try { return window.localStorage.getItem(STORE) || memory; } catch (e) { return memory; }
  }

  function send(url, init) {
    init = Object.assign({}, init || {});
    var headers = new Headers(init.headers || {});
    headers.set(HEADER, key());
    init.headers = headers;
    init.credentials = "same-origin";
    init.cache = "no-store";
    return window.fetch(url, init);
  }

  window.bulkUpdater = { fetch: send };

  // --- screens ---------------------------------------------------------------------------

  function cancel() {
    if (current) current.abort();
    current = null;
  }

  var leaving = { heading: "", focus: "" }; // the screen being replaced: its heading, and the id of what had the focus

  function busy() { // the screen is being replaced: nothing of the old one is left to click or to wait for
    cancel();
    var main = document.querySelector("main");
    if (!main) return;
    var heading = main.querySelector("h1");
    leaving = { heading: heading ? heading.textContent : "", focus: document.activeElement ? document.activeElement.id : "" };
    main.setAttribute("aria-busy", "true");
    var note = document.createElement("p");
    note.id = "loading";
    note.textContent = "Loading\u2026";
    main.replaceChildren(note);
  }

  // how: "push" a new address, "replace" it, or "post" (the address of the answer a redirect led to, if any)
  function go(url, init, how) {
    busy();
    var controller = current = new AbortController();
    init = Object.assign({}, init || {}, { signal: controller.signal });
    return send(url, init).then(function (response) {
      return show(response, how);
    }).catch(function (error) {
      if (error.name !== "AbortError") fail("The page's server did not answer (" + error.message + "). Is bulk-updater ui still running?");
    });
  }

  function show(response, how) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("text/html") === 0) {
      return response.text().then(function (html) { render(html, response, how); });
    }
    if (!response.ok) {
      return response.text().then(function (text) { fail(text.replace(/^\d{3} [^:]*: /, "")); });
    }
    return save(response).then(function () { fail("Downloaded."); });
  }

  function render(html, response, how) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    var moved = response.url !== window.location.href;
    if (how === "replace") window.history.replaceState(null, "", response.url);
    else if (moved && (how === "push" || (how === "post" && response.redirected))) window.history.pushState(null, "", response.url);
    window.scrollTo(0, 0);
    announce(how);
    ready();
  }

  // A new screen without a page load: its heading takes the focus, so a screen reader reads where the person
  // is, and the next Tab goes on from the top of the new screen rather than from a control that is gone.
  // The same screen shown again (a verify's refresh): the focus goes back where it was, and nothing is read.
  function announce(how) {
    var heading = document.querySelector("main h1");
    if (!heading) return;
    if (how === "replace" && heading.textContent === leaving.heading) {
      var again = leaving.focus ? document.getElementById(leaving.focus) : null;
      if (again) again.focus({ preventScroll: true });
      return;
    }
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }

  function fail(text) {
    cancel();
    var main = document.querySelector("main");
    if (!main) return;
    main.removeAttribute("aria-busy");
    var box = document.createElement("pre");
    box.className = "error";
    box.id = "refusal";
    box.textContent = text;
    var home = document.createElement("p");
    var link = document.createElement("a");
    link.href = "/";
    link.textContent = "Home";
    home.appendChild(link);
    main.replaceChildren(box, home);
  }

  function reload() {
    return go(window.location.href, {}, "replace");
  }

  // What a screen asks for once shown: a live run's progress, or showing it again while a verify goes on.
  function ready() {
    var live = document.getElementById("live");
    if (live && live.dataset.live === "yes") follow(live.dataset.run);
    var refresh = document.querySelector("[data-refresh]");
    if (refresh) {
      var controller = current = new AbortController();
      window.setTimeout(function () { if (!controller.signal.aborted) reload(); }, 1000 * (+refresh.dataset.refresh || 1));
    }
  }

  // --- links, forms, downloads, history ----------------------------------------------------

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || (link.target && link.target !== "_self")) return;
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || url.protocol !== window.location.protocol) return; // a blob: download, another site
    event.preventDefault();
    if (link.hasAttribute("data-back")) window.history.back();
    else if (link.hasAttribute("download")) download(url.href);
    else go(url.href, {}, "push");
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    event.preventDefault();
    var data = formData(form, event.submitter);
    // Attributes, not form.action and form.method: a field named "action" (a button) would stand in their place.
    var url = new URL(form.getAttribute("action") || window.location.href, window.location.href);
    var method = (form.getAttribute("method") || "get").toUpperCase();
    if (method !== "POST") {
      url.search = new URLSearchParams(data).toString();
      go(url.href, {}, "push");
      return;
    }
    var body = (form.getAttribute("enctype") || "").toLowerCase() === "multipart/form-data" ? data : new URLSearchParams(data);
    go(url.href, { method: "POST", body: body }, "post");
  });

  function formData(form, submitter) {
    try {
      return new FormData(form, submitter || undefined);
    } catch (e) { // a browser without FormData(form, submitter): the button's name and value by hand
      var data = new FormData(form);
      if (submitter && submitter.name) data.append(submitter.name, submitter.value);
      return data;
    }
  }

  window.addEventListener("popstate", function () { go(window.location.href, {}, "none"); });

  function download(url) {
    send(url).then(function (response) {
      if (!response.ok) return response.text().then(fail);
      return save(response);
    }).catch(function (error) { fail("The download failed (" + error.message + ")."); });
  }

  function save(response) {
    var disposition = response.headers.get("Content-Disposition") || "";
    var named = /filename="([^"]+)"/.exec(disposition);
    var name = named ? named[1] : decodeURIComponent(new URL(response.url).pathname.split("/").pop());
    return response.blob().then(function (blob) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = name;
      link.hidden = true;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 60000);
    });
  }

  // --- a live run: server-sent events, read from a fetch (an EventSource can't send the key) ------

  function follow(runId) {
    var controller = current = new AbortController();
    send("/runs/" + runId + "/events", { signal: controller.signal }).then(function (response) {
      if (!response.ok || !response.body) return;
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      var kind = "message";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          buffer += decoder.decode(chunk.value, { stream: true });
          var lines = buffer.split("\n");
          buffer = lines.pop();
          lines.forEach(function (line) {
            if (line.indexOf("event: ") === 0) kind = line.slice(7);
            else if (line.indexOf("data: ") === 0 && kind === "end") ended(controller);
            else if (line.indexOf("data: ") === 0) progress(JSON.parse(line.slice(6)));
            else if (line === "") kind = "message";
          });
          return pump();
        });
      }
      return pump();
    }).catch(function () { /* cancelled: another screen was asked for */ });
  }

  function ended(controller) {
    // The job ended: the same address now shows the results.
    window.setTimeout(function () { if (!controller.signal.aborted) reload(); }, 300);
  }

  var $ = function (id) { return document.getElementById(id); };

  function eta(seconds) {
    if (seconds === null || seconds === undefined) return "\u2013";
    if (seconds < 90) return seconds + " s";
    return Math.round(seconds / 60) + " min";
  }

  // The whole run's rows per second, as pace.json keeps it (screens.py): one point per bucket of seconds.
  function drawChart(series, seconds, bucket) {
    var svg = $("chart"), w = 480, h = 100;
    if (!svg || !series.length) return;
    svg.dataset.seconds = seconds;
    svg.dataset.bucket = bucket;
    var top = Math.max(1, Math.max.apply(null, series.concat([1])));
    var step = series.length > 1 ? w / (series.length - 1) : w;
    var points = series.map(function (v, i) { return (i * step).toFixed(1) + "," + (h - (v / top) * (h - 12)).toFixed(1); });
    var line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#2b6cb0");
    line.setAttribute("stroke-width", "2");
    var label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    label.setAttribute("x", "4"); label.setAttribute("y", "11"); label.setAttribute("font-size", "10");
    label.textContent = "rows/s (peak " + Math.max.apply(null, series) + ")";
    svg.replaceChildren(line, label);
  }

  function showGroups(groups) {
    var table = $("groups");
    if (!table) return;
    var body = table.tBodies[0];
    body.replaceChildren();
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

  function progress(s) {
    if (!$("done")) return;
    $("done").textContent = s.done;
    $("total").textContent = s.total;
    $("rows-word").textContent = s.total === 1 ? "row" : "rows";
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
    $("bar").max = s.total || 1; // a <progress>: no style to set (the CSP allows no inline style)
    $("bar").value = s.done;
    drawChart(s.series, s.seconds, s.bucket);
    showGroups(s.groups);
    showNotes(s.notes);
    var none = $("no-groups");
    if (none) none.hidden = s.groups.length > 0;
  }

  // --- start: the screen this address names, with the key ----------------------------------

  takeKeyFromAddress();
  if (!key()) fail(NO_KEY);
  else if (document.getElementById("loading")) reload(); // the shell: load the screen
  else ready(); // a screen already (a test served it whole)
})();
