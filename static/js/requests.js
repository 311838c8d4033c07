// Failed htmx requests, on every page (templates/base.html). htmx leaves the page as it was
// when a request fails (a 503 while the database is busy, a 500, the network): without this
// file nothing showed it, and a reviewer's key seemed ignored. Here a failure shows a banner
// that says what happened and that nothing was saved, the element stays as it was (the item,
// the reviewer's choice marked), and the same request can be sent again with one key (r) or
// the banner's button. A 503 or a network error is retried once by itself after Retry-After.
// Decisions carry an idempotency token, so a retry of a request that did land adds nothing.
(function () {
  "use strict";

  const AUTO_RETRIES = 1;
  let failed = null; // {verb, path, values, source, target, swap, submitter, tries}
  let timer = null;

  function banner() {
    let el = document.getElementById("request-error");
    if (!el) {
      el = document.createElement("div");
      el.id = "request-error";
      el.className = "request-error";
      el.setAttribute("role", "alert");
      el.hidden = true;
      el.innerHTML =
        '<p class="request-error-text"></p>' +
        '<button type="button" id="request-retry"><kbd>r</kbd> Try again</button> ' +
        '<button type="button" id="request-dismiss" class="secondary">Dismiss</button>';
      (document.querySelector("main") || document.body).prepend(el);
      el.querySelector("#request-retry").addEventListener("click", retry);
      el.querySelector("#request-dismiss").addEventListener("click", hide);
    }
    return el;
  }

  function serverText(xhr) {
    if (!xhr || !xhr.responseText) return "";
    const type = xhr.getResponseHeader("Content-Type") || "";
    let text = xhr.responseText;
    if (type.includes("json")) {
      try {
        const body = JSON.parse(text);
        text = body.detail || body.message || body.error || "";
      } catch (e) {
        text = "";
      }
    } else {
      const doc = new DOMParser().parseFromString(text, "text/html");
      const alert = doc.querySelector("[role=alert], .notice.error, p");
      text = alert ? alert.textContent : doc.body.textContent;
    }
    text = String(text).replace(/\s+/g, " ").trim();
    return text.length > 240 ? text.slice(0, 237) + "…" : text;
  }

  function describe(detail, status) {
    const what = detail.requestConfig && detail.requestConfig.verb !== "get"
      ? "Nothing was saved."
      : "The page was not updated.";
    if (!status) return `The server could not be reached. ${what}`;
    const said = serverText(detail.xhr).replace(/[.!]+$/, "");
    return `The server answered ${status}${said ? `: ${said}` : ""}. ${what}`;
  }

  function show(message, retrying) {
    const el = banner();
    el.querySelector(".request-error-text").textContent =
      message + (retrying ? " Trying again…" : " Press r or “Try again” to send it again.");
    el.hidden = false;
    document.body.classList.add("has-request-error");
    // Out of a text field (a report's picker), so that r, or Enter on the button, retries.
    if (!retrying) el.querySelector("#request-retry").focus({ preventScroll: true });
  }

  function hide() {
    const el = document.getElementById("request-error");
    if (el) el.hidden = true;
    document.body.classList.remove("has-request-error");
    if (failed && failed.submitter) failed.submitter.classList.remove("request-failed");
    failed = null;
    clearTimeout(timer);
  }

  function swapOf(elt) {
    const owner = elt && elt.closest ? elt.closest("[hx-swap]") : null;
    return owner ? owner.getAttribute("hx-swap") : "innerHTML";
  }

  function valuesOf(config) {
    const values = {};
    if (config.formData) {
      for (const [name, value] of config.formData.entries()) {
        if (!(name in values)) values[name] = value;
      }
    }
    return values;
  }

  function isPoll(elt) {
    const trigger = elt && elt.getAttribute && elt.getAttribute("hx-trigger");
    return Boolean(trigger && /\bevery\b/.test(trigger));
  }

  function retryAfter(xhr) {
    const seconds = Number(xhr && xhr.getResponseHeader("Retry-After"));
    return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 10) * 1000 : 1500;
  }

  function onFailure(event) {
    const detail = event.detail;
    const config = detail.requestConfig;
    if (!config || isPoll(config.elt)) return; // polls refresh themselves on their next tick
    const status = detail.xhr ? detail.xhr.status : 0;
    const submitter = config.triggeringEvent && config.triggeringEvent.submitter;
    if (failed && failed.submitter && failed.submitter !== submitter) {
      failed.submitter.classList.remove("request-failed");
    }
    const again = failed && failed.path === config.path && failed.verb === config.verb;
    failed = {
      verb: config.verb,
      path: config.path,
      values: valuesOf(config),
      source: config.elt,
      target: config.target,
      swap: swapOf(config.elt),
      submitter: submitter || (failed && failed.submitter) || null,
      tries: again ? failed.tries : 0,
    };
    if (failed.submitter) failed.submitter.classList.add("request-failed");
    const transient = status === 0 || status === 503;
    const auto = transient && failed.tries < AUTO_RETRIES;
    show(describe(detail, status), auto);
    document.dispatchEvent(new CustomEvent("taxoloop:request-failed", { detail: { status } }));
    clearTimeout(timer);
    if (auto) timer = setTimeout(retry, retryAfter(detail.xhr));
  }

  function retry() {
    if (!failed) return false;
    clearTimeout(timer);
    failed.tries += 1;
    const target = failed.target && document.body.contains(failed.target) ? failed.target : null;
    const source = failed.source && document.body.contains(failed.source) ? failed.source : target;
    if (!target) {
      window.location.reload(); // the element is gone: the page itself is the retry
      return true;
    }
    banner().querySelector(".request-error-text").textContent = "Sending again…";
    document.dispatchEvent(new CustomEvent("taxoloop:request-retry"));
    htmx.ajax(failed.verb.toUpperCase(), failed.path, {
      source: source,
      target: target,
      swap: failed.swap,
      values: failed.values,
    });
    return true;
  }

  document.addEventListener("htmx:responseError", onFailure);
  document.addEventListener("htmx:sendError", onFailure);
  document.addEventListener("htmx:timeout", onFailure);
  document.addEventListener("htmx:afterRequest", (event) => {
    const xhr = event.detail.xhr;
    if (failed && event.detail.successful && xhr && xhr.status < 400) {
      const config = event.detail.requestConfig;
      if (config && config.path === failed.path) hide();
    }
  });
  // r sends the failed request again; capture phase, before the page's own keys.
  document.addEventListener(
    "keydown",
    (event) => {
      if (!failed || event.key !== "r" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.matches && event.target.matches("input, textarea, select")) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      retry();
    },
    true,
  );
  window.taxoloopRequests = { retry: retry, pending: () => Boolean(failed) };
})();
