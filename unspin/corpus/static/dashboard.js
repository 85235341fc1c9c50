/* unspin corpus dashboard: filters and the time chart. Data comes from the JSON block;
   text reaches the page only through textContent and setAttribute, never as markup. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var $ = function (id) { return document.getElementById(id); };
  var all = function (sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); };

  function state() {
    var outlets = Array.prototype.slice.call($("f-outlet").selectedOptions).map(function (o) { return o.value; });
    return {
      outlets: outlets,
      technique: $("f-technique").value,
      topic: $("f-topic").value,
      from: $("f-from").value,
      to: $("f-to").value
    };
  }
  function outletShown(s, name) { return !s.outlets.length || s.outlets.indexOf(name) >= 0; }
  function inPeriod(s, month) {
    if (!month) return !s.from && !s.to;
    return (!s.from || month >= s.from) && (!s.to || month <= s.to);
  }

  function heatmaps(s) {
    all("svg.heatmap").forEach(function (svg) {
      var kind = svg.getAttribute("data-kind");
      var rows = Array.prototype.slice.call(svg.querySelectorAll("g.row"));
      var shown = 0, step = 24;
      rows.forEach(function (row, i) {
        var name = row.getAttribute("data-" + kind);
        var visible = kind === "outlet" ? outletShown(s, name) : (!s.topic || s.topic === name);
        row.style.display = visible ? "" : "none";
        row.setAttribute("transform", "translate(0," + (shown - i) * step + ")");
        if (visible) shown += 1;
      });
      var height = Number(svg.getAttribute("data-head")) + step * shown + 6;
      svg.setAttribute("height", height);
      var vb = svg.getAttribute("viewBox").split(" ");
      svg.setAttribute("viewBox", [vb[0], vb[1], vb[2], height].join(" "));
      Array.prototype.slice.call(svg.querySelectorAll("[data-technique]")).forEach(function (el) {
        var t = el.getAttribute("data-technique");
        el.style.opacity = s.technique === "all" || t === s.technique || t === "all" ? "" : "0.18";
      });
    });
  }

  function shareRows(s) {
    all(".mix [data-outlet]").forEach(function (cell) {
      cell.hidden = !outletShown(s, cell.getAttribute("data-outlet"));
    });
  }

  function pairs(s) {
    all("#pairs tbody tr").forEach(function (tr) {
      tr.hidden = tr.getAttribute("data-technique") !== s.technique ||
        !(outletShown(s, tr.getAttribute("data-outlet-a")) && outletShown(s, tr.getAttribute("data-outlet-b")));
    });
    all("#corrected-rates tbody tr").forEach(function (tr) {
      tr.hidden = tr.getAttribute("data-technique") !== s.technique || !outletShown(s, tr.getAttribute("data-outlet"));
    });
    all(".findings li").forEach(function (li) {
      var t = li.getAttribute("data-technique");
      li.hidden = !(s.technique === "all" || t === s.technique) ||
        (li.hasAttribute("data-outlet") && !outletShown(s, li.getAttribute("data-outlet"))) ||
        (li.hasAttribute("data-topic") && !!s.topic && li.getAttribute("data-topic") !== s.topic);
    });
  }

  function topList(s) {
    var items = all("#top li"), shown = 0;
    items.forEach(function (li) {
      var techniques = (li.getAttribute("data-techniques") || "").split(" ");
      var topics = (li.getAttribute("data-topics") || "").split("\n");
      var ok = outletShown(s, li.getAttribute("data-outlet")) &&
        (s.technique === "all" || techniques.indexOf(s.technique) >= 0) &&
        (!s.topic || topics.indexOf(s.topic) >= 0) &&
        ((!s.from && !s.to) || inPeriod(s, li.getAttribute("data-month")));
      li.hidden = !ok;
      if (ok) shown += 1;
    });
    $("top-none").hidden = shown > 0 || !items.length;
    $("f-status").textContent = items.length ? shown + " of " + items.length + " listed articles match" : "";
  }

  function el(name, attrs, text) {
    var node = document.createElementNS(SVGNS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function timeChart(s) {
    var svg = $("time-chart"), legend = $("time-legend");
    while (svg.childNodes.length > 1) svg.removeChild(svg.lastChild);
    while (legend.firstChild) legend.removeChild(legend.firstChild);
    var t = data.time, m = data.measures.indexOf(s.technique);
    if (m < 0 || !t.periods.length) return;
    var idx = [];
    t.periods.forEach(function (p, i) { if (inPeriod(s, p.slice(0, 7))) idx.push(i); });
    if (!idx.length) return;
    var names = Object.keys(t.series).sort(function (a, b) {
      return a === "All outlets" ? -1 : b === "All outlets" ? 1 : a < b ? -1 : 1;
    }).filter(function (n) { return n === "All outlets" ? !s.outlets.length : outletShown(s, n); });
    var top = 0;
    names.forEach(function (n) { idx.forEach(function (i) { var v = t.series[n][m][i]; if (v[2] !== null) top = Math.max(top, v[2]); }); });
    top = top > 0 ? top * 1.05 : 1;
    var x0 = 56, x1 = 800, y0 = 262, y1 = 14;
    var X = function (k) { return idx.length === 1 ? (x0 + x1) / 2 : x0 + (x1 - x0) * k / (idx.length - 1); };
    var Y = function (v) { return y0 - (y0 - y1) * v / top; };
    for (var g = 0; g <= 4; g++) {
      var v = top * g / 4;
      svg.appendChild(el("line", { x1: x0, x2: x1, y1: Y(v), y2: Y(v), "class": g ? "grid" : "axis" }));
      svg.appendChild(el("text", { x: x0 - 6, y: Y(v) + 4, "text-anchor": "end" }, v.toFixed(1)));
    }
    var every = Math.max(1, Math.ceil(idx.length / 12));
    idx.forEach(function (i, k) {
      if (k % every === 0) svg.appendChild(el("text", { x: X(k), y: y0 + 16, "text-anchor": "middle" }, t.periods[i]));
    });
    names.forEach(function (n, j) {
      var color = n === "All outlets" ? "#111111" : data.colors[j % data.colors.length];
      var dash = n === "All outlets" ? "" : data.dashes[j % data.dashes.length];
      var line = t.series[n][m], pts = [], upper = [], lower = [];
      var group = el("g", { "data-outlet": n, "class": "series" });
      idx.forEach(function (i, k) {
        var v = line[i];
        if (v[0] === null) return;
        pts.push(X(k) + "," + Y(v[0]));
        upper.push(X(k) + "," + Y(v[2]));
        lower.unshift(X(k) + "," + Y(v[1]));
        var dot = el("circle", { cx: X(k), cy: Y(v[0]), r: 3, fill: color, tabindex: 0 });
        dot.appendChild(el("title", {}, n + " · " + t.periods[i] + " · " + data.labels[data.measures[m]] + ": " +
          v[0].toFixed(2) + " per 1,000 words (95% CI " + v[1].toFixed(2) + " to " + v[2].toFixed(2) + ")"));
        group.appendChild(dot);
      });
      if (!pts.length) return;
      group.insertBefore(el("polygon", { points: upper.concat(lower).join(" "), fill: color, "fill-opacity": 0.12 }), group.firstChild);
      group.insertBefore(el("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": n === "All outlets" ? 2.5 : 1.8, "stroke-dasharray": dash }), group.childNodes[1]);
      svg.appendChild(group);
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = color;
      li.appendChild(sw);
      li.appendChild(document.createTextNode(n));
      var tr = (t.trends && t.trends[n]) ? t.trends[n][m] : null;
      if (tr) {
        var note = document.createElement("span");
        note.className = "trend" + (tr.flag ? " flag" : "");
        note.textContent = " · " + tr.text.slice(tr.text.indexOf(": ") + 2);
        li.appendChild(note);
      }
      legend.appendChild(li);
    });
  }

  function update() {
    var s = state();
    heatmaps(s); shareRows(s); pairs(s); topList(s); timeChart(s);
  }
  ["f-outlet", "f-technique", "f-topic", "f-from", "f-to"].forEach(function (id) {
    $(id).addEventListener("change", update);
  });
  $("filters").addEventListener("reset", function () { setTimeout(update, 0); });
  $("filters").addEventListener("submit", function (e) { e.preventDefault(); });
  update();
})();
