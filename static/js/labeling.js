// Keyboard shortcuts for the labeling page; the server does the work, htmx swaps the next item in.
(function () {
  "use strict";
  function panel() { return document.getElementById("item-panel"); }
  function click(selector) { const el = document.querySelector(selector); if (el) el.click(); return !!el; }
  function openDialog(id) { const d = document.getElementById(id); if (d && !d.open) d.showModal(); }
  function stampSeconds() {
    const p = panel(), field = document.querySelector("#label-form input[name=seconds]");
    if (p && field) field.value = Math.max(0, Date.now() / 1000 - Number(p.dataset.shown || Date.now() / 1000)).toFixed(2);
  }
  function markShown() { const p = panel(); if (p) p.dataset.shown = String(Date.now() / 1000); }
  let busy = false;
  // busy: a label (or skip/undo) request for the item panel is in flight; other htmx polls do not count.
  function forPanel(e) { const t = e.detail && e.detail.target; return !!t && t.id === "labeling"; }
  document.addEventListener("htmx:beforeRequest", function (e) { if (forPanel(e)) busy = true; });
  // Free the keys as soon as the next item is in the page (swap), not after htmx's settle delay: a key
  // pressed in between would otherwise be lost.
  document.addEventListener("htmx:afterSwap", function (e) { if (forPanel(e)) { busy = false; markShown(); } });
  document.addEventListener("htmx:responseError", function (e) { if (forPanel(e)) busy = false; });
  document.addEventListener("htmx:sendError", function (e) { if (forPanel(e)) busy = false; });
  document.addEventListener("submit", function (e) { if (e.target.id === "label-form") stampSeconds(); }, true);
  document.addEventListener("click", function (e) {
    const opener = e.target.closest("[data-open]");
    if (opener) openDialog(opener.dataset.open);
  });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (document.querySelector("dialog[open]")) return;  // Esc closes dialogs natively
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    const key = e.key.toLowerCase();
    if ((busy || e.repeat) && key !== "?") { e.preventDefault(); return; }  // one label per item: no key repeat
    if (key === "?") { openDialog("help-dialog"); e.preventDefault(); return; }
    if (key === "g") { openDialog("guidelines-dialog"); e.preventDefault(); return; }
    if (key === "s") { if (click("#skip-btn")) e.preventDefault(); return; }
    if (key === "u") { if (click("#undo-btn")) e.preventDefault(); return; }
    if (key === "enter") { if (click('#label-form button[data-suggested="1"]')) e.preventDefault(); return; }
    const btn = document.querySelector('#label-form button[data-key="' + CSS.escape(key) + '"]');
    if (btn) { e.preventDefault(); btn.click(); }
  });
  document.addEventListener("DOMContentLoaded", markShown);
})();
