// Keyboard-first review (templates/review/page.html). Every action is a real form or link;
// this file only maps keys onto them, moves through search results, and prefetches the
// next item's image. Without it the page still works with the mouse (plain form posts).
//
// Keys typed while a card is on its way wait in a queue and apply, in order, to the cards
// that follow, one card each: at any typing speed every key is one htmx request. The next
// key waits for the new card's settle, not only for the response: htmx binds the new card's
// forms when it settles (~20 ms after the swap), and a key in between clicked an unbound
// button, which posted the form the plain way and reloaded the page.
//
// A queued "n" or "/" opens a text field only when its card is ready, so the keys typed after
// it (a proposal's text, a search, then Ctrl+Enter or Enter) are kept for that field and typed
// into it once it is focused; a fast typist's "Smart rings" is not cut to "rings".
(function () {
  "use strict";

  const MAX_QUEUED = 200;
  let busy = false; // a request for the card is on its way, or its answer has not settled
  const queued = []; // keys typed meanwhile, for the next cards
  const FIELD_KEYS = new Set(["n", "/"]); // keys that move the focus into a text field
  let forField = null; // keys typed after a queued field key: [{key, ctrlKey}], or null

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  function click(selector) {
    const el = $(selector);
    if (el && !el.disabled) {
      el.click();
      return true;
    }
    return false;
  }

  function prefetchNext() {
    const card = $("#review-card");
    const url = card && card.dataset.nextImage;
    if (url) {
      const img = new Image();
      img.src = url;
    }
  }

  function results() {
    return $$("#search-results button.result");
  }

  function moveActive(step) {
    const items = results();
    if (!items.length) return;
    let i = items.findIndex((b) => b.classList.contains("active"));
    items.forEach((b) => b.classList.remove("active"));
    i = (i + step + items.length) % items.length;
    items[i].classList.add("active");
    items[i].scrollIntoView({ block: "nearest" });
  }

  function closeAll() {
    const details = $("#not-in-taxonomy");
    if (details) details.open = false;
    const search = $("#category-search");
    if (search) search.value = "";
    const list = $("#search-results");
    if (list) list.innerHTML = "";
    if (document.activeElement) document.activeElement.blur();
  }

  function onSearchKey(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      moveActive(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      event.preventDefault(); // never let Enter here submit the search form or the top candidate
      const chosen = $("#search-results button.result.active") || results()[0];
      if (chosen) chosen.click();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeAll();
    }
  }

  function onNoteKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closeAll();
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      click("#propose-button");
    }
  }

  const actions = {
    Enter: () => click("button.candidate.top"),
    "/": () => {
      const search = $("#category-search");
      if (search) search.focus();
      return Boolean(search);
    },
    s: () => click("#skip-button"),
    u: () => click("#undo-button"),
    t: () => click("#open-tree"),
    z: () => {
      const figure = $(".review-image");
      if (figure) figure.classList.toggle("zoomed");
      return Boolean(figure);
    },
    n: () => {
      const details = $("#not-in-taxonomy");
      if (!details) return false;
      details.open = true;
      $("#proposal-note").focus();
      return true;
    },
    Escape: () => {
      closeAll();
      return true;
    },
  };

  function onKey(event) {
    const target = event.target;
    if (forField) {
      // A queued "n" or "/" has not opened its field yet: these keys are for that field.
      event.preventDefault();
      forField.push({ key: event.key, ctrlKey: event.ctrlKey || event.metaKey });
      return;
    }
    if (target.id === "category-search") return onSearchKey(event);
    if (target.id === "proposal-note") return onNoteKey(event);
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.matches("input, textarea, select")) return;
    // Enter on a focused button or link keeps its own meaning.
    if (event.key === "Enter" && target.matches("button, a, summary")) return;
    if (!(/^[1-9]$/.test(event.key) || actions[event.key])) return;
    event.preventDefault();
    if (busy || queued.length) {
      if (queued.length < MAX_QUEUED) queued.push(event.key);
      if (FIELD_KEYS.has(event.key)) forField = [];
      return;
    }
    act(event.key);
  }

  function act(key) {
    if (/^[1-9]$/.test(key)) return click(`button.candidate[data-shortcut="${key}"]`);
    return actions[key] ? actions[key]() : false;
  }

  // The queued keys, in order, until one sends a request (the rest wait for its card).
  function drain() {
    while (!busy && queued.length) {
      const key = queued.shift();
      act(key);
      if (!queued.length && forField && FIELD_KEYS.has(key)) typeIntoField();
    }
  }

  // The keys kept for the field a queued "n" or "/" just focused: characters are typed into
  // it; Enter, Ctrl+Enter, Escape and the arrows act as they would have there. A search's
  // Enter waits for its results (htmx:afterSettle below). Keys left once the field is
  // submitted or closed go to the queue, for the cards that follow.
  function typeIntoField(searchAnswered) {
    const field = document.activeElement;
    const keys = forField || [];
    forField = null;
    if (!field || !field.matches("#category-search, #proposal-note")) return;
    while (keys.length) {
      const { key, ctrlKey } = keys[0];
      if (key.length === 1 && !ctrlKey) {
        field.value += key;
      } else if (key === "Backspace") {
        field.value = field.value.slice(0, -1);
      } else if (key.length > 1 && !["Shift", "Control", "Meta", "Alt", "CapsLock"].includes(key)) {
        field.dispatchEvent(new Event("input", { bubbles: true }));
        if (field.id === "category-search" && !results().length && !searchAnswered) {
          forField = keys; // the search has not answered yet
          return;
        }
        const handler = field.id === "category-search" ? onSearchKey : onNoteKey;
        handler({ key, ctrlKey, metaKey: false, preventDefault() {} });
      }
      keys.shift();
      if (document.activeElement !== field) {
        for (const rest of keys) if (!rest.ctrlKey && rest.key.length === 1) queued.push(rest.key);
        return;
      }
    }
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function isCardRequest(event) {
    const elt = event.detail && event.detail.elt;
    return Boolean(elt && elt.closest && elt.closest("#review-card"));
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("click", (event) => {
    const figure = event.target.closest(".review-image");
    if (figure) figure.classList.toggle("zoomed");
  });
  document.addEventListener("htmx:beforeRequest", (event) => {
    // A decision, skip, undo or proposal (a retry too): the card will be replaced.
    if (isCardRequest(event) && event.detail.requestConfig.verb !== "get") busy = true;
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    // A card that arrived is not usable until it settles (htmx:load below); a decision that
    // failed keeps its card, usable now (requests.js shows why; the keys typed after it are
    // dropped there).
    const config = event.detail.requestConfig;
    if (!event.detail.successful && config && config.verb !== "get") busy = false;
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id === "review-card" || event.detail.target.id === "review-card") {
      prefetchNext();
      if (document.activeElement && document.activeElement !== document.body) {
        document.activeElement.blur();
      }
    }
  });
  document.addEventListener("htmx:load", (event) => {
    // The new card's forms are bound now: its keys may act.
    if (event.target.id === "review-card") {
      busy = false;
      drain();
    }
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    // A search answered while keys typed ahead for it wait (an Enter for its first result).
    const target = (event.detail && event.detail.target) || event.target;
    if (forField && target.id === "search-results" && !busy && !queued.length) {
      typeIntoField(true);
      drain();
    }
  });
  // A failed decision keeps its card (requests.js shows why and offers a retry): keys typed
  // after it were meant for the cards that did not come, so they are dropped, not replayed
  // onto this one.
  document.addEventListener("taxoloop:request-failed", () => {
    queued.length = 0;
    forField = null;
    busy = false;
  });
  document.addEventListener("DOMContentLoaded", prefetchNext);
})();
