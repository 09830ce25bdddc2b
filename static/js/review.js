// Keyboard for the review screens: queue (J/K/Enter, Z), flag (A, label keys, E, M, X, C, L, Z, J/K, Q, +),
// audit (label keys). The server does the work; htmx swaps the next flag in.
(function () {
  "use strict";
  function $(sel) { return document.querySelector(sel); }
  // htmx may not have wired up freshly swapped forms yet when a fast key comes: process first (idempotent).
  function press(el) { const form = el.closest("form"); if (form && window.htmx) window.htmx.process(form); el.click(); }
  function click(sel) { const el = $(sel); if (el) { press(el); return true; } return false; }
  function rows() { return Array.from(document.querySelectorAll("#flag-table tbody tr")); }
  function move(delta) {
    const all = rows(); if (!all.length) return;
    let i = all.findIndex(function (r) { return r.classList.contains("current"); });
    if (i >= 0) all[i].classList.remove("current");
    i = Math.min(all.length - 1, Math.max(0, i + delta));
    all[i].classList.add("current"); all[i].scrollIntoView({ block: "nearest" });
  }
  function openInline(formId, inputId) {
    const form = document.getElementById(formId), input = document.getElementById(inputId);
    if (!form || !input) return false;
    form.classList.add("open"); input.value = ""; input.focus(); return true;
  }
  function askReason(action) {
    const field = document.getElementById("reason-action"); if (!field) return false;
    field.value = action;
    const input = document.getElementById("reason-input");
    input.placeholder = (action === "exclude" ? "Why exclude it from training?" : "Why is it ambiguous?") + " Enter saves, Esc cancels";
    return openInline("reason-form", "reason-input");
  }
  function toggleZoom() { const s = document.getElementById("stage"); if (s && $("#stage-img")) s.classList.toggle("zoomed"); }
  // busy: a decision is in flight. A key pressed on the panel it was made on is dropped (no double decision);
  // a key pressed once the next panel is in the page, before htmx has settled it, is replayed right after
  // (it used to be lost, or to act on a form htmx had not wired up yet).
  let busy = false, busyPanel = null, pending = null;
  function panelNow() { return $("#flag-panel") || $("#audit-form"); }
  function replayPending() {
    if (pending === null) return;
    const key = pending; pending = null;
    setTimeout(function () { document.dispatchEvent(new KeyboardEvent("keydown", { key: key, bubbles: true })); }, 0);
  }
  document.addEventListener("htmx:beforeRequest", function () {
    busy = true; busyPanel = panelNow(); pending = null;
    // Close the reason/comment inputs before the swap: htmx would otherwise re-focus their (hidden) twins
    // in the next flag and swallow the reviewer's next key.
    document.querySelectorAll(".inline-form.open").forEach(function (f) { f.classList.remove("open"); });
    if (document.activeElement && document.activeElement.closest(".inline-form")) document.activeElement.blur();
  });
  // Free the keys once htmx has settled the new panel (its forms wired up); keys pressed since it appeared are replayed.
  document.addEventListener("htmx:afterSettle", function () { if (busy) { busy = false; replayPending(); } });
  document.addEventListener("htmx:responseError", function () { busy = false; });
  document.addEventListener("htmx:sendError", function () { busy = false; });
  document.addEventListener("click", function (e) {
    const r = e.target.closest("[data-reason-for]");
    if (r) { askReason(r.dataset.reasonFor); return; }
    if (e.target.closest("#comment-btn")) { openInline("comment-form", "comment-input"); return; }
    if (e.target.closest("#stage-img")) toggleZoom();
  });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") {
      if (e.key === "Escape") { const f = e.target.closest(".inline-form"); if (f) f.classList.remove("open"); e.target.blur(); }
      if (tag === "select" && e.key === "Enter") { click("#other-btn"); e.preventDefault(); }
      if (tag === "select" && e.key === "Escape") e.target.disabled = true;
      return;
    }
    const key = e.key.toLowerCase();
    if (document.getElementById("flag-table") || $("#undo-form")) {
      if (key === "j") { move(1); e.preventDefault(); }
      else if (key === "k") { move(-1); e.preventDefault(); }
      else if (key === "enter") { const cur = $("#flag-table tr.current"); if (cur) { window.location = cur.dataset.href; e.preventDefault(); } }
      else if (key === "z") { if (click("#undo-form button")) e.preventDefault(); }
      return;
    }
    if (document.getElementById("audit-form")) {
      if (busy) { if (panelNow() !== busyPanel) pending = e.key; e.preventDefault(); return; }
      const b = $('#audit-form button[data-key="' + CSS.escape(key) + '"]');
      if (b) { e.preventDefault(); press(b); }
      return;
    }
    if (!document.getElementById("flag-panel")) return;
    if (busy) { if (panelNow() !== busyPanel) pending = e.key; e.preventDefault(); return; }
    if (key === "z") { if (click("#undo-btn")) e.preventDefault(); return; }
    if (key === "q") { const b = $("#back-btn") || $("#queue-link"); if (b) { window.location = b.href; e.preventDefault(); } return; }
    if (key === "j") { const l = $("#next-link"); if (l) { window.location = l.href; e.preventDefault(); } return; }
    if (key === "k") { const l = $("#prev-link"); if (l) { window.location = l.href; e.preventDefault(); } return; }
    if (key === "+" || key === "=") { toggleZoom(); e.preventDefault(); return; }
    if (!document.getElementById("decide-form")) return;
    if (key === "a") { if (click("#accept-btn")) e.preventDefault(); return; }
    if (key === "e") { if (click("#escalate-btn")) e.preventDefault(); return; }
    if (key === "m") { if (askReason("ambiguous")) e.preventDefault(); return; }
    if (key === "x") { if (askReason("exclude")) e.preventDefault(); return; }
    if (key === "c") { if (openInline("comment-form", "comment-input")) e.preventDefault(); return; }
    if (key === "l") { const s = $("#other-label"); if (s) { s.disabled = false; s.focus(); e.preventDefault(); } return; }
    const btn = $('#decide-form button[data-key="' + CSS.escape(key) + '"]');
    if (btn) { e.preventDefault(); press(btn); }
  });
})();
