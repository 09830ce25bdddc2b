// Keyboard for the review screens: queue (J/K/Enter, Z), flag (A, label keys, E, M, X, C, L, Z, J/K, Q, +),
// audit (label keys). The server does the work; htmx swaps the next flag in.
(function () {
  "use strict";
  // The review screens' htmx settings (base.html's meta holds the site-wide ones; htmx reads one meta only):
  // a refused decision (400/403/409) is swapped in so the reviewer sees why and the flag's current state, and
  // a swapped panel is settled at once, so no key ever meets a panel whose attributes are still the old flag's.
  if (window.htmx) {
    window.htmx.config.defaultSettleDelay = 0;
    window.htmx.config.responseHandling = [
      { code: "204", swap: false }, { code: "[23]..", swap: true },
      { code: "(400|403|409)", swap: true, error: false }, { code: "...", swap: false, error: true },
    ];
  }
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
  // A decision is bound to the panel (flag, or audit item) on screen when its key was pressed. While a request
  // sent from that panel is in flight, further keys are ignored: they were aimed at a panel that is going away,
  // and must never act on the next one. htmx swaps in a new panel element, so the next flag takes keys at once.
  // No key is ever replayed later: a replayed key could land in a text field or on another flag.
  let inflight = null;
  function panelNow() { return $("#flag-panel") || $("#audit-form"); }
  function owner(el) { return el && el.closest ? el.closest("#flag-panel, #audit-form") : null; }
  document.addEventListener("htmx:beforeRequest", function (e) {
    const p = owner(e.detail && e.detail.elt); if (!p) return;
    inflight = p;
    // Close the reason/comment inputs before the swap: htmx would otherwise re-focus their (hidden) twins
    // in the next flag and swallow the reviewer's next key.
    document.querySelectorAll(".inline-form.open").forEach(function (f) { f.classList.remove("open"); });
    if (document.activeElement && document.activeElement.closest(".inline-form")) document.activeElement.blur();
  });
  function settled() { if (inflight && panelNow() !== inflight) inflight = null; }
  document.addEventListener("htmx:afterSwap", settled);
  document.addEventListener("htmx:afterRequest", function () { if (inflight && inflight.isConnected === false) inflight = null; });
  document.addEventListener("htmx:responseError", function () { inflight = null; });
  document.addEventListener("htmx:sendError", function () { inflight = null; });
  // Keys typed into a field (reason, comment, label picker, anything editable) are text, never shortcuts.
  function isField(el) {
    if (!el || !el.tagName) return false;
    const tag = el.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
  }
  // Press a decision button only if it belongs to the flag on screen when the key came (its form names that flag).
  function decide(btn, panel) {
    if (!btn || owner(btn) !== panel) return false;
    const form = btn.closest("form"), flag = form && form.querySelector("input[name=flag]");
    if (flag && panel.dataset.flag && flag.value !== panel.dataset.flag) return false;
    press(btn); return true;
  }
  document.addEventListener("click", function (e) {
    const r = e.target.closest("[data-reason-for]");
    if (r) { askReason(r.dataset.reasonFor); return; }
    if (e.target.closest("#comment-btn")) { openInline("comment-form", "comment-input"); return; }
    if (e.target.closest("#stage-img")) toggleZoom();
  });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const field = isField(e.target) ? e.target : (isField(document.activeElement) ? document.activeElement : null);
    if (field) {
      const tag = field.tagName.toLowerCase();
      if (e.key === "Escape") { const f = field.closest(".inline-form"); if (f) f.classList.remove("open"); field.blur(); }
      if (tag === "select" && e.key === "Enter") { decide($("#other-btn"), owner(field)); e.preventDefault(); }
      if (tag === "select" && e.key === "Escape") field.disabled = true;
      return;
    }
    const key = e.key.toLowerCase();
    if (document.getElementById("flag-table") || $("#undo-form")) {
      if (key === "j") { move(1); e.preventDefault(); }
      else if (key === "k") { move(-1); e.preventDefault(); }
      else if (key === "enter") { const cur = $("#flag-table tr.current"); if (cur) { window.location = cur.dataset.href; e.preventDefault(); } }
      else if (key === "z") { if (click("#undo-form button")) e.preventDefault(); }
      else if (key === "n" || key === "p") { const l = $(key === "n" ? "#page-next" : "#page-prev"); if (l) { window.location = l.href; e.preventDefault(); } }
      return;
    }
    const panel = panelNow();
    if (!panel) return;
    if (inflight === panel) { e.preventDefault(); return; }  // its decision is on its way: this key is dropped
    if (panel.id === "audit-form") {
      const b = panel.querySelector('button[data-key="' + CSS.escape(key) + '"]');
      if (b) { e.preventDefault(); press(b); }
      return;
    }
    if (e.repeat) { e.preventDefault(); return; }  // holding a key never decides two flags
    if (key === "z") { if (decide(panel.querySelector("#undo-btn"), panel)) e.preventDefault(); return; }
    if (key === "q") { const b = $("#back-btn") || $("#queue-link"); if (b) { window.location = b.href; e.preventDefault(); } return; }
    if (key === "j") { const l = $("#next-link"); if (l) { window.location = l.href; e.preventDefault(); } return; }
    if (key === "k") { const l = $("#prev-link"); if (l) { window.location = l.href; e.preventDefault(); } return; }
    if (key === "+" || key === "=") { toggleZoom(); e.preventDefault(); return; }
    if (!panel.querySelector("#decide-form")) return;
    if (key === "a") { if (decide(panel.querySelector("#accept-btn"), panel)) e.preventDefault(); return; }
    if (key === "e") { if (decide(panel.querySelector("#escalate-btn"), panel)) e.preventDefault(); return; }
    if (key === "m") { if (askReason("ambiguous")) e.preventDefault(); return; }
    if (key === "x") { if (askReason("exclude")) e.preventDefault(); return; }
    if (key === "c") { if (openInline("comment-form", "comment-input")) e.preventDefault(); return; }
    if (key === "l") { const s = $("#other-label"); if (s) { s.disabled = false; s.focus(); e.preventDefault(); } return; }
    const btn = panel.querySelector('#decide-form button[data-key="' + CSS.escape(key) + '"]');
    if (btn) { e.preventDefault(); decide(btn, panel); }
  });
})();
