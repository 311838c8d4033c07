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
//
// The tree browser (#review-tree.open) follows the WAI-ARIA tree pattern with a roving
// tabindex: one row at a time is active (class "active", and its link or button has the focus,
// so a screen reader reads it). Up/Down/Home/End move among the trail, the "choose this node"
// button and the children; Right or Enter opens an inner node, Left goes up a level, Enter on a
// leaf chooses it (the same decide form as a click), Esc closes the tree. A new level is on its
// way while its request runs and until it settles, like a card: keys typed meanwhile wait in
// the same queue and apply to the new level once its row is active (the first child after a
// drill, the node you came from after Left), so they are never lost nor applied to the level
// that was on screen when they were typed.
//
// A note on the decision ("m" by default) opens #decision-note inside the decide form, so
// whichever category is then chosen carries it. Keys typed there are text; Esc leaves the field
// and keeps the note (then 1-9, Enter, "/" or the tree decide as usual), Ctrl+Enter accepts the
// top candidate with it. A queued "m" keeps the keys typed after it for the note, as "n" does.
//
// Guidelines (details.guideline under a candidate, a search result or a tree row) open with a
// click, Enter or Space on their summary, or all the candidates' at once with "g". Keys typed
// while the focus is on a link inside a guideline's text do nothing here (the link keeps
// Enter); Esc leaves it.
//
// The letter keys are the reviewer's own (the page's #review-hotkeys, set at review/keys/);
// the digits, Enter, Esc and the arrows are the same for everyone.
(function () {
  "use strict";

  const MAX_QUEUED = 200;
  let busy = false; // a request for the card is on its way, or its answer has not settled
  let treeBusy = false; // a level of the tree is on its way, or its answer has not settled
  let treeFocus = null; // the node whose row is active when that level arrives (null: first child)
  const queued = []; // keys typed meanwhile, for the next cards (or the next level of the tree)
  let forField = null; // keys typed after a queued field key: [{key, ctrlKey}], or null

  const DEFAULT_KEYS = {
    search: "/", tree: "t", skip: "s", note: "n", comment: "m", guides: "g", undo: "u", zoom: "z", help: "?",
  };
  const keys = Object.assign({}, DEFAULT_KEYS, readKeys());
  // keys that focus a text field
  const FIELD_KEYS = new Set([keys.note, keys.search, keys.comment].filter(Boolean));
  const FIELDS = "#category-search, #proposal-note, #decision-note";
  const TREE_KEYS = new Set(["ArrowDown", "ArrowUp", "ArrowLeft", "ArrowRight", "Home", "End", "Enter", "Escape"]);

  function readKeys() {
    const el = document.getElementById("review-hotkeys");
    try {
      return el ? JSON.parse(el.textContent) : {};
    } catch (e) {
      return {};
    }
  }

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

  // The note on a decision: Esc leaves it (the text stays, for the category chosen next),
  // Ctrl+Enter accepts the top candidate with it.
  function onDecisionNoteKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      $("#decision-note").blur();
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      click("button.candidate.top");
    }
  }

  const fieldHandler = (field) =>
    ({ "category-search": onSearchKey, "proposal-note": onNoteKey, "decision-note": onDecisionNoteKey })[field.id];

  // All the candidates' guidelines open (or all closed, when every one is open already).
  function toggleGuides() {
    const guides = $$("#review-card ol.candidates details.guideline");
    if (!guides.length) return false;
    const open = guides.some((d) => !d.open);
    guides.forEach((d) => (d.open = open));
    return true;
  }

  // -- the tree browser ----------------------------------------------------------------------

  const openTree = () => $("#review-tree.open");
  const treeRows = () => $$("#review-tree.open [data-tree-row]");
  const rowOf = (el) => el.closest("li") || el; // what carries the "active" mark
  const activeRow = (rows) => rows.findIndex((row) => rowOf(row).classList.contains("active"));

  function activate(index) {
    const rows = treeRows();
    if (!rows.length) return false;
    const at = Math.max(0, Math.min(index, rows.length - 1));
    rows.forEach((row, i) => {
      row.tabIndex = i === at ? 0 : -1;
      rowOf(row).classList.toggle("active", i === at);
    });
    rows[at].focus();
    rows[at].scrollIntoView({ block: "nearest" });
    return true;
  }

  // A level arrived (or the page came with one): its row to start from is active.
  function treeArrived() {
    treeBusy = false;
    const rows = treeRows();
    let at = treeFocus ? rows.findIndex((row) => rowOf(row).dataset.node === treeFocus) : -1;
    if (at < 0) at = rows.findIndex((row) => row.closest("ul.tree-children"));
    treeFocus = null;
    if (rows.length) activate(Math.max(at, 0));
  }

  // Left: the level above, with the node we were in active there.
  function treeUp() {
    const trail = $$("#review-tree.open .trail a");
    if (trail.length < 2) return false; // the top level has no parent
    trail[trail.length - 2].click();
    return true;
  }

  // Esc: the tree as it was before it opened (its "Browse the tree" link, from the template).
  function closeTree() {
    const tree = openTree();
    const closed = tree && tree.querySelector("template.tree-closed");
    if (!closed) return false;
    tree.classList.remove("open");
    tree.replaceChildren(closed.content.cloneNode(true));
    htmx.process(tree);
    showKeys(tree);
    return true;
  }

  function onTreeKey(key) {
    const rows = treeRows();
    const at = activeRow(rows);
    const row = rows[at];
    if (key === "ArrowDown") return activate(at + 1);
    if (key === "ArrowUp") return activate(Math.max(at - 1, 0));
    if (key === "Home") return activate(0);
    if (key === "End") return activate(rows.length - 1);
    if (key === "ArrowLeft") return treeUp();
    if (key === "Escape") return closeTree();
    if (!row || (key === "ArrowRight" && !row.matches("a.drill"))) return false;
    row.click(); // Right or Enter: an inner node or the trail opens its level, a leaf is chosen
    return true;
  }

  // The tree takes its keys while it is open and the focus is in it (or nowhere), and while a
  // level is on its way or an open-the-tree key waits in the queue.
  function treeWants(target) {
    if (treeBusy || (keys.tree && queued.includes(keys.tree))) return true;
    return treeHasFocus(target);
  }

  function treeHasFocus(target) {
    const tree = openTree();
    const focus = target || document.activeElement;
    return Boolean(tree) && (!focus || focus === document.body || tree.contains(focus));
  }

  // -- the help panel and the reviewer's keys ------------------------------------------------

  const helpOpen = () => Boolean($("#hotkey-help") && $("#hotkey-help").open);

  function toggleHelp() {
    const help = $("#hotkey-help");
    if (!help) return false;
    if (help.open) help.close();
    else help.showModal();
    return true;
  }

  function onHelpKey(event) {
    if (event.key === "Escape" || event.key === keys.help) {
      event.preventDefault();
      $("#hotkey-help").close();
    }
  }

  // The key hints (<kbd data-hotkey="skip">) show the reviewer's keys: a card or a level of
  // the tree that htmx brings is rendered with the defaults (the reviewer's keys cost a query,
  // and the decision's round trip has none to spare).
  function showKeys(root) {
    for (const kbd of $$("kbd[data-hotkey]", root)) {
      const key = keys[kbd.dataset.hotkey];
      kbd.textContent = key || "";
      kbd.hidden = !key;
    }
  }

  const named = {
    search: () => {
      const search = $("#category-search");
      if (search) search.focus();
      return Boolean(search);
    },
    skip: () => click("#skip-button"),
    undo: () => click("#undo-button"),
    tree: () => (openTree() ? activate(Math.max(activeRow(treeRows()), 0)) : click("#open-tree")),
    zoom: () => {
      const figure = $(".review-image");
      if (figure) figure.classList.toggle("zoomed");
      return Boolean(figure);
    },
    note: () => {
      const details = $("#not-in-taxonomy");
      if (!details) return false;
      details.open = true;
      $("#proposal-note").focus();
      return true;
    },
    comment: () => {
      const details = $("#decision-note-box");
      if (!details) return false;
      details.open = true;
      $("#decision-note").focus();
      return true;
    },
    guides: toggleGuides,
    help: toggleHelp,
  };
  const actions = {
    Enter: () => click("button.candidate.top"),
    Escape: () => {
      closeAll();
      return true;
    },
  };
  for (const [name, key] of Object.entries(keys)) {
    if (key && named[name] && !/^[1-9]$/.test(key)) actions[key] = named[name];
  }

  function onKey(event) {
    const target = event.target;
    if (forField) {
      // A queued "n" or "/" has not opened its field yet: these keys are for that field.
      event.preventDefault();
      forField.push({ key: event.key, ctrlKey: event.ctrlKey || event.metaKey });
      return;
    }
    if (helpOpen()) return onHelpKey(event);
    if (target.matches && target.matches(FIELDS)) return fieldHandler(target)(event);
    if (target.closest && target.closest(".guideline-body")) {
      // a link in a guideline's text: its own keys only; Esc leaves it
      if (event.key === "Escape") target.blur();
      return;
    }
    // a guideline's summary opens and closes with Enter and Space, also in the tree
    if ((event.key === "Enter" || event.key === " ") && target.matches("details.guideline > summary")) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.matches("input, textarea, select")) return;
    const forTree = TREE_KEYS.has(event.key) && treeWants(target);
    // Enter on a focused button or link keeps its own meaning (in the tree, its row's).
    if (!forTree && event.key === "Enter" && target.matches("button, a, summary")) return;
    if (!(forTree || /^[1-9]$/.test(event.key) || actions[event.key])) return;
    event.preventDefault();
    if (busy || treeBusy || queued.length) {
      if (queued.length < MAX_QUEUED) queued.push(event.key);
      if (FIELD_KEYS.has(event.key)) forField = [];
      return;
    }
    act(event.key);
  }

  function act(key) {
    if (helpOpen()) return key === keys.help || key === "Escape" ? toggleHelp() : false;
    if (TREE_KEYS.has(key) && treeHasFocus()) return onTreeKey(key);
    if (/^[1-9]$/.test(key)) return click(`button.candidate[data-shortcut="${key}"]`);
    return actions[key] ? actions[key]() : false;
  }

  // The queued keys, in order, until one sends a request (the rest wait for its card, or for
  // the tree's next level).
  function drain() {
    while (!busy && !treeBusy && queued.length) {
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
    if (!field || !field.matches(FIELDS)) return;
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
        fieldHandler(field)({ key, ctrlKey, metaKey: false, preventDefault() {} });
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
    // A level of the tree: from a trail link, the node after it on the trail (the one we
    // were in) is active once it arrives; otherwise the first child.
    const target = event.detail.target;
    if (target && target.id === "review-tree") {
      treeBusy = true;
      const trail = $$("#review-tree .trail a");
      const next = trail[trail.indexOf(event.detail.elt) + 1];
      treeFocus = trail.includes(event.detail.elt) && next ? next.dataset.node : null;
    }
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    // A card that arrived is not usable until it settles (htmx:load below); a decision that
    // failed keeps its card, usable now (requests.js shows why; the keys typed after it are
    // dropped there).
    const config = event.detail.requestConfig;
    if (!event.detail.successful && config && config.verb !== "get") busy = false;
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    showKeys(document); // in the same task as the swap: the defaults are never painted
    if (event.target.id === "review-card" || event.detail.target.id === "review-card") {
      prefetchNext();
      if (document.activeElement && document.activeElement !== document.body) {
        document.activeElement.blur();
      }
    }
  });
  document.addEventListener("htmx:load", (event) => {
    // The new card's forms are bound now: its keys may act. It has no tree level on its way.
    if (event.target.id === "review-card") {
      busy = false;
      treeBusy = false;
      treeFocus = null;
      drain();
    } else if (event.target.id === "review-tree") {
      treeArrived(); // its row is active (and focused) before the queued keys apply to it
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
    treeBusy = false;
  });
  document.addEventListener("DOMContentLoaded", () => {
    prefetchNext();
    if (openTree()) treeArrived(); // the tree's page without htmx (a level opened as a link)
  });
})();
