// A form with data-confirm="question" asks before it is submitted (deleting a holiday, a draft claim):
// a click cannot undo what the server does next.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);

// A button with data-print prints the page (no inline onclick: the Content-Security-Policy allows no inline script).
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-print]");
  if (button) {
    window.print();
  }
});
