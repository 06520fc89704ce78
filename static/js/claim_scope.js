// A claim's county, product and year (subsidies' claim form, underwriting's new claim from a list): offer only the
// products the insurer underwrites in the chosen county and year. The form carries its underwriting assignments as
// data-scope-combos: [[region id, product id, first year, last year], ...]. The server checks the same rule.
(function () {
  document.querySelectorAll("form[data-scope-combos]").forEach(function (form) {
    var combos = JSON.parse(form.getAttribute("data-scope-combos"));
    var region = form.querySelector("[name=region_id]"), product = form.querySelector("[name=product_id]"),
        year = form.querySelector("[name=year]");
    if (!region || !product || !year) return;
    function narrow() {
      var r = Number(region.value), y = Number(year.value);
      Array.prototype.forEach.call(product.options, function (option) {
        if (!option.value) return;
        var p = Number(option.value);
        option.disabled = !combos.some(function (c) { return c[0] === r && c[1] === p && c[2] <= y && y <= c[3]; });
      });
    }
    region.addEventListener("change", narrow);
    year.addEventListener("change", narrow);
    narrow();
  });
})();
