// Fill the unit from the chosen product unless the user typed one (the units come in #product-units, JSON).
(function () {
  const source = document.getElementById("product-units");
  const product = document.getElementById("product_id"), unit = document.getElementById("unit");
  if (!source || !product || !unit) {
    return;
  }
  const units = JSON.parse(source.textContent);
  function sync() { if (!unit.value || unit.dataset.auto === "1") { unit.value = units[product.value] || ""; unit.dataset.auto = "1"; } }
  unit.addEventListener("input", () => { unit.dataset.auto = "0"; });
  product.addEventListener("change", sync); sync();
})();
