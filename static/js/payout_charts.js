// The measured-service chart of the payouts pages; data and translated labels come in #service-data (JSON).
(function () {
  const source = document.getElementById("service-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  new Chart(document.getElementById("chart-service"), {type: "bar", data: {labels: data.labels, datasets: [
    {label: data.names.loss_ratio, data: data.loss_ratio},
    {label: data.names.within, data: data.within}]},
    options: {responsive: true, plugins: {legend: {position: "bottom"}}}});
})();
