// A form with data-confirm="question" asks before it is submitted (deleting a holiday, a draft claim):
// a click cannot undo what the server does next.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
