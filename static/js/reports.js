// Keyboard for the reports (templates/reports/report.html). Every action is a real link or
// form handled by htmx; this file maps keys onto them: j/k move between rows, e or Enter opens
// the picker in the focused row's label cell, x selects the row for a bulk assignment; inside
// a picker ↑/↓ move through the results, Enter saves the highlighted one, Esc cancels.
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  let lastRow = null; // the item id of the row last focused, to focus it again after a swap

  function results(picker) {
    return $$(".picker-results button.result", picker);
  }

  function moveActive(picker, step) {
    const items = results(picker);
    if (!items.length) return;
    let i = items.findIndex((b) => b.classList.contains("active"));
    items.forEach((b) => b.classList.remove("active"));
    i = (i + step + items.length) % items.length;
    items[i].classList.add("active");
    items[i].scrollIntoView({ block: "nearest" });
  }

  function onPickerKey(event, form) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      moveActive(form, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      event.preventDefault(); // Enter saves the highlighted category, never the typed text
      if (form.dataset.pending) {
        form.dataset.enter = "1"; // results for the typed text are on their way: pick from those
        return;
      }
      const chosen = $(".picker-results button.result.active", form) || results(form)[0];
      if (chosen) chosen.click();
    } else if (event.key === "Escape") {
      event.preventDefault();
      const cancel = $(".picker-cancel", form);
      if (cancel) cancel.click();
      else event.target.value = "";
    }
  }

  function rows() {
    return $$("#report-table tr.report-row");
  }

  function focusRow(step) {
    const all = rows();
    if (!all.length) return;
    const i = all.indexOf(document.activeElement.closest("tr.report-row"));
    const next = all[Math.min(Math.max(i + step, 0), all.length - 1)];
    next.focus();
  }

  function onRowKey(event, row) {
    if (event.key === "e" || event.key === "Enter") {
      const edit = $(".cat-cell.label a.cell-edit", row);
      if (edit) {
        event.preventDefault();
        lastRow = row.dataset.item;
        edit.click();
      }
    } else if (event.key === "x") {
      const box = $("input.row-select", row);
      if (box) {
        event.preventDefault();
        box.checked = !box.checked;
      }
    }
  }

  function onKey(event) {
    const target = event.target;
    const form = target.closest && target.closest("form");
    if (target.classList.contains("picker-input") && form) return onPickerKey(event, form);
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.matches("input, textarea, select")) return;
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      focusRow(event.key === "j" ? 1 : -1);
      return;
    }
    const row = target.closest && target.closest("tr.report-row");
    if (row && target === row) onRowKey(event, row);
  }

  function pickAfterSearch(form) {
    delete form.dataset.pending;
    if (!form.dataset.enter) return;
    delete form.dataset.enter;
    const chosen = $(".picker-results button.result.active", form) || results(form)[0];
    if (chosen) chosen.click();
  }

  document.addEventListener("keydown", onKey);
  // Typing makes the list stale until its search answers; Enter meanwhile waits for it.
  document.addEventListener("input", (event) => {
    const form = event.target.classList.contains("picker-input") && event.target.closest("form");
    if (form) form.dataset.pending = "1";
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = event.detail.elt;
    if (elt && elt.classList && elt.classList.contains("picker-input")) {
      const form = elt.closest("form");
      if (form) pickAfterSearch(form);
    }
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    const el = event.detail.target;
    if (!el || !el.matches || !el.matches("tr.report-row, tr")) return;
    const row = document.getElementById(el.id) || $(`tr.report-row[data-item="${lastRow}"]`);
    const input = row && $(".picker-input", row);
    if (input) input.focus();
    else if (row) row.focus();
  });
})();
