// Keyboard navigation for the review queue (J/K/Enter) and decisions on a flag (A, label keys).
(function () {
  "use strict";
  function rows() { return Array.from(document.querySelectorAll("#flag-table tbody tr")); }
  function move(delta) {
    const all = rows(); if (!all.length) return;
    let i = all.findIndex(function (r) { return r.classList.contains("current"); });
    if (i >= 0) all[i].classList.remove("current");
    i = Math.min(all.length - 1, Math.max(0, i + delta));
    all[i].classList.add("current"); all[i].scrollIntoView({ block: "nearest" });
  }
  let busy = false;
  document.addEventListener("htmx:beforeRequest", function () { busy = true; });
  document.addEventListener("htmx:afterSettle", function () { busy = false; });
  document.addEventListener("htmx:responseError", function () { busy = false; });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    const key = e.key.toLowerCase();
    if (document.getElementById("flag-table")) {
      if (key === "j") { move(1); e.preventDefault(); }
      else if (key === "k") { move(-1); e.preventDefault(); }
      else if (key === "enter") { const cur = document.querySelector("#flag-table tr.current"); if (cur) { window.location = cur.dataset.href; e.preventDefault(); } }
      return;
    }
    if (!document.getElementById("decide-form")) return;
    if (busy) { e.preventDefault(); return; }
    if (key === "a") { document.getElementById("accept-btn").click(); e.preventDefault(); return; }
    const btn = document.querySelector('#decide-form button[data-key="' + CSS.escape(key) + '"]');
    if (btn) { e.preventDefault(); btn.click(); }
  });
})();
