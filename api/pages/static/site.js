// Sortable tables: a click (or Enter/Space: they are buttons) on a column header sorts the
// rows by that column's data-sort values, numbers as numbers, then by text.
document.addEventListener("click", function (event) {
  var button = event.target.closest("table.sortable thead th button");
  if (!button) return;
  var th = button.parentElement;
  var table = th.closest("table");
  var index = Array.prototype.indexOf.call(th.parentElement.children, th);
  var ascending = th.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
  th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  function key(row) {
    var cell = row.children[index];
    var sort = cell.getAttribute("data-sort");
    return sort !== null ? parseFloat(sort) : cell.textContent.trim();
  }
  rows.sort(function (a, b) {
    var x = key(a), y = key(b);
    var order = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y), "zh-CN");
    return ascending ? order : -order;
  });
  rows.forEach(function (row) { body.appendChild(row); });
});
