/* Live job progress: every [data-job-progress] element polls its data-url (GET /jobs/<id>.json) every second
   until the job is done or failed, and updates its Bootstrap progress bar, status, message and error; elsewhere
   on the page, the job's times ([data-job-id][data-job-field]) and, once it is finished, what its kind shows
   ([data-job-detail], e.g. a failed import's errors). */
(function () {
  "use strict";
  if (window.agriJobProgress) { window.agriJobProgress.scan(); return; }

  var STATUS_CLASSES = {queued: "text-bg-secondary", running: "text-bg-primary", done: "text-bg-success",
                        failed: "text-bg-danger"};

  function show(el, visible) { el.classList.toggle("d-none", !visible); }

  function render(box, data) {
    var bar = box.querySelector(".progress-bar");
    var outer = box.querySelector(".progress");
    var pct = Math.max(0, Math.min(100, data.progress | 0));
    bar.style.width = pct + "%";
    bar.textContent = pct + "%";
    outer.setAttribute("aria-valuenow", String(pct));
    var badge = box.querySelector(".job-status");
    badge.className = "job-status badge " + (STATUS_CLASSES[data.status] || "text-bg-secondary");
    badge.textContent = data.status_label;
    badge.setAttribute("data-status", data.status);
    box.querySelector(".job-message").textContent = data.message || "";
    if (data.status === "done") {
      bar.className = "progress-bar bg-success";
      box.querySelector(".job-summary-text").textContent = data.summary || data.message || "";
      var link = box.querySelector(".job-redirect");
      if (data.redirect) { link.href = data.redirect; }
      show(link, !!data.redirect);
      show(box.querySelector(".job-summary"), true);
      if (data.redirect && box.getAttribute("data-auto-redirect") === "true") { window.location.assign(data.redirect); }
    } else if (data.status === "failed") {
      bar.className = "progress-bar bg-danger";
      box.querySelector(".job-error-text").textContent = data.error || "";
      show(box.querySelector(".job-error"), true);
    }
  }

  function fill(data) {
    var fields = document.querySelectorAll("[data-job-id='" + data.id + "'][data-job-field]");
    for (var i = 0; i < fields.length; i++) {
      var value = data[fields[i].getAttribute("data-job-field")];
      if (value) { fields[i].textContent = value; }
    }
    if (data.finished && typeof data.detail_html === "string") {
      var detail = document.querySelector("[data-job-detail='" + data.id + "']");
      if (detail) { detail.innerHTML = data.detail_html; }  // drawn by the server, escaped there
    }
  }

  function poll(box) {
    var url = box.getAttribute("data-url");
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) {
        render(box, data);
        fill(data);
        if (!data.finished) { window.setTimeout(function () { poll(box); }, 1000); }
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 3000); });
  }

  function scan() {
    var boxes = document.querySelectorAll("[data-job-progress]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.getAttribute("data-polling")) { continue; }
      box.setAttribute("data-polling", "true");
      var status = box.querySelector(".job-status").getAttribute("data-status");
      if (status !== "done" && status !== "failed") { poll(box); }
    }
  }

  window.agriJobProgress = {scan: scan};
  scan();
})();
