/* unspin report script: tooltips and the confidence slider. It only reads the page and the
   JSON data block and writes text with textContent, never markup. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("unspin-data").textContent);
  var tip = document.getElementById("tip");
  var marks = Array.prototype.slice.call(document.querySelectorAll("mark.hl"));
  var hideTimer = null;
  var current = null;

  function pct(x) {
    var p = x * 100;
    if (p > 0 && p < 1) { return "<1%"; }
    if (p > 99 && p < 100) { return ">99%"; }
    return Math.round(p) + "%";
  }
  function rate(x) { return x.toFixed(1); }
  function info(name) {
    return data.techniques[name] || { label: name, definition: "", category: "Other", symbol: "?" };
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  /* Tooltip: the detection under the pointer or focus first, then the ones it sits in. */
  function chain(node) {
    var out = [];
    while (node && node.nodeType === 1) {
      if (node.matches("mark.hl") && !node.classList.contains("off")) { out.push(node); }
      node = node.parentElement;
    }
    return out;
  }
  function setActive(id) {
    marks.forEach(function (m) { m.classList.toggle("active", id !== null && m.dataset.span === id); });
  }
  function place(target) {
    var rects = target.getClientRects();
    var r = rects.length ? rects[0] : target.getBoundingClientRect();
    tip.style.left = "0px";
    tip.style.top = "0px";
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var vw = document.documentElement.clientWidth;
    var left = Math.max(8, Math.min(r.left, vw - w - 8));
    var top = r.bottom + 8;
    if (top + h > window.innerHeight && r.top - h - 8 > 0) { top = r.top - h - 8; }
    tip.style.left = (left + window.scrollX) + "px";
    tip.style.top = (top + window.scrollY) + "px";
  }
  function show(target) {
    var list = chain(target);
    if (!list.length) { hide(); return; }
    clearTimeout(hideTimer);
    current = list[0];
    tip.textContent = "";
    list.forEach(function (m, i) {
      var t = info(m.dataset.technique);
      if (i === 1) { tip.appendChild(el("p", "tip-sep", "Within")); }
      var item = el("div", "tip-item");
      var head = el("div", "tip-head");
      head.appendChild(el("span", "sym c" + m.dataset.cat, t.symbol));
      head.appendChild(el("strong", "", t.label));
      head.appendChild(el("span", "tip-meta", " \u00b7 " + t.category + " \u00b7 " + m.dataset.level));
      item.appendChild(head);
      item.appendChild(el("p", "tip-conf", pct(parseFloat(m.dataset.labelScore)) +
        " sure the paragraph uses it; about " + pct(parseFloat(m.dataset.score)) +
        " of such highlighted text matches an annotator\u2019s."));
      if (m.dataset.evidence) { item.appendChild(el("p", "tip-words", "Words that drove it: " + m.dataset.evidence)); }
      if (m.dataset.quoted) { item.appendChild(el("p", "tip-quoted", m.dataset.quoted)); }
      if (t.definition) { item.appendChild(el("p", "", t.definition)); }
      if (t.example) { item.appendChild(el("p", "tip-example", "Example: " + t.example)); }
      tip.appendChild(item);
    });
    tip.hidden = false;
    setActive(current.dataset.span);
    place(target);
  }
  function hide() {
    clearTimeout(hideTimer);
    tip.hidden = true;
    current = null;
    setActive(null);
  }
  function hideSoon() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, 250);
  }
  document.addEventListener("mouseover", function (e) {
    var m = e.target.closest && e.target.closest("mark.hl:not(.off)");
    if (m) { show(m); } else if (tip.contains(e.target)) { clearTimeout(hideTimer); } else if (!tip.hidden && document.activeElement !== current) { hideSoon(); }
  });
  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("mark.hl:not(.off)")) { show(e.target); } else { hide(); }
  });
  document.addEventListener("focusout", function (e) {
    if (e.target === current) { hideSoon(); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { hide(); }
  });
  window.addEventListener("resize", hide);

  /* Confidence slider: un-highlight weaker detections and recount. */
  var slider = document.getElementById("conf");
  var output = document.getElementById("conf-out");
  function recount() {
    var min = parseFloat(slider.value) - 1e-9;
    marks.forEach(function (m) {
      var off = parseFloat(m.dataset.score) < min;
      m.classList.toggle("off", off);
      m.tabIndex = off ? -1 : 0;
      if (off) { m.removeAttribute("aria-describedby"); } else { m.setAttribute("aria-describedby", m.dataset.span + "-d"); }
    });
    document.querySelectorAll("[data-score]:not(mark)").forEach(function (e) {
      e.classList.toggle("off", parseFloat(e.dataset.score) < min);
    });
    var stats = data.docs.map(function () { return { spans: {}, n: 0, tech: {}, cat: {}, share: 0 }; });
    marks.forEach(function (m) {
      var s = stats[+m.dataset.doc];
      if (m.classList.contains("off") || s.spans[m.dataset.span]) { return; }
      s.spans[m.dataset.span] = true;
      s.n += 1;
      s.tech[m.dataset.technique] = (s.tech[m.dataset.technique] || 0) + 1;
      s.cat[m.dataset.category] = (s.cat[m.dataset.category] || 0) + 1;
    });
    var all = 0;
    stats.forEach(function (s, i) {
      var words = data.docs[i].words;
      var paras = document.querySelectorAll('.para[data-p][data-doc="' + i + '"]');
      var used = 0;
      paras.forEach(function (p) { if (p.querySelector("mark.hl:not(.off), .pl:not(.off)")) { used += 1; } });
      s.share = paras.length ? used / paras.length : 0;
      s.rate = words ? s.n * 1000 / words : 0;
      all += s.n;
      document.querySelectorAll('[data-doc="' + i + '"][data-stat]').forEach(function (e) {
        var k = e.dataset.stat;
        e.textContent = k === "shown" ? String(s.n) : k === "rate" ? rate(s.rate) : pct(s.share);
      });
      document.querySelectorAll('[data-count][data-doc="' + i + '"]').forEach(function (e) {
        var n = s.tech[e.dataset.count] || 0;
        e.textContent = String(n);
        e.parentElement.classList.toggle("off", n === 0);
      });
    });
    document.querySelectorAll('[data-stat="shown-all"]').forEach(function (e) { e.textContent = String(all); });
    document.querySelectorAll("svg[data-live]").forEach(function (svg) {
      var kind = svg.dataset.live, plotw = parseFloat(svg.dataset.plotw), x0 = parseFloat(svg.dataset.x0);
      var bars = Array.prototype.slice.call(svg.querySelectorAll("g.bar"));
      var values = bars.map(function (g) {
        var s = stats[+g.dataset.doc], words = data.docs[+g.dataset.doc].words;
        if (kind === "paragraphs") { return s.share; }
        var n = (kind === "technique" ? s.tech : s.cat)[g.dataset.key] || 0;
        return words ? n * 1000 / words : 0;
      });
      var top = svg.dataset.fixed ? parseFloat(svg.dataset.fixed) : Math.max.apply(null, values.concat([0]));
      if (!(top > 0)) { top = 1; }
      bars.forEach(function (g, j) {
        var w = Math.max(0, Math.min(1, values[j] / top)) * plotw;
        g.querySelector(".c-fill").setAttribute("width", w.toFixed(2));
        var label = g.querySelector(".c-val");
        label.setAttribute("x", (x0 + w + 6).toFixed(2));
        label.textContent = kind === "paragraphs" ? pct(values[j]) : rate(values[j]);
      });
    });
    output.textContent = pct(parseFloat(slider.value));
    slider.setAttribute("aria-valuetext", pct(parseFloat(slider.value)) + " expected precision or more");
  }
  if (slider) {
    document.querySelectorAll(".controls").forEach(function (c) { c.hidden = false; });
    slider.addEventListener("input", recount);
    slider.addEventListener("change", recount);
  }

  /* Print everything: open the collapsed detection lists. */
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
}());
