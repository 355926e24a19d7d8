/* mlineage lineage report.
 *
 * Draws the page from the JSON block #mlineage-data. Every value from the data reaches the
 * DOM through textContent, createTextNode or setAttribute on a fixed attribute name; no
 * markup is ever built from data. The page makes no network request (its
 * Content-Security-Policy forbids them too).
 *
 * Lineage list: one row per version, newest first, with the DAG drawn beside it in lanes
 * (the main line - the first-parent history of the longest branch - in lane 0, each other
 * first-parent chain in a lane of its own, reused once the chain ends). Long linear runs
 * of a chain collapse into one "N versions" row. Edges spanning more than LONG_EDGE rows
 * are drawn as short stubs with a label, so a star of many branches stays narrow. Rows
 * live in chunks with `content-visibility: auto`, so the browser lays out only what is on
 * screen; each chunk has its own SVG for the lines of its rows.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var SCHEMA = 2;
  var ROW = 26; // px per row (keep in sync with .row in report.css)
  var LANE = 16; // px between lanes
  var PAD = 18; // px left of lane 0 (room for the A / B row markers)
  var CHUNK = 100; // rows per content-visibility chunk
  var MIN_RUN = 4; // shortest linear run that collapses
  var LONG_EDGE = 60; // rows; a cross-lane edge longer than this is drawn as stubs
  var KINDS = ["update", "fine_tune", "distill", "merge", "rollback", "initial"];
  var TABLE_ROWS = 2000; // analysis rows shown per table
  var MAX_POINTS = 5; // change points drawn per chart ("Show all" lists the rest)
  var MAX_FRAGMENT = 512; // longest URL fragment read as a reference (names are <= 128)

  // -- DOM helpers -----------------------------------------------------------------------

  function append(node, kids) {
    for (var i = 0; i < kids.length; i++) {
      var kid = kids[i];
      if (kid === null || kid === undefined || kid === false) continue;
      if (Array.isArray(kid)) append(node, kid);
      else if (typeof kid === "object") node.appendChild(kid);
      else node.appendChild(document.createTextNode(String(kid)));
    }
    return node;
  }

  function setProps(node, props) {
    if (!props) return node;
    Object.keys(props).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    });
    return node;
  }

  /** el("div", {class: "x", text: "..."}, child, "text", [more]) */
  function el(tag, props) {
    var node = setProps(document.createElement(tag), props);
    return append(node, Array.prototype.slice.call(arguments, 2));
  }

  function svgEl(tag, props) {
    var node = setProps(document.createElementNS(SVG_NS, tag), props);
    return append(node, Array.prototype.slice.call(arguments, 2));
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  // -- formatting ------------------------------------------------------------------------

  function fmtNum(x) {
    if (typeof x !== "number") return x === null || x === undefined ? "\u2014" : String(x);
    if (Number.isInteger(x)) return String(x);
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-4 || a >= 1e9)) return x.toExponential(3);
    return String(parseFloat(x.toPrecision(6)));
  }

  function fmtDelta(x) {
    if (typeof x !== "number") return "\u2014";
    if (x === 0) return "0";
    return (x > 0 ? "+" : "\u2212") + fmtNum(Math.abs(x));
  }

  function fmtCount(n) {
    return typeof n === "number" ? n.toLocaleString("en-US") : "\u2014";
  }

  function fmtScore(x) {
    return String(Number(x.toPrecision(3)));
  }

  function fmtDate(iso) {
    if (!iso) return "\u2014";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().slice(0, 16).replace("T", " ");
  }

  function fmtDateLong(iso) {
    if (!iso) return "\u2014";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function fmtBytes(n) {
    if (typeof n !== "number") return "\u2014";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
  }

  function jsonText(value) {
    return typeof value === "string" ? JSON.stringify(value) : canonical(value);
  }

  /** JSON with sorted keys: equal values give equal text. */
  function canonical(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    return (
      "{" +
      Object.keys(value)
        .sort()
        .map(function (k) {
          return JSON.stringify(k) + ":" + canonical(value[k]);
        })
        .join(",") +
      "}"
    );
  }

  function plural(n, word, many) {
    return n.toLocaleString("en-US") + " " + (n === 1 ? word : many || word + "s");
  }

  function kindVar(kind) {
    return KINDS.indexOf(kind) >= 0 ? "var(--edge-" + kind + ")" : "var(--edge-other)";
  }

  // -- data ------------------------------------------------------------------------------

  // Keys in the data are user strings (metric names, hyperparameter keys, column names),
  // and a plain object also answers "constructor", "toString" or "__proto__" from its
  // prototype. Every lookup by such a key goes through has/own (the data's objects come
  // from JSON.parse, which makes each key, "__proto__" included, an own property); lookup
  // tables built here are Maps.
  var hasOwn = Object.prototype.hasOwnProperty;

  /** Whether obj (parsed JSON, or null) has key as its own property. */
  function has(obj, key) {
    return obj !== null && obj !== undefined && hasOwn.call(obj, key);
  }

  /** obj[key] if key is obj's own property, else undefined. */
  function own(obj, key) {
    return has(obj, key) ? obj[key] : undefined;
  }

  var D;
  var versions; // parents before children
  var byId = new Map();
  var byName = new Map();
  var kids = []; // index -> [{i: child index, first: bool}]
  var spinePos = new Map(); // id -> position on the main line (0 = oldest)
  var spineAt = new Map(); // position on the main line -> id (embedded versions only)
  var spineLength = 0; // versions on the main line, embedded or not
  var metricInfo = new Map(); // name -> metric entry
  var suspectsOf = new Map(); // id -> [{metric, rank, ...}]
  var pointsOf = new Map(); // id -> [{metric, ...}] change points
  var aliasMovesOf = new Map(); // id -> [{alias, effective_at, recorded_at}]
  var aliasTarget = new Map(); // alias -> id

  /** What a compact report leaves out of its stub and run rows (docs/report.md). */
  var ROW_DEFAULTS = { name: null, kind: "update", status: "committed" };
  var ROW_LISTS = ["aliases", "annotations", "all_tags", "tags"];

  function index() {
    versions = D.versions;
    versions.forEach(function (v) {
      if (!v.stub && !v.run) return;
      Object.keys(ROW_DEFAULTS).forEach(function (k) { if (!has(v, k)) v[k] = ROW_DEFAULTS[k]; });
      ROW_LISTS.forEach(function (k) { if (!has(v, k)) v[k] = []; });
      if (!has(v, "metrics")) v.metrics = {};
      if (!has(v, "short")) v.short = (v.run ? v.run.first : v.id).slice(-8);
    });
    versions.forEach(function (v, i) {
      byId.set(v.id, i);
      if (v.name) byName.set(v.name, i);
      kids.push([]);
    });
    versions.forEach(function (v, i) {
      v.parents.forEach(function (p, k) {
        var pi = byId.get(p);
        if (pi !== undefined) kids[pi].push({ i: i, first: k === 0 });
      });
    });
    // A compact report (a very long lineage) embeds only some main-line versions and
    // gives each its position; otherwise the spine is every position in order.
    D.spine.forEach(function (id, k) {
      var pos = D.spine_positions ? D.spine_positions[k] : k;
      spinePos.set(id, pos);
      spineAt.set(pos, id);
    });
    spineLength = D.spine_length || D.spine.length;
    D.metrics.forEach(function (m) {
      metricInfo.set(m.name, m);
      m.suspects.forEach(function (s) {
        push(suspectsOf, s.version, { metric: m.name, step: s });
      });
      m.change_points.forEach(function (c) {
        push(pointsOf, c.version, { metric: m.name, point: c });
      });
    });
    D.aliases.forEach(function (a) {
      aliasTarget.set(a.name, a.target);
      a.history.forEach(function (move) {
        if (move.version) push(aliasMovesOf, move.version, { alias: a.name, move: move });
      });
    });
  }

  function push(map, key, value) {
    var list = map.get(key);
    if (!list) map.set(key, (list = []));
    list.push(value);
  }

  function label(v) {
    return v.name ? v.name + " (" + v.short + ")" : v.short;
  }

  /** Resolve a reference as mlineage does: full id, name, alias, unique id prefix. */
  function resolve(ref) {
    ref = String(ref || "").trim();
    if (!ref) return { error: "type a version id, id prefix, name or alias" };
    if (byId.has(ref)) return { i: byId.get(ref) };
    if (byName.has(ref)) return { i: byName.get(ref) };
    if (aliasTarget.has(ref)) return { i: byId.get(aliasTarget.get(ref)) };
    var lower = ref.toLowerCase();
    if (/^[0-9a-f]{4,32}$/.test(lower)) {
      var found = [];
      for (var i = 0; i < versions.length && found.length < 2; i++) {
        if (versions[i].id.indexOf(lower) === 0) found.push(i);
      }
      if (found.length === 1) return { i: found[0] };
      if (found.length > 1) return { error: "id prefix " + ref + " matches several versions" };
    }
    return { error: "no version matches " + ref };
  }

  function isAncestor(a, b) {
    // Is version index a an ancestor of b (through any parent)?
    var seen = new Set([b]);
    var stack = [b];
    while (stack.length) {
      var v = versions[stack.pop()];
      for (var k = 0; k < v.parents.length; k++) {
        var p = byId.get(v.parents[k]);
        if (p === undefined || seen.has(p)) continue;
        if (p === a) return true;
        seen.add(p);
        stack.push(p);
      }
    }
    return false;
  }

  // -- lineage layout --------------------------------------------------------------------

  var chainOf; // version index -> chain number (0 = main line)
  var plain; // version index -> collapsible
  var expanded = new Set(); // run keys (id of the newest member) the user expanded
  var expandAll = false;
  var layout = null;

  function chains() {
    chainOf = new Int32Array(versions.length);
    var continued = new Set();
    var next = 1;
    versions.forEach(function (v, i) {
      if (spinePos.has(v.id)) {
        chainOf[i] = 0;
        return;
      }
      var fp = v.parents.length ? byId.get(v.parents[0]) : undefined;
      if (fp !== undefined && chainOf[fp] !== 0 && !continued.has(fp)) {
        chainOf[i] = chainOf[fp];
        continued.add(fp);
      } else {
        chainOf[i] = next++;
      }
    });
    plain = new Uint8Array(versions.length);
    versions.forEach(function (v, i) {
      if (v.parents.length !== 1 || kids[i].length !== 1) return;
      var child = kids[i][0];
      var parent = byId.get(v.parents[0]);
      if (!child.first || parent === undefined) return;
      if (chainOf[child.i] !== chainOf[i] || chainOf[parent] !== chainOf[i]) return;
      if (v.kind !== "update" || v.status !== "committed" || v.run) return;
      if (v.aliases.length || v.annotations.length) return;
      if (suspectsOf.has(v.id) || pointsOf.has(v.id)) return;
      var info = insight(v.id);
      if (info && info.badges && info.badges.length) return;
      plain[i] = 1;
    });
  }

  /** Rows (newest first): {i: version index} or {run: [indices newest first], key}. */
  function buildItems() {
    var items = [];
    var run = [];
    function flush() {
      if (!run.length) return;
      var key = versions[run[0]].id;
      if (run.length >= MIN_RUN && !expandAll && !expanded.has(key)) {
        items.push({ run: run, key: key });
      } else {
        run.forEach(function (i) {
          items.push({ i: i, runKey: run.length >= MIN_RUN ? key : null });
        });
      }
      run = [];
    }
    for (var i = versions.length - 1; i >= 0; i--) {
      if (plain[i]) {
        var last = run.length ? run[run.length - 1] : -1;
        // Consecutive rows of one chain, each the first parent of the one above.
        if (last >= 0 && !(chainOf[last] === chainOf[i] && versions[last].parents[0] === versions[i].id)) {
          flush();
        }
        run.push(i);
      } else {
        flush();
        items.push({ i: i, runKey: null });
      }
    }
    flush();
    return items;
  }

  function computeLayout() {
    var items = buildItems();
    var n = versions.length;
    var rowOf = new Int32Array(n);
    items.forEach(function (item, r) {
      if (item.run) item.run.forEach(function (i) { rowOf[i] = r; });
      else rowOf[item.i] = r;
    });
    var chainCount = 0;
    for (var i = 0; i < n; i++) chainCount = Math.max(chainCount, chainOf[i] + 1);
    var top = new Float64Array(chainCount).fill(Infinity);
    var bottom = new Float64Array(chainCount).fill(-Infinity);
    for (i = 0; i < n; i++) {
      var c = chainOf[i];
      top[c] = Math.min(top[c], rowOf[i]);
      bottom[c] = Math.max(bottom[c], rowOf[i]);
    }
    // 1. Lanes for the chains' own rows: lane 0 is the main line's; every other chain takes
    //    the lowest lane that is free over its rows. This is the width the DAG needs.
    var order = [];
    for (c = 1; c < chainCount; c++) if (top[c] !== Infinity) order.push(c);
    order.sort(function (a, b) { return top[a] - top[b] || a - b; });
    var laneOf = new Int32Array(chainCount);
    var laneEnd = [Infinity];
    var taken = [[[top[0], bottom[0]]]]; // lane -> disjoint [top, bottom] intervals, sorted
    order.forEach(function (c) {
      var lane = 1;
      while (lane < laneEnd.length && laneEnd[lane] >= top[c]) lane++;
      laneOf[c] = lane;
      laneEnd[lane] = bottom[c];
      (taken[lane] = taken[lane] || []).push([top[c], bottom[c]]);
    });
    // 2. Edges between chains run vertically in a lane beyond the chain's own rows: a branch
    //    below its first version down to its parent, a merged-in parent up to the merge. Such
    //    a stretch is drawn only where its lane is free (shortest edges first) and the edge
    //    is not longer than LONG_EDGE rows; otherwise the edge becomes two labelled stubs.
    var edges = [];
    var cross = [];
    for (i = 0; i < n; i++) {
      var v = versions[i];
      for (var k = 0; k < v.parents.length; k++) {
        var p = byId.get(v.parents[k]);
        if (p === undefined || rowOf[p] === rowOf[i]) continue;
        var e = { c: i, p: p, first: k === 0, same: k === 0 && chainOf[p] === chainOf[i], elided: false };
        edges.push(e);
        if (!e.same) cross.push(e);
      }
    }
    cross.sort(function (a, b) { return rowOf[a.p] - rowOf[a.c] - (rowOf[b.p] - rowOf[b.c]); });
    cross.forEach(function (e) {
      var rc = rowOf[e.c];
      var rp = rowOf[e.p];
      if (rp - rc > LONG_EDGE) {
        e.elided = true;
        return;
      }
      var lane, a, b;
      if (e.first) {
        lane = laneOf[chainOf[e.c]];
        a = bottom[chainOf[e.c]] + 1;
        b = rp - 1;
      } else {
        lane = laneOf[chainOf[e.p]];
        a = rc + 1;
        b = top[chainOf[e.p]] - 1;
      }
      if (a > b) return;
      e.elided = !claim(taken[lane], a, b);
    });
    return { items: items, rowOf: rowOf, laneOf: laneOf, lanes: Math.max(1, laneEnd.length), edges: edges };
  }

  /** Add [a, b] to a lane's sorted disjoint intervals if it overlaps none; true if added. */
  function claim(intervals, a, b) {
    var lo = 0, hi = intervals.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (intervals[mid][1] < a) lo = mid + 1; else hi = mid;
    }
    if (lo < intervals.length && intervals[lo][0] <= b) return false;
    intervals.splice(lo, 0, [a, b]);
    return true;
  }

  function laneX(lane) {
    return PAD + lane * LANE;
  }

  function rowY(row) {
    return row * ROW + ROW / 2;
  }

  /** Path strings per chunk, grouped by stroke class. */
  function edgePaths(L) {
    var chunks = new Map();
    function add(r0, r1, cls, d) {
      for (var ch = Math.floor(r0 / CHUNK); ch <= Math.floor(r1 / CHUNK); ch++) {
        var groups = chunks.get(ch);
        if (!groups) chunks.set(ch, (groups = new Map()));
        var list = groups.get(cls);
        if (!list) groups.set(cls, (list = []));
        list.push(d);
      }
    }
    var stubs = new Map(); // row -> [text]
    L.edges.forEach(function (e) {
      var child = versions[e.c];
      var rc = L.rowOf[e.c];
      var rp = L.rowOf[e.p];
      var xc = laneX(L.laneOf[chainOf[e.c]]);
      var xp = laneX(L.laneOf[chainOf[e.p]]);
      var yc = rowY(rc);
      var yp = rowY(rp);
      var cls = child.kind + "|" + (e.first ? "main" : "side");
      if (e.same) {
        add(rc, rp, cls, "M" + xc + " " + yc + "V" + yp);
      } else if (e.elided) {
        var other = versions[e.p];
        if (e.first) {
          add(rc, rc + 1, cls + "|stub", "M" + xc + " " + yc + "v" + ROW * 0.48);
          add(rp - 1, rp, cls + "|stub", "M" + xp + " " + yp + "l" + LANE * 0.7 + " " + -ROW * 0.48);
          push(stubs, rc, "\u21b3 from " + other.short);
        } else {
          add(rc, rc + 1, cls + "|stub", "M" + xc + " " + yc + "l" + LANE * 0.7 + " " + ROW * 0.48);
          add(rp - 1, rp, cls + "|stub", "M" + xp + " " + yp + "v" + -ROW * 0.48);
          push(stubs, rc, "\u21b2 merges " + other.short);
          push(stubs, rp, "\u21b1 merged into " + child.short);
        }
      } else if (e.first) {
        // Up the child's lane to one row above the parent, then curve into the parent.
        var ym = yp - ROW;
        add(rc, rp, cls,
          "M" + xc + " " + yc + "V" + ym + "C" + xc + " " + (ym + ROW / 2) + " " + xp + " " +
          (yp - ROW / 2) + " " + xp + " " + yp);
      } else {
        // Up the parent's lane to one row below the child, then curve into the child.
        var yn = yc + ROW;
        add(rc, rp, cls,
          "M" + xp + " " + yp + "V" + yn + "C" + xp + " " + (yn - ROW / 2) + " " + xc + " " +
          (yc + ROW / 2) + " " + xc + " " + yc);
      }
    });
    return { chunks: chunks, stubs: stubs };
  }

  // -- lineage rendering -----------------------------------------------------------------

  var listEl, detailsEl, diffEl, chartsEl, tooltipEl, countEl;
  var rowEls = []; // item row -> element (undefined until its chunk is built)
  var chunks = []; // {el, start, end, g: the chunk's <g>, null until built}
  var paths = null; // edgePaths(layout)
  var observer = null;
  var graphWidth = 0;
  var shown = -1; // the version in the details pane
  var selA = -1; // compare: from
  var selB = -1; // compare: to
  var focusRow = 0;

  function renderLineage() {
    var scroll = listEl.scrollTop;
    layout = computeLayout();
    var L = layout;
    graphWidth = laneX(L.lanes - 1) + PAD;
    paths = edgePaths(L);
    listEl.style.setProperty("--graph-w", graphWidth + "px");
    if (observer) observer.disconnect();
    observer = typeof IntersectionObserver === "function"
      ? new IntersectionObserver(onChunksVisible, { root: listEl, rootMargin: "800px 0px" })
      : null;
    var frag = document.createDocumentFragment();
    rowEls = new Array(L.items.length);
    chunks = [];
    for (var start = 0; start < L.items.length; start += CHUNK) {
      var end = Math.min(start + CHUNK, L.items.length);
      var height = (end - start) * ROW;
      var div = el("div", { class: "chunk", role: "presentation", "data-chunk": chunks.length });
      div.style.height = height + "px";
      div.style.containIntrinsicSize = "auto " + height + "px";
      chunks.push({ el: div, start: start, end: end, g: null });
      frag.appendChild(div);
    }
    clear(listEl).appendChild(frag);
    listEl.scrollTop = scroll;
    // Rows on screen are built now, so the page is whole when the script ends; the others
    // when they come near the viewport (a 10,000-row DOM would cost a second to build).
    var first = Math.floor(listEl.scrollTop / ROW / CHUNK);
    var last = Math.floor((listEl.scrollTop + listEl.clientHeight) / ROW / CHUNK);
    for (var ch = first; ch <= Math.min(last, chunks.length - 1); ch++) buildChunk(chunks[ch]);
    chunks.forEach(function (c) {
      if (c.g) return;
      if (observer) observer.observe(c.el);
      else buildChunk(c);
    });
    if (focusRow >= L.items.length) focusRow = Math.max(0, L.items.length - 1);
    var focused = rowEl(focusRow);
    if (focused) focused.tabIndex = 0;
    markSelection();
    countEl.textContent =
      plural(L.items.length, "row") + " for " + plural(versions.length, "version") +
      (L.items.length < versions.length ? " (linear runs collapsed)" : "");
  }

  function onChunksVisible(entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) return;
      var c = chunks[Number(entry.target.getAttribute("data-chunk"))];
      if (c && c.el === entry.target) buildChunk(c);
    });
  }

  /** The rows and lines of one chunk. */
  function buildChunk(c) {
    if (c.g) return;
    if (observer) observer.unobserve(c.el);
    var g = svgEl("g", { transform: "translate(0 " + -c.start * ROW + ")" });
    var groups = paths.chunks.get(c.start / CHUNK);
    if (groups) {
      groups.forEach(function (list, key) {
        var parts = key.split("|");
        var path = svgEl("path", {
          d: list.join(""),
          fill: "none",
          "stroke-width": parts[1] === "main" ? 2 : 1.4,
          "stroke-dasharray": parts[2] ? "3 3" : null,
          "stroke-linecap": "round",
        });
        path.style.stroke = kindVar(parts[0]);
        g.appendChild(path);
      });
    }
    var frag = document.createDocumentFragment();
    var primary = D.primary_metric;
    for (var r = c.start; r < c.end; r++) {
      var item = layout.items[r];
      var row = item.run ? runRow(item, r, g) : versionRow(item.i, r, g, primary, paths.stubs.get(r));
      rowEls[r] = row;
      frag.appendChild(row);
    }
    c.el.appendChild(svgEl("svg", { width: graphWidth, height: (c.end - c.start) * ROW, "aria-hidden": "true" }, g));
    c.el.appendChild(frag);
    c.g = g;
  }

  /** The element of row r, building its chunk first if needed. */
  function rowEl(r) {
    if (r < 0 || r >= rowEls.length) return null;
    if (!rowEls[r]) buildChunk(chunks[Math.floor(r / CHUNK)]);
    return rowEls[r];
  }

  function versionRow(i, r, g, primary, stubs) {
    var v = versions[i];
    if (v.run) return elidedRow(i, r, g);
    var x = laneX(layout.laneOf[chainOf[i]]);
    var onSpine = chainOf[i] === 0;
    var ring = v.status !== "committed";
    var circle = svgEl("circle", {
      cx: x, cy: rowY(r), r: onSpine ? 5 : 4.5, "stroke-width": ring ? 2 : 1.5,
    });
    circle.style.fill = ring ? "var(--panel)" : kindVar(v.kind);
    circle.style.stroke = ring ? "var(--bad)" : "var(--panel)";
    g.appendChild(circle);
    var row = el("div", {
      class: "row", role: "option", tabindex: -1, "aria-selected": "false",
      "data-id": v.id, "data-row": r,
    });
    var chips = el("span", { class: "chips" });
    append(row, [
      el("span", { class: "id mono", text: v.short }),
      v.name ? el("span", { class: "name", text: v.name }) : null,
      chips,
      el("span", {
        class: "value",
        text: primary && has(v.metrics, primary) ? fmtNum(v.metrics[primary]) : "",
        title: primary && has(v.metrics, primary) ? primary : null,
      }),
      el("span", { class: "date", text: fmtDate(v.created_at) }),
    ]);
    append(chips, [
      v.kind !== "update" ? kindBadge(v.kind) : null,
      v.aliases.map(function (a) { return el("span", { class: "chip alias", text: a }); }),
      v.status !== "committed" ? el("span", { class: "badge status", text: v.status }) : null,
      (suspectsOf.get(v.id) || []).slice(0, 2).map(function (s) {
        return el("span", {
          class: "badge suspect", text: "#" + s.step.rank + " " + s.metric,
          title: "blame suspect #" + s.step.rank + " for " + s.metric + ": " + suspectScore(s.step) +
            " (suspects: \u2265 " + fmtNum(suspectNoise()) + " noise units)",
        });
      }),
      insightBadges(v.id),
      v.all_tags.slice(0, 3).map(function (t) { return el("span", { class: "chip", text: t }); }),
      v.all_tags.length > 3 ? el("span", { class: "chip", text: "+" + (v.all_tags.length - 3) }) : null,
      (stubs || []).map(function (s) { return el("span", { class: "stub", text: s }); }),
    ]);
    return row;
  }

  /** A stretch of versions a compact report does not embed: one row, drawn as a pill. */
  function elidedRow(i, r, g) {
    var v = versions[i];
    var x = laneX(layout.laneOf[chainOf[i]]);
    var pill = svgEl("rect", { x: x - 4, y: r * ROW + 4, width: 8, height: ROW - 8, rx: 4 });
    pill.style.fill = "var(--chip)";
    pill.style.stroke = kindVar("update");
    pill.style.strokeDasharray = "2 2";
    g.appendChild(pill);
    return el("div", {
      class: "row run elided", role: "option", tabindex: -1, "aria-selected": "false",
      "data-id": v.id, "data-row": r, title: "Not embedded in this report: mlineage show ID or mlineage ui",
    },
      el("span", { class: "expand", text: plural(v.run.count, "version") + " not embedded" }),
      el("span", { class: "muted", text: "(" + fmtDate(v.run.from) + " \u2192 " + fmtDate(v.run.to) + ")" }));
  }

  function kindBadge(kind) {
    var badge = el("span", { class: "badge kind", text: kind });
    badge.style.color = kindVar(kind);
    return badge;
  }

  function runRow(item, r, g) {
    var newest = versions[item.run[0]];
    var oldest = versions[item.run[item.run.length - 1]];
    var x = laneX(layout.laneOf[chainOf[item.run[0]]]);
    var pill = svgEl("rect", { x: x - 4, y: r * ROW + 4, width: 8, height: ROW - 8, rx: 4 });
    pill.style.fill = "var(--panel)";
    pill.style.stroke = kindVar("update");
    pill.style.strokeWidth = "2";
    g.appendChild(pill);
    var text =
      plural(item.run.length, "version") + " (" + oldest.short + " \u2026 " + newest.short +
      ", " + fmtDate(oldest.created_at) + " \u2192 " + fmtDate(newest.created_at) + ")";
    var row = el("div", {
      class: "row run", role: "option", tabindex: -1, "aria-selected": "false",
      "aria-expanded": "false", "data-run": item.key, "data-row": r,
      title: "A linear run of updates; Enter or click to expand",
    },
      el("span", { class: "expand", text: "\u25b8 " + plural(item.run.length, "version") }),
      el("span", { text: text.slice(text.indexOf("(")) }));
    return row;
  }

  function rowOfVersion(i) {
    return layout ? layout.rowOf[i] : -1;
  }

  function markSelection() {
    document.querySelectorAll(".row[aria-selected='true'], .row.is-a, .row.is-b").forEach(function (row) {
      row.setAttribute("aria-selected", "false");
      row.classList.remove("is-a", "is-b");
    });
    document.querySelectorAll("circle.ring").forEach(function (ring) {
      ring.parentNode.removeChild(ring);
    });
    var row = shown >= 0 ? rowEl(rowOfVersion(shown)) : null;
    if (row && !layout.items[rowOfVersion(shown)].run) row.setAttribute("aria-selected", "true");
    [[selA, "node-selected", "is-a"], [selB, "node-b", "is-b"]].forEach(function (pair) {
      var i = pair[0];
      if (i < 0) return;
      var r = rowOfVersion(i);
      var row = rowEl(r);
      if (!row || layout.items[r].run) return;
      row.classList.add(pair[2]);
      var ring = svgEl("circle", {
        class: "ring " + pair[1], cx: laneX(layout.laneOf[chainOf[i]]), cy: rowY(r), r: 8,
        fill: "none",
      });
      chunks[Math.floor(r / CHUNK)].g.appendChild(ring);
    });
  }

  /** Make version i visible (expanding the run that hides it); returns its row. */
  function reveal(i) {
    var r = rowOfVersion(i);
    var item = layout.items[r];
    if (item && item.run) {
      expanded.add(item.key);
      renderLineage();
      r = rowOfVersion(i);
    }
    return r;
  }

  function scrollToRow(r) {
    var y = r * ROW;
    if (y < listEl.scrollTop || y + ROW > listEl.scrollTop + listEl.clientHeight) {
      listEl.scrollTop = Math.max(0, y - listEl.clientHeight / 2);
    }
  }

  function setFocusRow(r, focus) {
    if (!rowEls.length) return;
    r = Math.max(0, Math.min(rowEls.length - 1, r));
    if (rowEls[focusRow]) rowEls[focusRow].tabIndex = -1;
    focusRow = r;
    var row = rowEl(r);
    row.tabIndex = 0;
    scrollToRow(r);
    if (focus) row.focus({ preventScroll: true });
  }

  function select(i, opts) {
    opts = opts || {};
    if (i === undefined || i < 0) return;
    var r = reveal(i);
    shown = selA = i;
    if (selB === i) selB = -1;
    markSelection();
    setFocusRow(r, !!opts.focus);
    renderDetails();
    renderDiff();
    updateChartSelection();
    try {
      history.replaceState(null, "", "#" + versions[i].id);
    } catch (err) {
      // Some browsers refuse history changes on pages opened from disk; the hash is a nicety.
    }
  }

  /** Compare version i with its first parent (A = parent, B = i), keeping i's details. */
  function compareWithParent(i) {
    var parent = byId.get(versions[i].parents[0]);
    reveal(parent);
    select(i);
    selA = parent;
    selB = i;
    markSelection();
    renderDiff();
    diffEl.scrollIntoView({ block: "nearest" });
  }

  function selectB(i, opts) {
    opts = opts || {};
    if (i === undefined || i < 0) return;
    var r = reveal(i);
    if (i === selA) return;
    selB = i;
    markSelection();
    setFocusRow(r, !!opts.focus);
    renderDiff();
    if (opts.scrollDiff) diffEl.scrollIntoView({ block: "nearest" });
  }

  function expandRun(key) {
    expanded.add(key);
    var r = focusRow;
    renderLineage();
    setFocusRow(r, true);
  }

  function onListClick(event) {
    var row = event.target.closest(".row");
    if (!row) return;
    var r = Number(row.getAttribute("data-row"));
    var item = layout.items[r];
    if (item.run) {
      focusRow = r;
      expandRun(item.key);
    } else if (event.shiftKey) {
      selectB(item.i);
    } else {
      select(item.i);
    }
  }

  function onListKey(event) {
    var moves = { ArrowDown: 1, ArrowUp: -1, PageDown: 20, PageUp: -20 };
    if (has(moves, event.key)) {
      setFocusRow(focusRow + moves[event.key], true);
    } else if (event.key === "Home") {
      setFocusRow(0, true);
    } else if (event.key === "End") {
      setFocusRow(rowEls.length - 1, true);
    } else if (event.key === "Enter" || event.key === " ") {
      var item = layout.items[focusRow];
      if (!item) return;
      if (item.run) expandRun(item.key);
      else if (event.shiftKey) selectB(item.i, { focus: true });
      else select(item.i, { focus: true });
    } else {
      return;
    }
    event.preventDefault();
  }

  function onListFocus(event) {
    var row = event.target.closest && event.target.closest(".row");
    if (row) {
      var r = Number(row.getAttribute("data-row"));
      if (r !== focusRow) {
        if (rowEls[focusRow]) rowEls[focusRow].tabIndex = -1;
        focusRow = r;
        row.tabIndex = 0;
      }
    }
  }

  // -- details ---------------------------------------------------------------------------

  function versionLink(id, text) {
    var i = byId.get(id);
    if (i === undefined) return el("span", { class: "mono", text: text || id });
    return el("button", {
      class: "link", type: "button", text: text || label(versions[i]), "data-id": id,
      onclick: function () { select(i, { focus: false }); },
    });
  }

  function kvTable(rows) {
    var table = el("table", { class: "kv" });
    rows.forEach(function (row) {
      if (!row) return;
      var value = row[1];
      table.appendChild(el("tr", null, el("th", { text: row[0] }),
        el("td", null, value === null || value === undefined || value === "" ? "\u2014" : value)));
    });
    return table;
  }

  function section(title, content) {
    return [el("h3", { text: title }), content];
  }

  function metricDirection(name) {
    var info = metricInfo.get(name);
    return info ? info.direction : "decrease";
  }

  function deltaCell(name, delta) {
    var cls = "num";
    if (typeof delta === "number" && delta !== 0) {
      var worse = metricDirection(name) === "decrease" ? delta < 0 : delta > 0;
      cls += worse ? " bad" : " good";
    }
    return el("td", { class: cls, text: fmtDelta(delta) });
  }

  function environmentRows(ref) {
    if (!ref) return el("p", { class: "empty", text: "No environment captured for this version." });
    var env = own(D.environments, ref);
    if (!env || env.error) {
      return el("p", { class: "notice", text: "Environment unavailable: " + (env ? env.error : "missing") });
    }
    var git = env.git_commit
      ? env.git_commit + (env.git_dirty ? " (uncommitted changes)" : "") +
        (env.git_branch ? " on " + env.git_branch : "")
      : null;
    return kvTable([
      ["Python", (env.implementation + " " + env.python_version).trim()],
      ["Platform", env.platform + (env.machine ? " (" + env.machine + ")" : "")],
      ["Git commit", git],
      ["Packages", plural(Object.keys(env.packages).length, "package")],
      env.torch_version ? ["torch", env.torch_version] : null,
      env.cuda_version ? ["CUDA", env.cuda_version] : null,
      ["Blob", el("span", { class: "mono", text: ref })],
    ]);
  }

  // -- what each version's analyses say (insights) -----------------------------------------

  /** The insights of version id (badges, headline, drift, behaviour, evidence), or null. */
  function insight(id) {
    return own(D.insights, id) || null;
  }

  function suspectNoise() {
    return D.thresholds ? D.thresholds.suspect_noise : 3;
  }

  function suspectScore(step) {
    return typeof step.score === "number" ? fmtScore(step.score) + " noise units" : "no noise estimate";
  }

  function insightBadges(id) {
    var info = insight(id);
    if (!info) return null;
    return info.badges.map(function (b) {
      return el("span", { class: "badge insight b-" + b.kind, text: b.text, title: b.title, "data-badge": b.kind });
    });
  }

  function headlineEl(v) {
    var info = insight(v.id);
    var text = info ? info.headline
      : v.parents.length ? "No analysis flags this step (no anomaly, shift, suspect or evidence)." +
        (D.insights_scope ? " " + D.insights_scope : "")
      : "First version: nothing to compare it with.";
    return el("p", { class: info ? "headline" : "headline quiet", id: "headline", text: text });
  }

  function pctText(x) {
    return typeof x === "number" ? (100 * x).toFixed(1) + " %" : "\u2014";
  }

  function verdictList(lines) {
    return el("ul", { class: "verdicts" }, lines.map(function (line) { return el("li", { text: line }); }));
  }

  function driftBlock(d) {
    var rows = d.features.map(function (f) {
      return el("tr", { class: f.drifted ? "drifted" : null, "data-feature": f.name },
        el("td", null, el("span", { class: "fname", text: f.name, title: f.name }),
          f.drifted ? el("span", { class: "badge b-drift", text: "drifted" }) : null),
        el("td", { class: "num", text: (f.test === "chi2" ? "\u03c7\u00b2 " : f.test.toUpperCase() + " ") + fmtNum(round3(f.statistic)) }),
        el("td", { class: "num", text: f.psi === null ? "\u2014" : fmtNum(round3(f.psi)) }),
        el("td", null, distPlot(f.plot)));
    });
    var label = d.label ? [el("p", { class: d.label.drifted ? "label-line bad" : "label-line", id: "label-line",
      text: d.verdict[d.verdict.length - 1] }), distPlot(d.label.plot)] : null;
    return [
      verdictList(label ? d.verdict.slice(0, -1) : d.verdict),
      label,
      el("div", { class: "table-wrap" }, el("table", { class: "grid features" },
        el("tr", null, el("th", { text: "feature" }), el("th", { class: "num", text: "test" }),
          el("th", { class: "num", text: "PSI" }), el("th", { text: "reference vs current" })),
        rows)),
    ];
  }

  function round3(x) {
    return typeof x === "number" ? Number(x.toPrecision(3)) : x;
  }

  function behaviourBlock(b) {
    var lines = [
      "churn " + pctText(b.churn) + " of " + fmtCount(b.n) + " probe answers changed" +
        (b.nfr !== null && b.nfr !== undefined ? " \u00b7 NFR " + pctText(b.nfr) + " (right before, wrong now)" : "") +
        (typeof b.pfr === "number" ? " \u00b7 PFR " + pctText(b.pfr) : ""),
      "linear CKA " + (typeof b.cka === "number" ? b.cka.toFixed(3) : "\u2014") +
        (typeof b.ece_before === "number" ? " \u00b7 ECE " + fmtNum(round3(b.ece_before)) + " \u2192 " + fmtNum(round3(b.ece_after)) : ""),
    ];
    if (b.moved) {
      lines.push(b.silent ? "silent shift: behaviour moved (" + b.moved.join(", ") + ") while every metric stayed within its noise"
        : b.moved.length ? "behaviour moved: " + b.moved.join(", ") + (b.outside.length ? "; metrics moved too: " + b.outside.join(", ") : "")
        : "behaviour within thresholds");
      lines.push(b.rule);
    }
    var out = [verdictList(lines)];
    if (b.calibration) out.push(el("p", { class: "muted", text: "Reliability (predicted confidence vs observed accuracy, ECE " + fmtNum(round3(b.calibration.ece)) + "):" }), reliability(b.calibration));
    if (b.groups && b.groups.length) {
      out.push(el("table", { class: "grid slices" },
        el("tr", null, el("th", { text: "slice" }), el("th", { class: "num", text: "n" }),
          el("th", { class: "num", text: "accuracy" }), el("th", { class: "num", text: "\u0394" }),
          el("th", { class: "num", text: "NFR" })),
        b.groups.map(function (g) {
          var cls = "num" + (typeof g.delta === "number" && g.delta !== 0 ? (g.delta < 0 ? " bad" : " good") : "");
          return el("tr", null, el("td", { text: g.group }), el("td", { class: "num", text: fmtCount(g.n) }),
            el("td", { class: "num", text: fmtNum(g.accuracy_old) + " \u2192 " + fmtNum(g.accuracy_new) }),
            el("td", { class: cls, text: fmtDelta(g.delta) }), el("td", { class: "num", text: pctText(g.nfr) }));
        })));
    }
    return out;
  }

  function evidenceBlock(list) {
    return el("ul", { class: "verdicts" }, list.map(function (e) {
      var g = e.gate;
      var text = g ? "gate " + g.decision + (g.alias ? " (" + g.alias + ")" : "") +
        (g.failed.length ? ": failed " + g.failed.join(", ") : "")
        : e.kind + (e.tool ? " from " + e.tool : "") + (typeof e.drift_share === "number" ? ", drift share " + fmtNum(e.drift_share) : "");
      return el("li", { class: g ? (g.passed ? "good" : "bad") : null },
        el("span", { text: text }), el("span", { class: "muted", text: " \u00b7 " + fmtDate(e.recorded) + " \u00b7 " }),
        el("a", { href: "#evidence-" + e.event, text: "event " + e.event.slice(0, 12), onclick: function () {
          var node = document.getElementById("evidence-" + e.event);
          if (node) node.open = true;
        } }));
    }));
  }

  function explainVersion(v) {
    var info = insight(v.id);
    if (!info) return;
    var parentName = function (id) { var i = byId.get(id); return i === undefined ? id : label(versions[i]); };
    if (info.drift) append(detailsEl, section("Data drift vs " + parentName(info.drift.reference), el("div", { id: "details-drift" }, driftBlock(info.drift))));
    if (info.behaviour) append(detailsEl, section("Behaviour vs " + parentName(info.behaviour.previous), el("div", { id: "details-behaviour" }, behaviourBlock(info.behaviour))));
    if (info.evidence) append(detailsEl, section("Evidence and gate verdicts", evidenceBlock(info.evidence)));
  }

  /** A reference-vs-current distribution: histogram bars or category bars (new marked). */
  function distPlot(plot) {
    if (!plot) return el("span", { class: "muted", text: "no profile to draw" });
    var W = 200, H = 64, B = 16;
    var n = plot.ref.length;
    var max = 0;
    for (var i = 0; i < n; i++) max = Math.max(max, plot.ref[i], plot.cur[i]);
    max = max || 1;
    var svg = svgEl("svg", { class: "dist", width: W, height: H + B, viewBox: "0 0 " + W + " " + (H + B), role: "img",
      "aria-label": "reference (outline) vs current (filled) distribution" });
    var bw = W / n;
    for (i = 0; i < n; i++) {
      var hc = (plot.cur[i] / max) * H;
      var hr = (plot.ref[i] / max) * H;
      var isNew = plot.kind === "categorical" && plot["new"].indexOf(plot.categories[i]) >= 0;
      svg.appendChild(svgEl("rect", { class: isNew ? "cur new" : "cur", x: i * bw + 1, y: H - hc, width: Math.max(1, bw - 2), height: hc }));
      svg.appendChild(svgEl("rect", { class: "ref", x: i * bw + 1, y: H - hr, width: Math.max(1, bw - 2), height: hr }));
    }
    var labels = plot.kind === "numeric" ? [fmtNum(plot.edges[0]), fmtNum(plot.edges[plot.edges.length - 1])]
      : [plot.categories[0], plot.categories[n - 1]];
    svg.appendChild(svgEl("text", { x: 0, y: H + 12, text: String(labels[0]).slice(0, 14) }));
    svg.appendChild(svgEl("text", { x: W, y: H + 12, "text-anchor": "end", text: String(labels[1]).slice(0, 14) }));
    var wrap = el("div", { class: "dist-wrap" }, svg);
    if (plot.kind === "categorical" && plot["new"].length) {
      wrap.appendChild(el("div", { class: "muted new-cats", text: "new: " + plot["new"].join(", ") }));
    }
    return wrap;
  }

  function reliability(cal) {
    var S = 180, P = 26;
    var svg = svgEl("svg", { class: "reliability", width: S + P, height: S + P, viewBox: "0 0 " + (S + P) + " " + (S + P),
      role: "img", "aria-label": "reliability diagram" });
    var x = function (c) { return P + c * S; };
    var y = function (a) { return S - a * S; };
    svg.appendChild(svgEl("line", { class: "axis", x1: P, y1: S, x2: P + S, y2: S }));
    svg.appendChild(svgEl("line", { class: "axis", x1: P, y1: 0, x2: P, y2: S }));
    svg.appendChild(svgEl("line", { class: "diag", x1: x(0), y1: y(0), x2: x(1), y2: y(1) }));
    var pts = [];
    cal.confidence.forEach(function (c, i) {
      if (typeof c === "number" && typeof cal.accuracy[i] === "number" && cal.count[i] > 0) pts.push([c, cal.accuracy[i]]);
    });
    svg.appendChild(svgEl("polyline", { class: "line", points: pts.map(function (p) { return x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1); }).join(" ") }));
    pts.forEach(function (p) { svg.appendChild(svgEl("circle", { class: "pt", cx: x(p[0]), cy: y(p[1]), r: 2.6 })); });
    svg.appendChild(svgEl("text", { x: P, y: S + 14, text: "0" }));
    svg.appendChild(svgEl("text", { x: P + S, y: S + 14, "text-anchor": "end", text: "confidence 1" }));
    svg.appendChild(svgEl("text", { x: P - 4, y: 11, "text-anchor": "end", text: "1" }));
    return svg;
  }

  /** Drift and behaviour between A and B: a first-parent step's own analyses, or those
   *  precomputed between the aliases' versions; otherwise say they are not available. */
  function compareAnalyses(a, b) {
    var found = null, note = "";
    var infoB = insight(b.id), infoA = insight(a.id);
    if (b.parents[0] === a.id && infoB) found = { drift: infoB.drift || null, behaviour: infoB.behaviour || null };
    else if (a.parents[0] === b.id && infoA) {
      found = { drift: infoA.drift || null, behaviour: infoA.behaviour || null };
      note = "Computed from B to A (B is A's parent).";
    } else if (has(D.compare, a.id + "|" + b.id)) found = D.compare[a.id + "|" + b.id];
    else if (has(D.compare, b.id + "|" + a.id)) {
      found = D.compare[b.id + "|" + a.id];
      note = "Computed from B to A (B is the older).";
    }
    var out = [];
    var how = "Precomputed for a version and its first parent, and between the aliases' versions; for any other pair run " +
      "mlineage drift MODEL A B or tracker.analysis.drift(a, b) / tracker.analysis.compare(a, b).";
    if (note) out.push(el("p", { class: "muted", text: note }));
    out.push(section("Data drift", found && found.drift ? el("div", { id: "diff-drift" }, driftBlock(found.drift))
      : el("p", { class: "empty", id: "diff-drift", text: "Not available: " + (found ? "no data profiles on both versions. " : "") + how })));
    out.push(section("Behaviour", found && found.behaviour ? el("div", { id: "diff-behaviour" }, behaviourBlock(found.behaviour))
      : el("p", { class: "empty", id: "diff-behaviour", text: "Not available: " + (found ? "no fingerprints on a shared probe set. " : "") + how })));
    return out;
  }

  /** The details of a version (or run of versions) a compact report does not embed. */
  function notEmbedded(v) {
    var children = kids[shown].map(function (k) { return versions[k.i].id; });
    var title = v.run ? plural(v.run.count, "version") + " not embedded" : v.name || "Version " + v.short;
    var ids = v.run ? v.run.first + " \u2026 " + v.run.last : v.id;
    append(detailsEl, [
      el("h2", { id: "details-title", text: title }),
      el("p", { class: "mono muted", text: ids }),
      el("p", { class: "notice", id: "not-embedded", text: "This report embeds the full record of " +
        fmtCount(D.compact ? D.compact.detailed : versions.length) + " of " + fmtCount(D.compact ? D.compact.versions : versions.length) +
        " versions: those a reader opens (aliases, suspects, flagged steps, branch tips, the most recent). Read " +
        (v.run ? "these" : "this one") + " with mlineage show " + (v.run ? v.run.first : v.id) + " or browse them with mlineage ui." }),
      kvTable([
        v.run ? ["Created", fmtDateLong(v.run.from) + " \u2192 " + fmtDateLong(v.run.to)] : ["Created", fmtDateLong(v.created_at)],
        v.run ? null : ["Kind", v.kind],
        ["Parents", v.parents.length ? v.parents.map(function (p, k) { return [k ? ", " : "", versionLink(p)]; }) : "none (a root)"],
        ["Children", children.length ? children.map(function (c, k) { return [k ? ", " : "", versionLink(c)]; }) : "none (a branch tip)"],
        D.primary_metric && has(v.metrics, D.primary_metric) ? [D.primary_metric, fmtNum(v.metrics[D.primary_metric])] : null,
      ]),
    ]);
  }

  function renderDetails() {
    clear(detailsEl);
    if (shown < 0) {
      detailsEl.appendChild(el("p", { class: "empty", text: "Select a version to see its record." }));
      return;
    }
    var v = versions[shown];
    if (v.run || v.stub) {
      notEmbedded(v);
      return;
    }
    var parent = v.parents.length ? byId.get(v.parents[0]) : undefined;
    var parentV = parent === undefined ? null : versions[parent];
    var children = kids[shown].map(function (k) { return versions[k.i].id; });
    append(detailsEl, [
      el("h2", { id: "details-title", text: v.name || "Version " + v.short }),
      el("p", { class: "mono muted", text: v.id }),
      headlineEl(v),
      el("p", null,
        kindBadge(v.kind), " ",
        v.status !== "committed" ? el("span", { class: "badge status", text: v.status }) : null, " ",
        v.aliases.map(function (a) { return [el("span", { class: "chip alias", text: a }), " "]; }),
        el("span", { class: "muted", text: chainOf[shown] === 0 ? "main line" : "branch" })),
      el("div", { class: "actions" },
        parentV ? el("button", {
          type: "button", text: "Compare with parent",
          onclick: function () { compareWithParent(byId.get(v.id)); },
        }) : null,
        el("button", {
          type: "button", text: "Compare: set as B",
          title: "Shift-click a version (or Shift+Enter) does the same",
          onclick: function () { selectB(byId.get(v.id), { scrollDiff: true }); },
        })),
    ]);
    (suspectsOf.get(v.id) || []).forEach(function (s) {
      var st = s.step;
      detailsEl.appendChild(el("p", { class: "notice" },
        "Blame suspect #" + st.rank + " for ", el("b", { text: s.metric }), ": " +
        fmtNum(st.before) + " \u2192 " + fmtNum(st.after) + " (" + fmtDelta(st.delta) + ", " +
        suspectScore(st) + "; suspects: \u2265 " + fmtNum(suspectNoise()) + " noise units)"));
    });
    (pointsOf.get(v.id) || []).forEach(function (c) {
      detailsEl.appendChild(el("p", { class: "notice" }, "Change point in ", el("b", { text: c.metric })));
    });
    explainVersion(v);
    var art = v.artifact;
    append(detailsEl, section("Record", kvTable([
      ["Created", fmtDateLong(v.created_at)],
      v.started_at ? ["Started", fmtDateLong(v.started_at)] : null,
      ["Kind", v.kind],
      ["Status", v.status],
      ["Parents", v.parents.length ? v.parents.map(function (p, k) {
        return [k ? ", " : "", versionLink(p)];
      }) : "none (a root)"],
      ["Children", children.length ? children.map(function (c, k) {
        return [k ? ", " : "", versionLink(c)];
      }) : "none (a branch tip)"],
      ["Checkpoint", el("span", { class: "mono", text: v.model_path })],
      ["Checkpoint hash", art ? el("span", { class: "mono", text: art.hash }) : "not hashed"],
      art ? ["Checkpoint size", fmtBytes(art.size) + " \u00b7 " + art.kind +
        (art.archived ? " \u00b7 archived in the store" : " \u00b7 not archived")] : null,
    ])));
    var metricNames = Object.keys(v.metrics).sort();
    append(detailsEl, section("Metrics", metricNames.length ? el("table", { class: "grid" },
      el("tr", null, el("th", { text: "metric" }), el("th", { class: "num", text: "value" }),
        el("th", { class: "num", text: "\u0394 vs first parent" })),
      metricNames.map(function (m) {
        var d = parentV && has(parentV.metrics, m) ? v.metrics[m] - parentV.metrics[m] : null;
        return el("tr", null, el("td", { text: m }), el("td", { class: "num", text: fmtNum(v.metrics[m]) }),
          deltaCell(m, d));
      })) : el("p", { class: "empty", text: "No metrics recorded." })));
    var hp = Object.keys(v.hyperparameters).sort();
    append(detailsEl, section("Hyperparameters", hp.length ? el("table", { class: "grid" },
      hp.map(function (k) {
        return el("tr", null, el("td", { text: k }), el("td", { class: "mono", text: jsonText(v.hyperparameters[k]) }));
      })) : el("p", { class: "empty", text: "No hyperparameters recorded." })));
    var ds = v.dataset;
    append(detailsEl, section("Data snapshot", kvTable([
      ["Path", ds.path ? el("span", { class: "mono", text: ds.path }) : null],
      ["Hash", el("span", { class: "mono", text: ds.hash })],
      ["Source", ds.source],
      ds.size !== null ? ["Size", fmtBytes(ds.size)] : null,
      ds.num_files !== null ? ["Files", fmtCount(ds.num_files)] : null,
      ds.num_rows !== null ? ["Rows", fmtCount(ds.num_rows)] : null,
      ds.columns ? ["Columns", el("span", { class: "mono", text: jsonText(ds.columns) })] : null,
      ds.manifest ? ["Manifest", el("span", { class: "mono", text: ds.manifest })] : null,
    ])));
    append(detailsEl, section("Environment", environmentRows(v.environment_ref)));
    append(detailsEl, section("Notes", v.notes ? el("p", { class: "notes", text: v.notes })
      : el("p", { class: "empty", text: "No notes." })));
    append(detailsEl, section("Tags", v.all_tags.length ? el("p", null, v.all_tags.map(function (t) {
      return [el("span", { class: "chip", text: t }), " "];
    })) : el("p", { class: "empty", text: "No tags." })));
    if (v.annotations.length) {
      append(detailsEl, section("Annotations", el("ul", null, v.annotations.map(function (a) {
        return el("li", null, el("span", { class: "muted", text: fmtDate(a.created_at) + " " }),
          a.notes ? el("span", { class: "notes", text: a.notes }) : null,
          a.tags.map(function (t) { return [" ", el("span", { class: "chip", text: t })]; }));
      }))));
    }
    var moves = aliasMovesOf.get(v.id) || [];
    append(detailsEl, section("Aliases", moves.length ? el("ul", null, moves.map(function (m) {
      return el("li", null, el("span", { class: "chip alias", text: m.alias }),
        " pointed here from " + fmtDate(m.move.effective_at));
    })) : el("p", { class: "empty", text: "No alias has pointed here." })));
    if (Object.keys(v.metadata).length) {
      append(detailsEl, section("Metadata", el("pre", { class: "json", text: JSON.stringify(v.metadata, null, 2) })));
    }
  }

  // -- diff ------------------------------------------------------------------------------

  var inputA, inputB, compareMsg;

  function diffLine(cls, text) {
    return el("div", { class: "diff-line " + cls, text: text });
  }

  function dictDiff(a, b) {
    var out = { added: [], removed: [], changed: [] };
    Object.keys(b).sort().forEach(function (k) {
      if (!has(a, k)) out.added.push([k, b[k]]);
      else if (canonical(a[k]) !== canonical(b[k])) out.changed.push([k, a[k], b[k]]);
    });
    Object.keys(a).sort().forEach(function (k) {
      if (!has(b, k)) out.removed.push([k, a[k]]);
    });
    return out;
  }

  function envDiff(ea, eb) {
    var lines = [];
    function change(name, x, y) {
      if (x !== y) lines.push(diffLine("chg", "~ " + name + ": " + fmtVal(x) + " \u2192 " + fmtVal(y)));
    }
    function fmtVal(x) {
      return x === null || x === undefined || x === "" ? "none" : String(x);
    }
    change("python", (ea.implementation + " " + ea.python_version).trim(),
      (eb.implementation + " " + eb.python_version).trim());
    change("platform", ea.platform, eb.platform);
    change("git commit", ea.git_commit, eb.git_commit);
    change("git dirty", ea.git_dirty, eb.git_dirty);
    change("torch", ea.torch_version, eb.torch_version);
    change("cuda", ea.cuda_version, eb.cuda_version);
    var pd = dictDiff(ea.packages, eb.packages);
    pd.added.forEach(function (x) { lines.push(diffLine("add", "+ " + x[0] + "==" + x[1])); });
    pd.removed.forEach(function (x) { lines.push(diffLine("del", "- " + x[0] + "==" + x[1])); });
    pd.changed.forEach(function (x) {
      lines.push(diffLine("chg", "~ " + x[0] + " " + x[1] + " \u2192 " + x[2]));
    });
    return lines;
  }

  function renderDiff() {
    clear(diffEl);
    inputA.value = selA >= 0 ? versions[selA].name || versions[selA].short : "";
    inputB.value = selB >= 0 ? versions[selB].name || versions[selB].short : "";
    if (selA < 0 || selB < 0) {
      diffEl.appendChild(el("p", { class: "empty", text:
        "Click a version to make it A, then Shift-click another (or Shift+Enter, or type both " +
        "references above) to see what changed from A to B." }));
      return;
    }
    var a = versions[selA];
    var b = versions[selB];
    if (a.run || a.stub || b.run || b.stub) {
      diffEl.appendChild(el("p", { class: "empty", text: "Not available: " + ((a.run || a.stub) ? "A" : "B") +
        " is not embedded in this report; compare them with mlineage diff MODEL A B or in mlineage ui." }));
      return;
    }
    var relation = isAncestor(selA, selB) ? "A is an ancestor of B"
      : isAncestor(selB, selA) ? "B is an ancestor of A"
      : "neither is an ancestor of the other";
    append(diffEl, [
      el("p", null, el("span", { class: "tag-a", text: "A " }), versionLink(a.id), " \u2192 ",
        el("span", { class: "tag-b", text: "B " }), versionLink(b.id),
        el("span", { class: "muted", text: " \u00b7 " + relation })),
    ]);
    append(diffEl, compareAnalyses(a, b));
    var any = false;
    if (a.kind !== b.kind) {
      any = true;
      append(diffEl, section("Kind", diffLine("chg", "~ " + a.kind + " \u2192 " + b.kind)));
    }
    var hp = dictDiff(a.hyperparameters, b.hyperparameters);
    var hpLines = [].concat(
      hp.added.map(function (x) { return diffLine("add", "+ " + x[0] + " = " + jsonText(x[1])); }),
      hp.removed.map(function (x) { return diffLine("del", "- " + x[0] + " (was " + jsonText(x[1]) + ")"); }),
      hp.changed.map(function (x) {
        return diffLine("chg", "~ " + x[0] + ": " + jsonText(x[1]) + " \u2192 " + jsonText(x[2]));
      }));
    any = any || hpLines.length > 0;
    append(diffEl, section("Hyperparameters", hpLines.length ? el("div", { id: "diff-hyperparameters" }, hpLines)
      : el("p", { class: "empty", text: "Same hyperparameters." })));
    var names = Object.keys(a.metrics);
    Object.keys(b.metrics).forEach(function (m) { if (!has(a.metrics, m)) names.push(m); });
    names.sort();
    if (names.length) {
      append(diffEl, section("Metrics", el("table", { class: "grid", id: "diff-metrics" },
        el("tr", null, el("th", { text: "metric" }), el("th", { class: "num", text: "A" }),
          el("th", { class: "num", text: "B" }), el("th", { class: "num", text: "\u0394 (B \u2212 A)" })),
        names.map(function (m) {
          var x = own(a.metrics, m);
          var y = own(b.metrics, m);
          var d = typeof x === "number" && typeof y === "number" ? y - x : null;
          if (d !== 0) any = true;
          return el("tr", null, el("td", { text: m }), el("td", { class: "num", text: fmtNum(x) }),
            el("td", { class: "num", text: fmtNum(y) }), deltaCell(m, d));
        }))));
    }
    var da = a.dataset;
    var db = b.dataset;
    var dataLines = [];
    if (da.hash !== db.hash) dataLines.push(diffLine("chg", "~ hash " + da.hash + " \u2192 " + db.hash));
    if (da.path !== db.path) dataLines.push(diffLine("chg", "~ path " + (da.path || "none") + " \u2192 " + (db.path || "none")));
    if (da.num_rows !== db.num_rows) dataLines.push(diffLine("chg", "~ rows " + fmtCount(da.num_rows) + " \u2192 " + fmtCount(db.num_rows)));
    if (da.size !== db.size) dataLines.push(diffLine("chg", "~ size " + fmtBytes(da.size) + " \u2192 " + fmtBytes(db.size)));
    if (da.num_files !== db.num_files) dataLines.push(diffLine("chg", "~ files " + fmtCount(da.num_files) + " \u2192 " + fmtCount(db.num_files)));
    if (canonical(da.columns) !== canonical(db.columns)) dataLines.push(diffLine("chg", "~ columns " + jsonText(da.columns) + " \u2192 " + jsonText(db.columns)));
    any = any || dataLines.length > 0;
    append(diffEl, section("Data snapshot", dataLines.length ? el("div", { id: "diff-data" }, dataLines)
      : el("p", { class: "empty", text: "Same data snapshot (" + da.hash + ")." })));
    var ckpt;
    if (!a.artifact || !b.artifact) {
      ckpt = el("p", { class: "empty", text: "Not comparable: " + (a.artifact ? "B" : "A") + "'s checkpoint was not hashed." });
    } else if (a.artifact.hash !== b.artifact.hash) {
      any = true;
      ckpt = diffLine("chg", "~ checkpoint " + a.artifact.hash + " \u2192 " + b.artifact.hash);
    } else {
      ckpt = el("p", { class: "empty", text: "Same checkpoint bytes (" + a.artifact.hash + ")." });
    }
    var pathLine = a.model_path !== b.model_path
      ? diffLine("chg", "~ path " + a.model_path + " \u2192 " + b.model_path) : null;
    append(diffEl, section("Checkpoint", [ckpt, pathLine]));
    var envContent;
    if (!a.environment_ref || !b.environment_ref) {
      envContent = el("p", { class: "empty", text: "Not comparable: no environment captured for " +
        (!a.environment_ref && !b.environment_ref ? "either" : !a.environment_ref ? "A" : "B") + "." });
    } else if (a.environment_ref === b.environment_ref) {
      envContent = el("p", { class: "empty", text: "Same environment." });
    } else {
      var ea = own(D.environments, a.environment_ref);
      var eb = own(D.environments, b.environment_ref);
      if (!ea || !eb || ea.error || eb.error) {
        envContent = el("p", { class: "notice", text: "Environment unavailable: " + ((ea && ea.error) || (eb && eb.error) || "missing") });
      } else {
        var lines = envDiff(ea, eb);
        any = any || lines.length > 0;
        envContent = lines.length ? el("div", { id: "diff-environment" }, lines)
          : el("p", { class: "empty", text: "Equivalent environments." });
      }
    }
    append(diffEl, section("Environment", envContent));
    var tagsAdded = b.tags.filter(function (t) { return a.tags.indexOf(t) < 0; });
    var tagsRemoved = a.tags.filter(function (t) { return b.tags.indexOf(t) < 0; });
    if (tagsAdded.length || tagsRemoved.length) {
      any = true;
      append(diffEl, section("Tags", [].concat(
        tagsAdded.map(function (t) { return diffLine("add", "+ " + t); }),
        tagsRemoved.map(function (t) { return diffLine("del", "- " + t); }))));
    }
    if (a.notes !== b.notes) {
      append(diffEl, section("Notes", kvTable([
        ["A", a.notes ? el("p", { class: "notes", text: a.notes }) : null],
        ["B", b.notes ? el("p", { class: "notes", text: b.notes }) : null],
      ])));
    }
    if (!any) diffEl.appendChild(el("p", { class: "notice", text: "A and B differ in nothing compared here (notes aside)." }));
  }

  function onCompareSubmit(event) {
    event.preventDefault();
    var ra = resolve(inputA.value);
    var rb = resolve(inputB.value);
    var errors = [];
    if (ra.error) errors.push("A: " + ra.error);
    if (rb.error) errors.push("B: " + rb.error);
    compareMsg.textContent = errors.join("; ");
    if (!ra.error) select(ra.i);
    if (!rb.error) selectB(rb.i);
  }

  // -- metric charts ---------------------------------------------------------------------

  var charts = [];
  var CW = 640, CH = 210, CL = 58, CR = 16, CT = 16, CB = 34;

  /** Chart width in px of one grid column, so the SVG is drawn at about 1:1 and its
   *  axis text (11 units) is at least 11 px on any screen. */
  function chartWidth() {
    var w = chartsEl.clientWidth || 640;
    var cols = Math.max(1, Math.floor((w + 16) / (420 + 16)));
    return Math.max(240, Math.min(640, Math.floor((w - 16 * (cols - 1)) / cols - 34)));
  }

  function renderCharts() {
    clear(chartsEl);
    charts = [];
    CW = chartWidth();
    if (!D.metrics.length) {
      chartsEl.appendChild(el("p", { class: "empty", text: versions.length
        ? "No metrics recorded: log metrics with each version to see their timelines here."
        : "No versions yet." }));
      return;
    }
    D.metrics.forEach(function (m) {
      chartsEl.appendChild(chartCard(m));
    });
  }

  function chartCard(m) {
    var card = el("div", { class: "chart-card panel", "data-metric": m.name });
    var worse = m.direction === "decrease" ? "a fall is worse" : "a rise is worse";
    append(card, [
      el("h3", { text: m.name }),
      el("p", { class: "muted", text: plural(m.timeline.length, "value") + " on the main line \u00b7 " +
        plural(m.versions, "version") + " in all \u00b7 " + worse }),
    ]);
    if (!m.timeline.length) {
      card.appendChild(el("p", { class: "empty", text: "Recorded only off the main line." }));
      return card;
    }
    var W = CW - CL - CR;
    var H = CH - CT - CB;
    var last = Math.max(1, spineLength - 1);
    var xOf = function (pos) { return CL + (spineLength === 1 ? W / 2 : (pos / last) * W); };
    var lo = Infinity, hi = -Infinity;
    m.timeline.forEach(function (p) { lo = Math.min(lo, p[1]); hi = Math.max(hi, p[1]); });
    if (lo === hi) { var pad0 = Math.abs(lo) * 0.05 || 1; lo -= pad0; hi += pad0; }
    var pad = (hi - lo) * 0.06;
    lo -= pad; hi += pad;
    var yOf = function (val) { return CT + H - ((val - lo) / (hi - lo)) * H; };
    var chart = svgEl("svg", {
      class: "chart", viewBox: "0 0 " + CW + " " + CH, role: "img",
      "aria-label": "Timeline of " + m.name + " along the main line",
    });
    chart.appendChild(svgEl("line", { class: "axis", x1: CL, y1: CT + H, x2: CL + W, y2: CT + H }));
    chart.appendChild(svgEl("line", { class: "axis", x1: CL, y1: CT, x2: CL, y2: CT + H }));
    [hi - pad, (hi + lo) / 2, lo + pad].forEach(function (val) {
      chart.appendChild(svgEl("text", { x: CL - 6, y: yOf(val) + 4, "text-anchor": "end", text: fmtNum(Number(val.toPrecision(4))) }));
    });
    var first = atPosition(m.timeline[0][0]);
    var lastV = atPosition(m.timeline[m.timeline.length - 1][0]);
    chart.appendChild(svgEl("text", { x: xOf(m.timeline[0][0]), y: CH - 10, "text-anchor": "start",
      text: first ? fmtDate(first.created_at).slice(0, 10) : "#" + m.timeline[0][0] }));
    chart.appendChild(svgEl("text", { x: xOf(m.timeline[m.timeline.length - 1][0]), y: CH - 10, "text-anchor": "end",
      text: lastV ? fmtDate(lastV.created_at).slice(0, 10) : "#" + m.timeline[m.timeline.length - 1][0] }));
    largestPoints(m).forEach(function (c) {
      var pos = spinePos.get(c.version);
      if (pos === undefined) return;
      var x = xOf(pos);
      chart.appendChild(svgEl("line", { class: "cp", x1: x, y1: CT, x2: x, y2: CT + H }));
      chart.appendChild(svgEl("text", { class: "cp-label", x: x + 3, y: CT + 10, text: "change" }));
    });
    chart.appendChild(svgEl("polyline", { class: "line", points: linePoints(m.timeline, xOf, yOf, W) }));
    if (m.timeline.length <= 200) {
      var dots = svgEl("g");
      m.timeline.forEach(function (p) {
        dots.appendChild(svgEl("circle", { class: "pt", cx: xOf(p[0]), cy: yOf(p[1]), r: 2.6 }));
      });
      chart.appendChild(dots);
    }
    m.suspects.forEach(function (s) {
      var pos = spinePos.get(s.version);
      if (pos === undefined) return;
      chart.appendChild(svgEl("circle", { class: "suspect", cx: xOf(pos), cy: yOf(s.after), r: 6 }));
      chart.appendChild(svgEl("text", { class: "suspect-label", x: xOf(pos) + 8, y: yOf(s.after) - 6, text: "#" + s.rank }));
    });
    var guide = svgEl("line", { class: "guide", y1: CT, y2: CT + H, visibility: "hidden" });
    var sel = svgEl("circle", { class: "sel", r: 7, visibility: "hidden" });
    chart.appendChild(guide);
    chart.appendChild(sel);
    var hit = svgEl("rect", { class: "chart-hit", x: CL, y: CT, width: W, height: H });
    chart.appendChild(hit);
    var entry = { metric: m, svg: chart, sel: sel, xOf: xOf, yOf: yOf };
    function nearest(event) {
      var box = chart.getBoundingClientRect();
      var x = ((event.clientX - box.left) / box.width) * CW;
      var pos = spineLength === 1 ? 0 : ((x - CL) / W) * last;
      var t = m.timeline;
      var lo2 = 0, hi2 = t.length - 1;
      while (lo2 < hi2) {
        var mid = (lo2 + hi2) >> 1;
        if (t[mid][0] < pos) lo2 = mid + 1; else hi2 = mid;
      }
      if (lo2 > 0 && Math.abs(t[lo2 - 1][0] - pos) < Math.abs(t[lo2][0] - pos)) lo2--;
      return t[lo2];
    }
    hit.addEventListener("mousemove", function (event) {
      var p = nearest(event);
      var v = atPosition(p[0]);
      guide.setAttribute("x1", xOf(p[0]));
      guide.setAttribute("x2", xOf(p[0]));
      guide.setAttribute("visibility", "visible");
      tooltipEl.textContent = v ? label(v) + " \u00b7 " + m.name + " " + fmtNum(p[1]) + " \u00b7 " + fmtDate(v.created_at)
        : "main line #" + p[0] + " \u00b7 " + m.name + " " + fmtNum(p[1]) + " \u00b7 not embedded (mlineage show, mlineage ui)";
      tooltipEl.style.left = event.clientX + 12 + "px";
      tooltipEl.style.top = event.clientY + 12 + "px";
      tooltipEl.hidden = false;
    });
    hit.addEventListener("mouseleave", function () {
      guide.setAttribute("visibility", "hidden");
      tooltipEl.hidden = true;
    });
    hit.addEventListener("click", function (event) {
      var v = atPosition(nearest(event)[0]);
      if (v) select(byId.get(v.id));
    });
    card.appendChild(chart);
    charts.push(entry);
    if (m.timeline.length < 2) {
      card.appendChild(el("p", { class: "empty", text: "Blame needs the metric on at least two versions of the main line." }));
    } else if (!m.suspects.length) {
      card.appendChild(el("p", { class: "empty", text: "No step made " + m.name + " worse by " + fmtNum(suspectNoise()) + " noise units or more." }));
    } else {
      card.appendChild(el("p", { class: "muted", text: "Blame suspects (worst steps on the main line):" }));
      card.appendChild(el("ol", { class: "suspects" }, m.suspects.map(function (s) {
        return el("li", null, versionLink(s.version), " " + fmtNum(s.before) + " \u2192 " + fmtNum(s.after) +
          " (" + fmtDelta(s.delta) + (typeof s.score === "number" ? ", score " + fmtScore(s.score) : "") + ")");
      })));
    }
    if (m.change_points.length) {
      var top = largestPoints(m);
      var item = function (c) {
        var extra = Object.keys(c).filter(function (k) { return k !== "version"; }).map(function (k) {
          return k + "=" + (typeof c[k] === "number" ? fmtNum(c[k]) : jsonText(c[k]));
        }).join(", ");
        return el("li", null, versionLink(c.version), extra ? " " + extra : "");
      };
      card.appendChild(el("p", { class: "muted", text: m.change_points.length > top.length
        ? "Change points (the " + top.length + " largest of " + m.change_points.length + "):" : "Change points:" }));
      var list = el("ul", { class: "suspects change-points" }, top.map(item));
      card.appendChild(list);
      if (m.change_points.length > top.length) {
        var more = el("button", { type: "button", class: "show-all", text: "Show all " + m.change_points.length, onclick: function () {
          clear(list);
          append(list, m.change_points.map(item));
          more.parentNode.removeChild(more);
        } });
        card.appendChild(more);
      }
    }
    return card;
  }

  /** The embedded version at a main-line position, or null. */
  function atPosition(pos) {
    var id = spineAt.get(pos);
    var i = id === undefined ? undefined : byId.get(id);
    return i === undefined ? null : versions[i];
  }

  /** The few change points with the largest level shift (|after - before|), in order. */
  function largestPoints(m) {
    if (m.change_points.length <= MAX_POINTS) return m.change_points;
    var size = function (c) {
      return typeof c.after === "number" && typeof c.before === "number" ? Math.abs(c.after - c.before) : 0;
    };
    var ranked = m.change_points.map(function (c, k) { return [size(c), k]; });
    ranked.sort(function (x, y) { return y[0] - x[0] || x[1] - y[1]; });
    return ranked.slice(0, MAX_POINTS).map(function (r) { return r[1]; }).sort(function (x, y) { return x - y; })
      .map(function (k) { return m.change_points[k]; });
  }

  /** Polyline points; long series keep the min and max of each pixel column. */
  function linePoints(timeline, xOf, yOf, width) {
    var out = [];
    if (timeline.length <= width * 2) {
      timeline.forEach(function (p) { out.push(xOf(p[0]).toFixed(1) + "," + yOf(p[1]).toFixed(1)); });
      return out.join(" ");
    }
    var col = -1, lo = null, hi = null;
    function flush() {
      if (lo === null) return;
      var a = lo[0] <= hi[0] ? lo : hi;
      var b = a === lo ? hi : lo;
      out.push(xOf(a[0]).toFixed(1) + "," + yOf(a[1]).toFixed(1));
      if (b !== a) out.push(xOf(b[0]).toFixed(1) + "," + yOf(b[1]).toFixed(1));
    }
    timeline.forEach(function (p) {
      var c = Math.floor(xOf(p[0]));
      if (c !== col) { flush(); col = c; lo = hi = p; return; }
      if (p[1] < lo[1]) lo = p;
      if (p[1] > hi[1]) hi = p;
    });
    flush();
    return out.join(" ");
  }

  function updateChartSelection() {
    var v = shown >= 0 ? versions[shown] : null;
    charts.forEach(function (c) {
      var pos = v ? spinePos.get(v.id) : undefined;
      if (pos === undefined || !has(v.metrics, c.metric.name)) {
        c.sel.setAttribute("visibility", "hidden");
        return;
      }
      c.sel.setAttribute("cx", c.xOf(pos));
      c.sel.setAttribute("cy", c.yOf(v.metrics[c.metric.name]));
      c.sel.setAttribute("visibility", "visible");
    });
  }

  // -- aliases ---------------------------------------------------------------------------

  function renderAliases(container) {
    if (!D.aliases.length) {
      container.appendChild(el("p", { class: "empty", text: "No alias points at a version of this model." }));
      return;
    }
    var table = el("table", { class: "grid", id: "alias-table" },
      el("tr", null, el("th", { text: "alias" }), el("th", { text: "points at" }),
        el("th", { text: "since" }), el("th", { text: "moves" })));
    D.aliases.forEach(function (a) {
      var since = a.history.length ? a.history[a.history.length - 1].effective_at : null;
      table.appendChild(el("tr", null,
        el("td", null, el("span", { class: "chip alias", text: a.name })),
        el("td", null, versionLink(a.target)),
        el("td", { text: fmtDate(since) }),
        el("td", null, el("details", null, el("summary", { text: plural(a.history.length, "move") }),
          el("table", { class: "grid" },
            el("tr", null, el("th", { text: "took effect" }), el("th", { text: "version" }), el("th", { text: "recorded" })),
            a.history.slice().reverse().map(function (move) {
              return el("tr", null, el("td", { text: fmtDate(move.effective_at) }),
                el("td", null, move.version ? versionLink(move.version) : el("span", { class: "muted", text: "removed" })),
                el("td", { text: fmtDate(move.recorded_at) }));
            }))))));
    });
    container.appendChild(table);
  }

  // -- analyses --------------------------------------------------------------------------

  function renderAnalyses(container) {
    var analyses = D.analyses || {};
    var panels = [
      ["drift", "Drift", "No drift analysis recorded for this model (see docs/analysis.md)."],
      ["behaviour", "Behaviour", "No behaviour fingerprints recorded."],
    ];
    Object.keys(analyses).forEach(function (key) {
      if (key !== "drift" && key !== "behaviour") panels.push([key, key, "No rows."]);
    });
    panels.forEach(function (p) {
      var panel = el("section", { class: "panel", id: "analysis-" + p[0].replace(/[^A-Za-z0-9_-]/g, "_"), "data-analysis": p[0] },
        el("h2", { text: p[1] }));
      var rows = own(analyses, p[0]);
      if (!rows) panel.appendChild(el("p", { class: "empty", text: p[2] }));
      else if (!rows.length) panel.appendChild(el("p", { class: "empty", text: "The analysis recorded no rows." }));
      else panel.appendChild(analysisTable(rows, p[0]));
      container.appendChild(panel);
    });
  }

  // An evidence payload: a <details> holding the full JSON; its id is the anchor
  // #evidence-<event id>. Too large or unreadable payloads say why instead.
  function evidenceJson(cell) {
    if (typeof own(cell, "json") !== "string") {
      return el("span", { class: "muted", text: String(own(cell, "note") || "not embedded") });
    }
    return el("details", { id: "evidence-" + String(own(cell, "event")) },
      el("summary", { text: "full JSON (" + fmtNum(own(cell, "bytes")) + " bytes)" }),
      el("pre", { class: "evidence-json", text: own(cell, "json") }));
  }

  function analysisTable(rows, key) {
    var columns = [];
    var seen = new Set();
    rows.forEach(function (row) {
      Object.keys(row).forEach(function (k) {
        if (!seen.has(k)) { seen.add(k); columns.push(k); }
      });
    });
    var table = el("table", { class: "grid" },
      el("tr", null, columns.map(function (c) { return el("th", { text: c }); })));
    rows.slice(0, TABLE_ROWS).forEach(function (row) {
      table.appendChild(el("tr", null, columns.map(function (c) {
        var value = own(row, c);
        if (key === "evidence" && c === "full JSON" && value && typeof value === "object") {
          return el("td", null, evidenceJson(value));
        }
        if (typeof value === "number") return el("td", { class: "num", text: fmtNum(value) });
        if (typeof value === "string" && byId.has(value)) return el("td", null, versionLink(value));
        if (value === undefined || value === null) return el("td", { class: "muted", text: "\u2014" });
        return el("td", { text: typeof value === "string" ? value : jsonText(value) });
      })));
    });
    var wrap = el("div", { class: "table-wrap" }, table);
    if (rows.length > TABLE_ROWS) {
      wrap.appendChild(el("p", { class: "muted", text: plural(rows.length - TABLE_ROWS, "more row") + " not shown." }));
    }
    return wrap;
  }

  // -- page ------------------------------------------------------------------------------

  function legend() {
    var kinds = new Set();
    versions.forEach(function (v) { if (v.parents.length) kinds.add(v.kind); });
    var items = Array.from(kinds).sort().map(function (k) {
      var swatch = el("i");
      swatch.style.background = kindVar(k);
      return el("span", null, swatch, k);
    });
    if (versions.some(function (v) { return v.parents.length > 1; })) {
      items.push(el("span", { text: "thin line: a merged-in (non-first) parent" }));
    }
    items.push(el("span", { text: "dashed stub: a long edge, see the label" }));
    items.push(el("span", { text: "hollow node: status changed" }));
    return el("div", { class: "legend", "aria-label": "edge kinds" }, items);
  }

  function header() {
    var tips = 0, merges = 0;
    versions.forEach(function (v, i) {
      if (!kids[i].length) tips++;
      if (v.parents.length > 1) merges++;
    });
    return el("header", { class: "page-header" },
      el("h1", { text: D.title }),
      el("p", { class: "subtitle" },
        el("span", null, "model ", el("b", { text: D.model })),
        el("span", null, "store ", el("code", { text: D.store })),
        el("span", { id: "summary-counts", text: plural(D.compact ? D.compact.versions : versions.length, "version") + " \u00b7 " +
          plural(spineLength, "version") + " on the main line \u00b7 " + plural(tips, "branch tip") +
          " \u00b7 " + plural(merges, "merge") + " \u00b7 " + plural(D.aliases.length, "alias", "aliases") }),
        el("span", { text: "generated " + fmtDateLong(D.generated_at) + " by mlineage " + D.mlineage_version })));
  }

  function build() {
    var app = clear(document.getElementById("app"));
    tooltipEl = el("div", { class: "tooltip", role: "tooltip" });
    tooltipEl.hidden = true;
    app.appendChild(header());
    app.appendChild(el("nav", { class: "sections", "aria-label": "sections" },
      [["#lineage", "Lineage"], ["#compare", "Compare"], ["#metrics", "Metrics"], ["#aliases", "Aliases"],
        ["#analyses", "Drift & behaviour"]].map(function (p) {
        return el("a", { href: p[0], text: p[1] });
      })));
    var main = el("main");
    app.appendChild(main);
    app.appendChild(tooltipEl);
    if (!versions.length) {
      main.appendChild(el("section", { class: "panel", id: "lineage" },
        el("h2", { text: "Lineage" }),
        el("p", { class: "notice", id: "no-versions", text: "This model has no versions yet: log one with tracker.log_version() and write the report again." })));
    } else {
      listEl = el("div", {
        class: "lineage", id: "lineage-list", role: "listbox", "aria-label": "versions, newest first",
        onclick: onListClick, onkeydown: onListKey, onfocusin: onListFocus,
      });
      countEl = el("span", { class: "muted", id: "row-count" });
      detailsEl = el("div", { id: "details", "aria-live": "polite" });
      var findInput = el("input", { type: "text", id: "find", list: "refs", placeholder: "id, prefix, name or alias", "aria-label": "find a version" });
      var findMsg = el("span", { class: "muted", role: "status" });
      var findForm = el("form", { class: "toolbar", onsubmit: function (event) {
        event.preventDefault();
        var r = resolve(findInput.value);
        findMsg.textContent = r.error || "";
        if (!r.error) select(r.i, { focus: true });
      } }, el("label", null, "Find ", findInput), el("button", { type: "submit", text: "Go" }), findMsg);
      main.appendChild(el("div", { class: "top" },
        el("section", { class: "panel", id: "lineage" },
          el("h2", { text: "Lineage" }),
          findForm,
          el("div", { class: "toolbar" },
            el("button", { type: "button", id: "expand-all", text: "Expand all runs", onclick: function () {
              expandAll = true; renderLineage();
            } }),
            el("button", { type: "button", id: "collapse-all", text: "Collapse runs", onclick: function () {
              expandAll = false; expanded.clear(); renderLineage();
              if (shown >= 0) setFocusRow(reveal(shown), false);
            } }),
            countEl),
          legend(),
          D.compact ? el("p", { class: "notice", id: "compact-notice", text: "A long lineage: " +
            plural(D.compact.versions, "version") + ". This report embeds the full record of " + fmtCount(D.compact.detailed) +
            " (every version an alias points or pointed at, blame suspects, flagged steps, the " + fmtCount(D.compact.tips) +
            " most recent branch tips and the " + fmtCount(D.compact.recent) + " most recent versions), shows " +
            fmtCount(D.compact.stubs) + " more as the DAG's shape and " + plural(D.compact.runs, "stretch", "stretches") +
            " of plain versions as one row each; metric charts keep about " + fmtCount(D.compact.points) +
            " points (every suspect, change point and alias move among them). Read any version with mlineage show ID, or browse them all with mlineage ui." }) : null,
          listEl),
        el("aside", { class: "panel details-panel", "aria-labelledby": "details-title" }, detailsEl)));
      inputA = el("input", { type: "text", id: "compare-a", list: "refs", "aria-label": "version A" });
      inputB = el("input", { type: "text", id: "compare-b", list: "refs", "aria-label": "version B" });
      compareMsg = el("span", { class: "muted", role: "status" });
      diffEl = el("div", { id: "diff", "aria-live": "polite" });
      main.appendChild(el("section", { class: "panel", id: "compare" },
        el("h2", { text: "Compare two versions" }),
        el("form", { class: "compare-form", onsubmit: onCompareSubmit },
          el("label", null, el("span", { class: "tag-a", text: "A" }), inputA),
          el("label", null, el("span", { class: "tag-b", text: "B" }), inputB),
          el("button", { type: "submit", text: "Compare" }),
          el("button", { type: "button", text: "Swap", onclick: function () {
            if (selA < 0 || selB < 0) return;
            var a = selA, b = selB;
            select(b); selectB(a);
          } }),
          compareMsg),
        diffEl));
      var refs = el("datalist", { id: "refs" });
      var names = [];
      D.aliases.forEach(function (a) { names.push(a.name); });
      versions.forEach(function (v) { if (v.name && names.length < 5000) names.push(v.name); });
      names.forEach(function (n) { refs.appendChild(el("option", { value: n })); });
      main.appendChild(refs);
    }
    chartsEl = el("div", { class: "charts" });
    main.appendChild(el("section", { class: "panel", id: "metrics" },
      el("h2", { text: "Metrics along the main line" }),
      D.primary_metric ? el("p", { class: "muted", id: "suspect-rule", text: "Red markers are blame's suspects: the steps that moved the metric furthest in its bad direction, by at least " +
        fmtNum(suspectNoise()) + " noise units (the metric's ordinary step-to-step movement; at most " +
        (D.thresholds ? D.thresholds.suspects_per_metric : 3) + " per metric). Click a chart to select a version." }) : null,
      chartsEl));
    var aliasSection = el("section", { class: "panel", id: "aliases" }, el("h2", { text: "Aliases" }));
    main.appendChild(aliasSection);
    var analyses = el("div", { id: "analyses" });
    main.appendChild(analyses);
    renderCharts();
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () {
        if (chartWidth() !== CW) { renderCharts(); updateChartSelection(); }
      }, 150);
    });
    renderAliases(aliasSection);
    renderAnalyses(analyses);
    if (versions.length) {
      renderLineage();
      var fromHash = fragmentVersion();
      var tip = byId.get(D.spine.length ? D.spine[D.spine.length - 1] : versions[versions.length - 1].id);
      select(fromHash === undefined ? tip : fromHash);
      listEl.scrollTop = Math.max(0, rowOfVersion(shown) * ROW - listEl.clientHeight / 2);
    }
  }

  /** The version the URL's fragment names (#<id, name or alias>), or undefined. Anyone can
   *  send a link: a fragment that is not percent-encoded UTF-8 ("#%E0%A4%A"), too long to
   *  be a reference, or naming no version is ignored, and the default view is drawn. */
  function fragmentVersion() {
    var raw = location.hash.slice(1);
    if (!raw || raw.length > MAX_FRAGMENT) return undefined;
    var ref;
    try {
      ref = decodeURIComponent(raw);
    } catch (err) {
      return undefined; // URIError: no reference is spelt like that
    }
    var found = resolve(ref);
    return found.error ? undefined : found.i;
  }

  function fail(message) {
    var app = document.getElementById("app");
    app.appendChild(el("p", { class: "notice", role: "alert", text: message }));
  }

  /** The page's one entry point: draw the report from `data`, the JSON document that
   *  mlineage.report.build_report_data returns (docs/report.md, "The data"). A static
   *  report calls it with its embedded #mlineage-data block; `mlineage ui` may call it
   *  with the same document fetched from its API. Draws once per page load. */
  function draw(data) {
    try {
      D = data;
      if (D.schema !== SCHEMA) {
        fail("This report's data has layout " + D.schema + "; this page reads layout " + SCHEMA + ".");
      } else {
        index();
        chains();
        build();
      }
      window.mlineageReport.renderMs = performance.now();
      window.mlineageReport.versions = D.versions.length;
      document.documentElement.setAttribute("data-ready", "true");
    } catch (err) {
      fail("The report could not be drawn: " + (err && err.message ? err.message : String(err)));
      throw err;
    }
  }

  window.mlineageReport = { draw: draw };
  var embedded = document.getElementById("mlineage-data");
  if (embedded && embedded.textContent.trim()) {
    var parsed;
    try {
      parsed = JSON.parse(embedded.textContent);
    } catch (err) {
      fail("The report could not be drawn: " + (err && err.message ? err.message : String(err)));
      throw err;
    }
    draw(parsed);
  }
})();
