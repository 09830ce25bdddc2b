// Keyboard shortcuts for the labeling page; the server does the work, htmx swaps the next item in.
(function () {
  "use strict";
  function panel() { return document.getElementById("item-panel"); }
  // The keys are freed on htmx's swap, which can come before htmx has wired up the new forms: process the
  // form first (a no-op when it is already done), so a fast key press never becomes a full-page submit.
  function press(el) { const form = el.closest("form"); if (form && window.htmx) window.htmx.process(form); el.click(); }
  function click(selector) { const el = document.querySelector(selector); if (el) press(el); return !!el; }
  function openDialog(id) { const d = document.getElementById(id); if (d && !d.open) d.showModal(); }
  function stampSeconds() {
    const p = panel(), field = document.querySelector("#label-form input[name=seconds]");
    if (p && field) field.value = Math.max(0, Date.now() / 1000 - Number(p.dataset.shown || Date.now() / 1000)).toFixed(2);
  }
  function markShown() { const p = panel(); if (p) p.dataset.shown = String(Date.now() / 1000); }
  // A key pressed on the item whose label is in flight is dropped (one label per item); one pressed once the
  // next item is in the page, before htmx has settled it, is replayed right after (it was lost).
  let busy = false, busyPanel = null, pending = null;
  function replayPending() {
    if (pending === null) return;
    const key = pending; pending = null;
    setTimeout(function () { document.dispatchEvent(new KeyboardEvent("keydown", { key: key, bubbles: true })); }, 0);
  }
  // busy: a label (or skip/undo) request for the item panel is in flight; other htmx polls do not count.
  function forPanel(e) { const t = e.detail && e.detail.target; return !!t && t.id === "labeling"; }
  document.addEventListener("htmx:beforeRequest", function (e) { if (forPanel(e)) { busy = true; busyPanel = panel(); pending = null; } });
  document.addEventListener("htmx:afterSwap", function (e) { if (forPanel(e)) markShown(); });
  // Free the keys once htmx has settled the new item (its forms wired up); keys pressed since it appeared are replayed.
  document.addEventListener("htmx:afterSettle", function (e) { if (busy && forPanel(e)) { busy = false; replayPending(); } });
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
    if (busy && key !== "?") { if (panel() !== busyPanel && !e.repeat) pending = e.key; e.preventDefault(); return; }
    if (e.repeat && key !== "?") { e.preventDefault(); return; }  // one label per item: no key repeat
    if (key === "?") { openDialog("help-dialog"); e.preventDefault(); return; }
    if (key === "g") { openDialog("guidelines-dialog"); e.preventDefault(); return; }
    if (key === "s") { if (click("#skip-btn")) e.preventDefault(); return; }
    if (key === "u") { if (click("#undo-btn")) e.preventDefault(); return; }
    if (key === "enter") { if (click('#label-form button[data-suggested="1"]')) e.preventDefault(); return; }
    const btn = document.querySelector('#label-form button[data-key="' + CSS.escape(key) + '"]');
    if (btn) { e.preventDefault(); press(btn); }
  });
  document.addEventListener("DOMContentLoaded", markShown);
})();
