// Keyboard-first review (templates/review/page.html). Every action is a real form or link;
// this file only maps keys onto them, moves through search results, and prefetches the
// next item's image. Without it the page still works with the mouse (plain form posts).
(function () {
  "use strict";

  let busy = false; // a decision is on its way: ignore keys until the next card arrives

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
    if (target.id === "category-search") return onSearchKey(event);
    if (target.id === "proposal-note") return onNoteKey(event);
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.matches("input, textarea, select")) return;
    // Enter on a focused button or link keeps its own meaning.
    if (event.key === "Enter" && target.matches("button, a, summary")) return;
    if (busy) {
      event.preventDefault();
      return;
    }
    let done = false;
    if (/^[1-9]$/.test(event.key)) {
      done = click(`button.candidate[data-shortcut="${event.key}"]`);
    } else if (actions[event.key]) {
      done = actions[event.key]();
    }
    if (done) event.preventDefault();
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("click", (event) => {
    const figure = event.target.closest(".review-image");
    if (figure) figure.classList.toggle("zoomed");
  });
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.target.closest("#review-card form[hx-post]")) busy = true;
  });
  document.addEventListener("htmx:afterRequest", () => {
    busy = false;
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id === "review-card" || event.detail.target.id === "review-card") {
      prefetchNext();
      if (document.activeElement && document.activeElement !== document.body) {
        document.activeElement.blur();
      }
    }
  });
  document.addEventListener("DOMContentLoaded", prefetchNext);
})();
