// "Select all" toggles every checkbox of its form (the confusion cell's bulk relabel); static for the CSP.
document.addEventListener("click", function (event) {
  const button = event.target.closest("#select-all");
  if (!button) return;
  const boxes = button.form ? button.form.querySelectorAll("input[name=items]") : [];
  const all = Array.from(boxes).every(function (b) { return b.checked; });
  boxes.forEach(function (b) { b.checked = !all; });
});
