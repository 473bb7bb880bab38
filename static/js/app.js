/* Small, CSP-friendly behaviour: visible htmx errors and the countdown. No inline code. */
(function () {
  "use strict";

  function alerts() { return document.getElementById("alerts"); }

  function clearAlerts() { var box = alerts(); if (box) { box.replaceChildren(); } }

  function showAlert(message, href, label) {
    var box = alerts();
    if (!box) { return; }
    var p = document.createElement("p");
    p.className = "alert";
    p.textContent = message + " ";
    if (href && href.charAt(0) === "/" && href.charAt(1) !== "/") {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = label || "Continue";
      p.appendChild(a);
    }
    box.replaceChildren(p);
    box.scrollIntoView({ block: "nearest" });
  }

  // htmx 2 does not swap 4xx/5xx responses: show the server's message instead of nothing.
  function isSignal(evt) {
    var path = evt.detail.requestConfig && evt.detail.requestConfig.path;
    return Boolean(path && /\/events$/.test(path));
  }

  document.addEventListener("htmx:responseError", function (evt) {
    if (isSignal(evt)) { return; }  // background signals never interrupt the candidate
    var xhr = evt.detail.xhr, message = "", link = null;
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var el = doc.querySelector("[data-error-message]");
      if (el) { message = el.textContent.trim(); }
      link = doc.querySelector("a[data-error-link]");
    } catch (e) { /* not HTML: fall back to the status */ }
    showAlert(message || ("The server answered " + xhr.status + ": your last action did not complete. Please try again."),
              link && link.getAttribute("href"), link && link.textContent);
  });

  // A question form that could not reach the server is sent again with the same fields
  // (the answer the candidate gave, and where they wanted to go) until it gets through.
  var retry = { timer: null, delay: 2000 };

  function resend(form, nav) {
    retry.timer = null;
    if (!document.body.contains(form)) { return; }  // the candidate moved on meanwhile
    // The form's current fields (the latest answer) plus the navigation that was asked for.
    window.htmx.ajax("POST", form.getAttribute("hx-post"), {
      source: form, target: "#question", swap: "outerHTML", values: { nav: nav || "stay" }
    });
  }

  function networkError(evt) {
    var config = evt.detail.requestConfig;
    var form = config && config.elt && config.elt.closest && config.elt.closest("#question form");
    if (!form) {
      showAlert("The connection failed, so nothing was saved. Check your network and try again.");
      return;
    }
    var seconds = Math.round(retry.delay / 1000);
    showAlert("No connection: your answer is not saved yet. Trying again in " + seconds +
              " s; keep this page open.");
    var nav = config.formData && config.formData.get("nav");
    if (retry.timer) { clearTimeout(retry.timer); }
    retry.timer = setTimeout(function () { resend(form, nav); }, retry.delay);
    retry.delay = Math.min(retry.delay * 2, 30000);
  }

  document.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail.successful) { retry.delay = 2000; }
  });
  document.addEventListener("htmx:sendError", function (evt) { if (!isSignal(evt)) { networkError(evt); } });
  document.addEventListener("htmx:timeout", function (evt) { if (!isSignal(evt)) { networkError(evt); } });
  document.addEventListener("htmx:beforeRequest", function (evt) { if (!isSignal(evt)) { clearAlerts(); } });

  // After a new question is swapped in, move focus to it so keyboard and screen-reader
  // users continue from the question, not from the (replaced) button they pressed.
  document.addEventListener("htmx:afterSettle", function () {
    var question = document.getElementById("question");
    if (question && question.getAttribute("data-focus") === "1") {
      question.focus({ preventScroll: true });
      question.scrollIntoView({ block: "nearest" });
    }
  });

  function tick() {
    var nodes = document.querySelectorAll("time[data-deadline]");
    nodes.forEach(function (node) {
      // Round up: 0:00 only once the server's deadline has really passed.
      var left = Math.max(0, Math.ceil((Date.parse(node.getAttribute("data-deadline")) - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      node.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      if (left === 0) { node.classList.add("over"); }
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
})();

/* Copy buttons: <button data-copy="input-id">. */
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("button[data-copy]");
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = document.querySelector("[data-copy-status]");
    if (!input) { return; }
    if (input.select) { input.select(); }
    var done = function () { if (status) { status.textContent = "Copied to the clipboard."; } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        if (status) { status.textContent = "Press Ctrl+C (or Cmd+C) to copy the selected link."; }
      });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();

/* Integrity signals: leaving the page and pasting are posted as events (facts for reviewers). */
(function () {
  "use strict";
  var lastLost = 0, unloading = false;

  // Reloading or following a link also hides the page: that is not leaving the quiz.
  window.addEventListener("beforeunload", function () { unloading = true; });
  window.addEventListener("pageshow", function () { unloading = false; });

  function send(kind) {
    if (unloading) { return; }
    var question = document.getElementById("question");
    if (!question || !window.htmx) { return; }
    var url = question.getAttribute("data-events-url");
    if (!url) { return; }
    if (kind === "focus_lost") {
      // blur and visibilitychange both fire when the tab is left: count it once.
      if (Date.now() - lastLost < 2000) { return; }
      lastLost = Date.now();
    }
    window.htmx.ajax("POST", url, {
      source: question, swap: "none",
      values: { kind: kind, detail: "question " + question.getAttribute("data-question") }
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { send("focus_lost"); }
  });
  window.addEventListener("blur", function () { send("focus_lost"); });
  document.addEventListener("paste", function (evt) {
    if (evt.target && evt.target.closest && evt.target.closest("#question")) { send("paste"); }
  });
})();
