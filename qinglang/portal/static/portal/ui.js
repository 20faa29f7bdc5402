// Small behaviours of every page, without inline handlers (Content-Security-Policy).
"use strict";

// Tabs loaded with htmx: the tab that loaded becomes the active one.
document.addEventListener("htmx:afterRequest", function (e) {
  var a = e.detail && e.detail.elt;
  if (!a || !a.closest || !a.closest("#detail-tabs")) return;
  document.querySelectorAll("#detail-tabs .nav-link").forEach(function (x) { x.classList.toggle("active", x === a); });
});

// <select data-autosubmit>: choosing an option submits its form (filters).
document.addEventListener("change", function (e) {
  var el = e.target;
  if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
});

// <body data-print-on-load>: print views open the print dialogue once loaded.
window.addEventListener("load", function () {
  if (document.body && document.body.hasAttribute("data-print-on-load") && window.print) window.print();
});

// <button data-print>: print this page (receipts).
document.addEventListener("click", function (e) {
  var el = e.target && e.target.closest ? e.target.closest("[data-print]") : null;
  if (el && window.print) window.print();
});

// <span id="ql-geo" data-unsupported data-located data-failed>: fill the latitude and
// longitude fields from the phone's position, when the phone gives it.
document.addEventListener("DOMContentLoaded", function () {
  var note = document.getElementById("ql-geo");
  if (!note) return;
  if (!navigator.geolocation) { note.textContent = note.dataset.unsupported; return; }
  navigator.geolocation.getCurrentPosition(function (p) {
    document.getElementById("id_latitude").value = p.coords.latitude.toFixed(6);
    document.getElementById("id_longitude").value = p.coords.longitude.toFixed(6);
    note.textContent = note.dataset.located + " " + p.coords.latitude.toFixed(5) + ", " + p.coords.longitude.toFixed(5);
  }, function () { note.textContent = note.dataset.failed; }, {timeout: 10000});
});

// <a data-back>: back to the previous page (error pages).
document.addEventListener("click", function (e) {
  var el = e.target && e.target.closest ? e.target.closest("[data-back]") : null;
  if (el && window.history.length > 1) { e.preventDefault(); window.history.back(); }
});

// Phone cards: each cell of a table with a heading row carries its column's heading as
// data-label (qinglang.css shows it before the value on narrow screens).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("main table.table").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length) return;
    var labels = Array.prototype.map.call(heads, function (th) { return th.textContent.trim(); });
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      var i = 0;
      Array.prototype.forEach.call(tr.children, function (td) {
        if (!td.hasAttribute("data-label") && labels[i]) td.setAttribute("data-label", labels[i]);
        i += td.colSpan || 1;
      });
    });
  });
});
