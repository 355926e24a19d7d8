/* mlineage ui: the store page, and the model page's fetching, paging, live updates and
 * on-demand comparisons. The model page itself is drawn by the report's own script
 * (/assets/report.js), fed the same data the offline report embeds, fetched from the API.
 *
 * As in the report, every value from the data reaches the DOM through textContent or
 * setAttribute on a fixed attribute name; no markup is ever built from data.
 */
(function () {
  "use strict";

  var POLL_MS = 2000;
  var DATA_ID = "mlineage-data"; // the element report.js reads its data from
  var body = document.body;
  var page = body.getAttribute("data-page");
  var model = body.getAttribute("data-model") || "";

  function el(tag, props) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    });
    for (var i = 2; i < arguments.length; i++) add(node, arguments[i]);
    return node;
  }

  function add(node, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) kid.forEach(function (k) { add(node, k); });
    else if (typeof kid === "object") node.appendChild(kid);
    else node.appendChild(document.createTextNode(String(kid)));
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function fmtDate(iso) {
    if (!iso) return "\u2014";
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toISOString().slice(0, 16).replace("T", " ");
  }

  function fmtValue(value) {
    if (value === null || value === undefined) return "\u2014";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(parseFloat(value.toPrecision(6)));
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  /** GET url as JSON; rejects with the server's message for an error status. */
  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (res) {
      return res.text().then(function (text) {
        var data;
        try { data = JSON.parse(text); } catch (err) { data = { message: text }; }
        if (!res.ok) {
          var e = new Error((data.error ? data.error + ": " : "") + (data.message || res.statusText));
          e.status = res.status;
          throw e;
        }
        return { data: data, text: text };
      });
    });
  }

  function errorPanel(message) {
    return el("p", { class: "notice ui-error", role: "alert", text: message });
  }

  function apiModel(suffix) {
    return "/api/models/" + encodeURIComponent(model) + suffix;
  }

  // -- generic JSON as tables (drift and behaviour comparisons, search results) -----------

  function isRowList(value) {
    return Array.isArray(value) && value.length > 0 && value.every(function (r) {
      return r !== null && typeof r === "object" && !Array.isArray(r);
    });
  }

  function rowsTable(rows, cls) {
    var keys = [];
    rows.forEach(function (r) {
      Object.keys(r).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); });
    });
    return el("table", { class: "grid " + (cls || "") },
      el("tr", null, keys.map(function (k) { return el("th", { text: k }); })),
      rows.map(function (r) {
        return el("tr", null, keys.map(function (k) {
          return el("td", { text: Object.prototype.hasOwnProperty.call(r, k) ? fmtValue(r[k]) : "" });
        }));
      }));
  }

  function objectView(obj) {
    var scalars = el("table", { class: "grid kv" });
    var rest = [];
    Object.keys(obj).forEach(function (k) {
      var v = obj[k];
      if (isRowList(v)) rest.push(el("h4", { text: k }), rowsTable(v));
      else if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length &&
        Object.keys(v).every(function (c) { return v[c] !== null && typeof v[c] === "object" && !Array.isArray(v[c]); })) {
        var rows = Object.keys(v).map(function (c) { return Object.assign({ name: c }, v[c]); });
        rest.push(el("h4", { text: k }), rowsTable(rows));
      } else scalars.appendChild(el("tr", null, el("th", { text: k }), el("td", { text: fmtValue(v) })));
    });
    return el("div", null, scalars, rest);
  }

  // -- store page --------------------------------------------------------------------------

  function storePage() {
    var app = clear(document.getElementById("app"));
    var list = el("div", { id: "models" });
    var results = el("div", { id: "search-results" });
    var input = function (name, label, type) {
      return el("label", null, label + " ", el("input", { name: name, type: type || "text", size: type ? 8 : 16, step: type ? "any" : null }));
    };
    var form = el("form", { id: "search", class: "toolbar", onsubmit: function (event) {
      event.preventDefault();
      var params = new URLSearchParams();
      Array.prototype.forEach.call(form.querySelectorAll("input"), function (i) {
        if (i.value) params.set(i.name, i.value);
      });
      clear(results).appendChild(el("p", { class: "muted", text: "Searching\u2026" }));
      getJSON("/api/search?" + params.toString()).then(function (r) {
        clear(results);
        var hits = r.data.results;
        results.appendChild(el("p", { class: "muted", id: "search-count", text: hits.length + (r.data.truncated ? "+" : "") + " version(s) found" }));
        if (hits.length) {
          results.appendChild(el("table", { class: "grid", id: "search-table" },
            el("tr", null, ["model", "version", "created", "metrics", "tags", "aliases"].map(function (h) { return el("th", { text: h }); })),
            hits.map(function (h) {
              return el("tr", null,
                el("td", { text: h.model }),
                el("td", null, el("a", { href: "/models/" + encodeURIComponent(h.model) + "#" + encodeURIComponent(h.id), text: h.name ? h.name + " (" + h.short + ")" : h.short })),
                el("td", { text: fmtDate(h.created_at) }),
                el("td", { text: Object.keys(h.metrics).map(function (m) { return m + "=" + fmtValue(h.metrics[m]); }).join(", ") }),
                el("td", { text: h.tags.join(", ") }),
                el("td", { text: h.aliases.join(", ") }));
            })));
        }
        Object.keys(r.data.errors).forEach(function (m) { results.appendChild(errorPanel(m + ": " + r.data.errors[m])); });
      }, function (err) { clear(results).appendChild(errorPanel(err.message)); });
    } },
    input("q", "name"), input("tag", "tag"), input("alias", "alias"), input("metric", "metric"),
    input("min", "min", "number"), input("max", "max", "number"),
    el("button", { type: "submit", text: "Search" }));
    add(app, [
      el("header", { class: "page-header" }, el("h1", { text: "Models" })),
      el("main", null,
        el("section", { class: "panel", id: "store" }, el("h2", { text: "Every model in the store" }), list),
        el("section", { class: "panel", id: "find" }, el("h2", { text: "Search versions" }), form, results)),
    ]);
    var last = null;
    function load() {
      getJSON("/api/models").then(function (r) {
        live("store read " + new Date().toLocaleTimeString());
        if (r.text === last) return;
        last = r.text;
        renderModels(clear(list), r.data.models);
        document.documentElement.setAttribute("data-ready", "true");
      }, function (err) { clear(list).appendChild(errorPanel(err.message)); });
    }
    load();
    setInterval(load, POLL_MS);
  }

  function renderModels(list, models) {
    if (!models.length) {
      list.appendChild(el("p", { class: "empty", text: "No models in this store yet." }));
      return;
    }
    list.appendChild(el("table", { class: "grid", id: "model-table" },
      el("tr", null, ["model", "versions", "latest", "last update", "aliases", "newest gate verdict", "anomalies"].map(function (h) { return el("th", { text: h }); })),
      models.map(function (m) {
        var link = el("a", { href: "/models/" + encodeURIComponent(m.model), class: "model-link", text: m.model });
        if (m.error) return el("tr", { class: "model-error", "data-model": m.model }, el("td", null, link), el("td", { colspan: 6 }, errorPanel(m.error)));
        var gate = m.gate ? (m.gate.summary.decision || (m.gate.summary.passed ? "passed" : "failed")) + " \u00b7 " + fmtDate(m.gate.created_at) : "\u2014";
        return el("tr", { "data-model": m.model },
          el("td", null, link),
          el("td", { class: "num", text: m.versions.toLocaleString("en-US") }),
          el("td", { class: "mono", text: m.latest ? (m.latest.name ? m.latest.name + " (" + m.latest.short + ")" : m.latest.short) : "\u2014" }),
          el("td", { text: fmtDate(m.last_update) }),
          el("td", null, Object.keys(m.aliases).map(function (a) { return el("span", { class: "chip alias", text: a }); })),
          el("td", { text: gate }),
          el("td", { class: "ui-anomalies", text: m.anomalies.length ? m.anomalies.map(anomalyText).join("; ") : "\u2014" }));
      })));
  }

  function anomalyText(a) {
    if (a.kind === "gate") return "gate failed " + a.rule;
    return "drift at " + (a.name || a.version.slice(-8)) + (typeof a.z === "number" ? " (z " + fmtValue(a.z) + ")" : "");
  }

  // -- model page --------------------------------------------------------------------------

  function pageNumber() {
    var p = parseInt(new URLSearchParams(location.search).get("page") || "0", 10);
    return isNaN(p) || p < 0 ? 0 : p;
  }

  function live(text) {
    var node = document.getElementById("ui-live");
    if (node) node.textContent = text;
  }

  /** Hand the data to the report's script and run it (again): it redraws #app. */
  function drawReport(text) {
    var old = document.getElementById(DATA_ID);
    if (old) old.parentNode.removeChild(old);
    var prev = document.getElementById("ui-report-script");
    if (prev) prev.parentNode.removeChild(prev);
    document.documentElement.removeAttribute("data-ready");
    var data = el("script", { type: "application/json", id: DATA_ID });
    data.textContent = text;
    body.appendChild(data);
    body.appendChild(el("script", { src: "/assets/report.js", id: "ui-report-script" }));
  }

  function pagingBar(paging) {
    var top = clear(document.getElementById("ui-top"));
    if (!paging || paging.pages <= 1) return;
    var link = function (p, text) {
      return p < 0 || p >= paging.pages ? el("span", { class: "muted", text: text })
        : el("a", { href: "?page=" + p, text: text, class: "ui-page-link" });
    };
    top.appendChild(el("nav", { class: "ui-paging", id: "ui-paging" },
      "Versions " + (paging.start + 1).toLocaleString("en-US") + "\u2013" + paging.stop.toLocaleString("en-US") +
      " of " + paging.total.toLocaleString("en-US") + " (page " + (paging.page + 1) + " of " + paging.pages + ") ",
      link(paging.page - 1, "\u2190 newer"), " ", link(paging.page + 1, "older \u2192"),
      el("span", { class: "muted", text: " \u00b7 drift and behaviour along a paged lineage are not computed: compare any two versions at the bottom of the page" })));
  }

  function comparePanel() {
    var bottom = document.getElementById("ui-bottom");
    var a = el("input", { id: "ui-cmp-a", type: "text", placeholder: "version A (id, name, alias)", "aria-label": "version A" });
    var b = el("input", { id: "ui-cmp-b", type: "text", placeholder: "version B", "aria-label": "version B" });
    var out = el("div", { id: "ui-compare-result", "aria-live": "polite" });
    var form = el("form", { class: "toolbar", id: "ui-compare-form", onsubmit: function (event) {
      event.preventDefault();
      clear(out).appendChild(el("p", { class: "muted", text: "Comparing\u2026" }));
      var q = "?a=" + encodeURIComponent(a.value.trim()) + "&b=" + encodeURIComponent(b.value.trim());
      getJSON(apiModel("/compare" + q)).then(function (r) {
        clear(out);
        [["drift", "Data drift (stored profiles)"], ["behaviour", "Behaviour (stored fingerprints)"]].forEach(function (p) {
          var part = r.data[p[0]];
          var box = el("section", { class: "ui-cmp-part", id: "ui-cmp-" + p[0] }, el("h3", { text: p[1] }));
          box.appendChild(part && part.error ? errorPanel(part.error) : objectView(part || {}));
          out.appendChild(box);
        });
      }, function (err) { clear(out).appendChild(errorPanel(err.message)); });
    } }, a, " \u2192 ", b, el("button", { type: "submit", text: "Compare" }));
    bottom.appendChild(el("section", { class: "panel", id: "ui-compare" },
      el("h2", { text: "Compare any two versions" }),
      el("p", { class: "muted", text: "Drift between their stored data profiles and churn, flip rates and representation similarity between their stored fingerprints, computed now." }),
      form, out));
  }

  function modelPage() {
    var p = pageNumber();
    var generation = null;
    var count = null;
    function load() {
      return getJSON(apiModel("/report?page=" + p)).then(function (r) {
        count = r.data.paging.total;
        pagingBar(r.data.paging);
        drawReport(r.text);
      }, function (err) {
        var app = clear(document.getElementById("app"));
        app.appendChild(el("header", { class: "page-header" }, el("h1", { text: model })));
        app.appendChild(errorPanel("This model cannot be shown: " + err.message));
        document.documentElement.setAttribute("data-ready", "error");
      });
    }
    function poll() {
      getJSON(apiModel("/state")).then(function (r) {
        var s = r.data;
        var changed = (generation !== null && s.generation !== generation) || (count !== null && s.versions !== count);
        generation = s.generation;
        count = s.versions;
        live(s.versions.toLocaleString("en-US") + " versions \u00b7 checked " + new Date().toLocaleTimeString());
        if (changed && p === 0) load();
      }, function () { live("server unreachable"); });
    }
    comparePanel();
    load().then(function () {
      poll();
      setInterval(poll, POLL_MS);
    });
  }

  if (page === "store") storePage();
  else if (page === "model") modelPage();
})();
