// Ties every field marked invalid to its message(s) for screen readers (aria-invalid, aria-describedby) where the
// template did not (hand-written tables; the _macros.html field macro does it itself); runs once per page load.
(function () {
  let counter = 0;
  document.querySelectorAll(".is-invalid").forEach(function (field) {
    if (field.hasAttribute("aria-invalid")) { return; }   // tied already by the _macros.html field macro
    field.setAttribute("aria-invalid", "true");
    const ids = [];
    let next = field.nextElementSibling;
    while (next) {
      if (next.classList.contains("invalid-feedback") || next.classList.contains("text-danger")) {
        if (!next.id) { next.id = "field-error-" + (++counter); }
        ids.push(next.id);
      }
      next = next.nextElementSibling;
    }
    const own = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (ids.length) { field.setAttribute("aria-describedby", own.concat(ids).join(" ")); }
  });
})();
