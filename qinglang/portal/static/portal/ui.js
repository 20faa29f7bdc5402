// Small behaviours of every page, without inline handlers (Content-Security-Policy).
"use strict";

// Tabs loaded with htmx: the tab that loaded becomes the active one.
document.addEventListener("htmx:afterRequest", function (e) {
  var a = e.detail && e.detail.elt;
  if (!a || !a.closest || !a.closest("#detail-tabs")) return;
  document.querySelectorAll("#detail-tabs .nav-link").forEach(function (x) { x.classList.toggle("active", x === a); });
});
