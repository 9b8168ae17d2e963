/* <button type="button" data-print>: prints the page (no inline onclick: the Content-Security-Policy allows
   no inline script). Loaded by the printable sheets (templates/meals/_print.html, templates/rosters/_print.html). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) window.print();
  });
})();
