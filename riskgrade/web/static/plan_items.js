/* The plan wizard's inspection items (抽查事项): only the groups of the chosen domain and the general items are
   shown; the others are hidden and their boxes disabled, so they are not posted.  No inline script. */
(function () {
  "use strict";
  function items() {
    var sel = document.getElementById("new_domain");
    var groups = document.querySelectorAll(".items-group");
    if (!sel || !groups.length) { return; }
    var update = function () {
      groups.forEach(function (g) {
        var on = g.getAttribute("data-domain") === sel.value || g.getAttribute("data-domain") === "general";
        g.hidden = !on;
        g.querySelectorAll("input").forEach(function (i) { i.disabled = !on; });
      });
    };
    sel.addEventListener("change", update);
    update();
  }
  document.addEventListener("DOMContentLoaded", items);
}());
