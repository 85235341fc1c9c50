/* unspin feedback, on a report the web app serves (a report written to a file has no #fb and
   no connection): confirm or dispute a detection from its popover, or add a missed one by
   selecting its words. Verdicts go to the app's own /api/feedback, which keeps them on this
   machine. Offsets are code points into the article text; JS strings count UTF-16 units,
   so every length here is taken with Array.from. Text is written with textContent only. */
(function () {
  "use strict";
  var panel = document.getElementById("fb");
  var doc = document.querySelector(".doc-text");
  if (!panel || !doc || !window.fetch) { return; }
  var api = panel.dataset.api;
  var hash = panel.dataset.textHash;
  var statusEl = document.getElementById("fb-status");
  var list = document.getElementById("fb-list");
  var none = document.getElementById("fb-none");
  var pop = document.getElementById("fb-pop");
  var popList = document.getElementById("fb-pop-list");
  var form = document.getElementById("fb-add");
  var selOut = document.getElementById("fb-sel");
  var addBtn = document.getElementById("fb-add-btn");
  var picker = document.getElementById("fb-technique");
  var noteInput = document.getElementById("fb-note");
  var tip = document.getElementById("tip");
  var heading = document.getElementById("fb-h");
  var SELECT_HINT = selOut.textContent;
  var WORDS = { confirm: "Confirmed", dispute: "Disputed", add: "Added" };
  var judged = {}; /* "technique start end" -> the stored judgement */
  var pending = null; /* the selected words: {start, end, quote, exact} */
  var opener = null; /* the highlight the popover belongs to */

  function cp(s) { return Array.from(s).length; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function short(s) {
    var chars = Array.from(s.replace(/\s+/g, " ").trim());
    return chars.length > 80 ? chars.slice(0, 79).join("") + "\u2026" : chars.join("");
  }
  function pct(x) { return isNaN(x) ? "" : Math.round(x * 100) + "%"; }
  function labelOf(name) {
    var option = picker.querySelector('option[value="' + CSS.escape(name) + '"]');
    return option ? option.textContent : name;
  }
  function key(technique, start, end) { return technique + " " + start + " " + end; }
  function say(text, problem) {
    statusEl.textContent = text;
    statusEl.classList.toggle("fb-error", !!problem);
  }

  /* The store */
  function send(body) {
    body.text_hash = hash;
    return fetch(api, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          throw new Error((data.error && data.error.message) || "The server could not store it (" + r.status + ").");
        }
        return data;
      });
    });
  }
  function marksOf(j) {
    return doc.querySelectorAll('mark.hl[data-technique="' + CSS.escape(j.technique) +
      '"][data-start="' + j.start + '"][data-end="' + j.end + '"]');
  }
  function render() {
    list.textContent = "";
    var items = Object.keys(judged).map(function (k) { return judged[k]; });
    items.sort(function (a, b) { return a.start - b.start || a.end - b.end || (a.technique < b.technique ? -1 : 1); });
    items.forEach(function (i) {
      var li = el("li", "fb-item fb-" + i.verdict);
      li.appendChild(el("strong", "", WORDS[i.verdict]));
      li.appendChild(document.createTextNode(" \u00b7 " + labelOf(i.technique) + " \u00b7 \u201c" + short(i.span) + "\u201d "));
      li.appendChild(el("span", "muted", "(characters " + i.start + "\u2013" + i.end + ") "));
      var undo = el("button", "fb-btn fb-undo", "Undo");
      undo.type = "button";
      undo.setAttribute("aria-label", "Undo: " + WORDS[i.verdict] + " " + labelOf(i.technique) + ", \u201c" + short(i.span) + "\u201d");
      undo.addEventListener("click", function () { forget(i); });
      li.appendChild(undo);
      list.appendChild(li);
    });
    if (!items.length) { list.appendChild(none); }
  }
  function mark(j, verdict) {
    marksOf(j).forEach(function (m) {
      m.classList.toggle("fb-confirm", verdict === "confirm");
      m.classList.toggle("fb-dispute", verdict === "dispute");
    });
  }
  function remember(j) {
    judged[key(j.technique, j.start, j.end)] = j;
    mark(j, j.verdict);
    render();
  }
  function forget(j) {
    var query = "?text_hash=" + encodeURIComponent(hash) + "&technique=" + encodeURIComponent(j.technique) +
      "&start=" + j.start + "&end=" + j.end;
    say("Removing\u2026");
    fetch(api + query, { method: "DELETE", headers: { accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok && r.status !== 404) { throw new Error("The server could not remove it (" + r.status + ")."); }
        delete judged[key(j.technique, j.start, j.end)];
        mark(j, null);
        render();
        heading.focus(); /* the button pressed is gone: keep the keyboard in the panel */
        say("Removed: " + WORDS[j.verdict].toLowerCase() + " " + labelOf(j.technique) + ", \u201c" + short(j.span) + "\u201d.");
      })
      .catch(function (err) { say(err.message, true); });
  }
  function told(data) {
    var j = data.judgement;
    var again = data.replaced && data.replaced !== j.verdict ? " (instead of your earlier " + data.replaced + ")" : "";
    say(WORDS[j.verdict] + ": " + labelOf(j.technique) + ", \u201c" + short(j.span) + "\u201d" + again + ". Kept on this computer.");
    remember(j);
  }
  fetch(api + "?text_hash=" + encodeURIComponent(hash), { headers: { accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
    .then(function (data) { data.judgements.forEach(remember); })
    .catch(function () { say("Your earlier judgements of this article could not be read.", true); });

  /* Confirm or dispute: a popover on a highlight (click, or Enter/Space on it) */
  function chain(node) {
    var out = [];
    while (node && node !== doc) {
      if (node.matches("mark.hl") && !node.classList.contains("off")) { out.push(node); }
      node = node.parentElement;
    }
    return out;
  }
  function place(target) {
    var r = target.getClientRects()[0] || target.getBoundingClientRect();
    var w = pop.offsetWidth, h = pop.offsetHeight;
    var left = Math.max(8, Math.min(r.left, document.documentElement.clientWidth - w - 8));
    var top = r.top - h - 8 > 0 ? r.top - h - 8 : r.bottom + 8;
    pop.style.left = (left + window.scrollX) + "px";
    pop.style.top = (top + window.scrollY) + "px";
  }
  function closePop(refocus) {
    if (pop.hidden) { return; }
    pop.hidden = true;
    if (refocus && opener) { opener.focus(); }
    opener = null;
  }
  function judge(m, verdict) {
    say("Saving\u2026");
    send({
      technique: m.dataset.technique,
      start: parseInt(m.dataset.start, 10),
      end: parseInt(m.dataset.end, 10),
      verdict: verdict,
      score: parseFloat(m.dataset.score)
    }).then(function (data) { told(data); closePop(true); }, function (err) { say(err.message, true); });
  }
  function openPop(mark) {
    var marks = chain(mark);
    if (!marks.length) { return; }
    popList.textContent = "";
    marks.forEach(function (m) {
      var technique = m.dataset.technique;
      var was = judged[key(technique, m.dataset.start, m.dataset.end)];
      var li = el("li", "fb-pop-item");
      li.appendChild(el("span", "fb-pop-label", labelOf(technique) + " \u00b7 " + pct(parseFloat(m.dataset.score))));
      [["confirm", "Confirm"], ["dispute", "Dispute"]].forEach(function (v) {
        var b = el("button", "fb-btn fb-" + v[0], v[1]);
        b.type = "button";
        b.setAttribute("aria-label", v[1] + " " + labelOf(technique));
        b.setAttribute("aria-pressed", String(!!was && was.verdict === v[0]));
        b.addEventListener("click", function () { judge(m, v[0]); });
        li.appendChild(b);
      });
      popList.appendChild(li);
    });
    opener = mark;
    if (tip) { tip.hidden = true; }
    pop.hidden = false;
    place(mark);
    pop.querySelector("button").focus();
  }
  document.addEventListener("click", function (e) {
    var mark = e.target.closest && e.target.closest("mark.hl:not(.off)");
    var sel = window.getSelection();
    if (mark && doc.contains(mark) && (!sel || sel.isCollapsed)) { openPop(mark); return; }
    if (!pop.contains(e.target)) { closePop(false); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { closePop(true); return; }
    if ((e.key === "Enter" || e.key === " ") && e.target.matches && e.target.matches("mark.hl:not(.off)")) {
      e.preventDefault();
      openPop(e.target);
    }
  });
  pop.addEventListener("focusout", function (e) {
    if (!e.relatedTarget || !pop.contains(e.relatedTarget)) { closePop(false); }
  });

  /* Add a missed technique: the selected words, as code point offsets into the text. Each
     paragraph's text element starts at its data-from offset; highlights only wrap its text. */
  function piece(range, p) {
    var r = document.createRange();
    r.selectNodeContents(p);
    if (range.compareBoundaryPoints(Range.START_TO_START, r) > 0) { r.setStart(range.startContainer, range.startOffset); }
    if (range.compareBoundaryPoints(Range.END_TO_END, r) < 0) { r.setEnd(range.endContainer, range.endOffset); }
    var before = document.createRange();
    before.setStart(p, 0);
    before.setEnd(r.startContainer, r.startOffset);
    return { from: parseInt(p.dataset.from, 10) + cp(before.toString()), text: r.toString() };
  }
  function selection() {
    var sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) { return null; }
    var range = sel.getRangeAt(0);
    var pieces = [];
    doc.querySelectorAll(".ptext").forEach(function (p) {
      if (range.intersectsNode(p)) {
        var found = piece(range, p);
        if (found.text.trim()) { pieces.push(found); }
      }
    });
    if (!pieces.length) { return null; }
    var first = pieces[0], last = pieces[pieces.length - 1];
    var head = first.text.replace(/^\s+/, ""), tail = last.text.replace(/\s+$/, "");
    var start = first.from + cp(first.text) - cp(head);
    var end = last.from + cp(tail);
    var quote = pieces.map(function (x) { return x.text; }).join(" \u2026 ").trim();
    return { start: start, end: end, quote: quote, exact: pieces.length === 1 ? head.replace(/\s+$/, "") : null };
  }
  document.addEventListener("selectionchange", function () {
    var found = selection();
    if (!found) { return; } /* a click elsewhere keeps the words chosen last */
    pending = found;
    selOut.textContent = "Add \u201c" + short(found.quote) + "\u201d as";
    addBtn.disabled = false;
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!pending) { say("Select the words in the article first.", true); return; }
    var body = { technique: picker.value, start: pending.start, end: pending.end, verdict: "add" };
    if (pending.exact !== null) { body.span = pending.exact; }
    if (noteInput.value.trim()) { body.note = noteInput.value.trim(); }
    say("Saving\u2026");
    send(body).then(function (data) {
      told(data);
      pending = null;
      addBtn.disabled = true;
      selOut.textContent = SELECT_HINT;
      noteInput.value = "";
    }, function (err) { say(err.message, true); });
  });
}());
