// The subsidy overview's charts; data and translated labels come in #overview-data (JSON).
(function () {
  const source = document.getElementById("overview-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const labels = data.labels;
  const num = (xs) => xs.map((x) => (x === null ? null : Number(x)));
  new Chart(document.getElementById("chart-disbursement"), {type: "bar", data: {labels: data.disbursement.labels, datasets: [
    {label: labels.due, data: num(data.disbursement.due), backgroundColor: "#c7e3c0"},
    {label: labels.paid, data: num(data.disbursement.paid), backgroundColor: "#198754"}]}});
  new Chart(document.getElementById("chart-products"), {type: "bar", data: {labels: data.products.labels, datasets: [
    {label: labels.premium, data: num(data.products.premium), backgroundColor: "#0d6efd"}]}, options: {indexAxis: "y"}});
  const pct = num(data.growth.pct);
  new Chart(document.getElementById("chart-growth"), {type: "bar", data: {labels: data.growth.labels, datasets: [
    {label: labels.growth, data: pct, backgroundColor: pct.map((v) => (v !== null && v < 0 ? "#dc3545" : "#198754"))}]}});
})();
