/* unspin server pages: small enhancements; every page also works without this script.
   Text from the server is only ever set with textContent, never as HTML. */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  /* Forms: show that work is under way, and prevent double submission. */
  function busyForms() {
    document.querySelectorAll("form.work-form").forEach(function (form) {
      form.addEventListener("submit", function () {
        var status = form.querySelector(".busy");
        if (status) status.textContent = form.getAttribute("data-busy") || "Working…";
        form.setAttribute("aria-busy", "true");
        window.setTimeout(function () {
          form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        }, 0);
      });
    });
    var error = document.getElementById("form-error");
    if (error) error.focus();
  }

  /* Compare: add and remove article slots (the page shows three without JavaScript). */
  function compareSlots() {
    var form = document.getElementById("compare-form");
    var add = document.getElementById("add-slot");
    var box = document.getElementById("slots");
    if (!form || !add || !box) return;
    var max = parseInt(form.getAttribute("data-max"), 10) || 10;

    function slots() { return box.querySelectorAll("[data-slot]"); }

    function renumber() {
      var all = slots();
      all.forEach(function (slot, i) {
        slot.querySelector(".slot-n").textContent = String(i + 1);
        slot.querySelectorAll("textarea, input").forEach(function (field) {
          var base = field.name.replace(/_\d+$/, "");
          field.name = base + "_" + i;
          field.id = base + "_" + i;
        });
        slot.querySelectorAll("label").forEach(function (label) {
          var base = label.htmlFor.replace(/_\d+$/, "");
          label.htmlFor = base + "_" + i;
        });
        var remove = slot.querySelector(".remove-slot");
        if (remove) remove.hidden = all.length <= 2;
      });
      add.hidden = all.length >= max;
    }

    box.addEventListener("click", function (event) {
      var target = event.target;
      if (!(target instanceof HTMLElement) || !target.classList.contains("remove-slot")) return;
      var slot = target.closest("[data-slot]");
      if (slot && slots().length > 2) {
        slot.remove();
        renumber();
        add.focus();
      }
    });
    add.addEventListener("click", function () {
      var all = slots();
      if (all.length >= max) return;
      var copy = all[all.length - 1].cloneNode(true);
      copy.querySelectorAll("textarea, input").forEach(function (field) { field.value = ""; });
      box.appendChild(copy);
      renumber();
      var first = copy.querySelector("textarea");
      if (first) first.focus();
    });
    renumber();
  }

  /* Job page: poll the job API and list results as they arrive. */
  function resultItem(r) {
    var li = document.createElement("li");
    li.className = "result" + (r.error ? " result-error" : "");
    var title;
    if (r.report_url) {
      title = document.createElement("a");
      title.href = r.report_url;
      title.textContent = r.title || r.source;
    } else {
      title = document.createElement("span");
      title.textContent = r.source;
    }
    title.className = "result-title";
    li.appendChild(title);
    var meta = document.createElement("span");
    meta.className = "result-meta";
    if (r.error) {
      meta.textContent = r.error.message;
    } else {
      var parts = [];
      if (r.genre) parts.push(r.genre.charAt(0).toUpperCase() + r.genre.slice(1));
      parts.push(r.detections + (r.detections === 1 ? " detection" : " detections"));
      if (r.notes && r.notes.length) parts.push(r.notes.join(" "));
      meta.textContent = parts.join(" · ");
    }
    li.appendChild(meta);
    return li;
  }

  function followJob() {
    var box = document.getElementById("job");
    if (!box) return;
    var id = box.getAttribute("data-job");
    var since = parseInt(box.getAttribute("data-since"), 10) || 0;
    var single = box.getAttribute("data-single") === "1";
    var status = document.getElementById("job-status");
    var bar = document.getElementById("job-progress");
    var list = document.getElementById("job-results");
    var messages = document.getElementById("job-messages");
    var delay = 600;
    var failures = 0;
    if (box.getAttribute("data-status") === "done" || box.getAttribute("data-status") === "failed") return;

    function update(job) {
      job.results.forEach(function (r) { list.appendChild(resultItem(r)); });
      since = job.since + job.results.length;
      bar.max = Math.max(job.total, 1);
      bar.value = job.done;
      messages.textContent = "";
      job.messages.forEach(function (m) {
        var li = document.createElement("li");
        li.textContent = m;
        messages.appendChild(li);
      });
      var finished = job.status === "done" || job.status === "failed";
      status.textContent = finished
        ? "Finished: " + job.done + " of " + job.total + "."
        : "Working: " + job.done + " of " + job.total + " done…";
      if (finished) {
        var links = list.querySelectorAll("a.result-title");
        if (single && job.total === 1 && links.length === 1) {
          window.location.replace(links[0].href);
        }
        return false;
      }
      return true;
    }

    function poll() {
      fetch("/api/jobs/" + encodeURIComponent(id) + "?analyses=false&since=" + since, {
        headers: { Accept: "application/json" },
        cache: "no-store"
      })
        .then(function (response) {
          if (!response.ok) {
            return response.json().then(function (body) {
              throw new Error(body && body.error ? body.error.message : "HTTP " + response.status);
            }, function () { throw new Error("HTTP " + response.status); });
          }
          return response.json();
        })
        .then(function (job) {
          failures = 0;
          if (update(job)) {
            delay = Math.min(delay * 1.3, 3000);
            window.setTimeout(poll, delay);
          }
        })
        .catch(function (err) {
          failures += 1;
          if (failures >= 5) {
            status.textContent = "Lost contact with the server (" + err.message + "). Reload the page to try again.";
            return;
          }
          window.setTimeout(poll, 2000);
        });
    }
    window.setTimeout(poll, 300);
  }

  onReady(function () {
    busyForms();
    compareSlots();
    followJob();
  });
})();
