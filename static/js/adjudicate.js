// The adjudication card's keys (templates/review/adjudicate.html lists them).
// The card's keys (listed beside it): digits mark an answer, n the note, / the search, Enter decides.
(function () {
  "use strict";
  const form = document.getElementById("adjudicate-form");
  const note = document.getElementById("adjudicate-note");
  const search = document.getElementById("category-search");
  function typing(el) {
    return el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && el.type !== "radio" && el.type !== "checkbox");
  }
  function mark(radio) {
    if (!radio || radio.disabled) return;
    radio.checked = true;
    radio.focus();
  }
  document.addEventListener("keydown", function (e) {
    const el = e.target;
    if (e.key === "Enter" && el === note && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Enter" && el === search) {
      e.preventDefault();  // not the search form's page load: mark the first result
      mark(document.querySelector("#search-results input[type=radio]"));
      return;
    }
    if (typing(el)) {
      if (e.key === "Escape") el.blur();
      return;
    }
    if (/^[1-9]$/.test(e.key)) {
      e.preventDefault();
      mark(form.querySelector('input[data-answer="' + e.key + '"]'));
    } else if (e.key === "n") {
      e.preventDefault();
      note.focus();
    } else if (e.key === "/") {
      e.preventDefault();
      search.focus();
      search.select();
    } else if (e.key === "Enter" && !["A", "BUTTON", "SUMMARY"].includes(el.tagName)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
})();
