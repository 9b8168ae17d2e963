/* Feedback while a long import or export runs (loaded on every page; no inline script).

   <form data-busy="Importing…">: on submit, the submit button shows Pico's spinner (aria-busy) and the
   words go into the page's status region (read out by screen readers); a second press does nothing.

   <a data-busy="Preparing the file…" href="….xlsx">: a download does not leave the page, so the link adds
   a one-off download_token to its address; the server answers the file with a cookie holding that token
   (careapp.web), and when the cookie appears the spinner stops and the status says data-done. */
(function () {
  "use strict";

  /* The status region sits right after what was pressed, where the person is looking (on a phone the top
     of the page is screens away). */
  function statusRegion(near) {
    var region = document.getElementById("busy-status");
    if (!region) {
      region = document.createElement("p");
      region.id = "busy-status";
      region.className = "message";
      region.setAttribute("role", "status");
      region.hidden = true;
    }
    if (near && region.previousElementSibling !== near) near.insertAdjacentElement("afterend", region);
    return region;
  }

  function say(words, near) {
    var region = statusRegion(near);
    region.textContent = words;
    region.hidden = !words;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-busy]")) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var button = event.submitter || form.querySelector("[type=submit]");
    if (button) button.setAttribute("aria-busy", "true");
    say(form.dataset.busy, form);
  });

  var COOKIE = "careapp_download=";

  function cookieToken() {
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(COOKIE) === 0; })[0];
    return found ? found.slice(COOKIE.length) : null;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-busy]");
    if (!link || link.getAttribute("aria-busy") === "true") return;
    var token = String(Date.now()) + String(Math.floor(Math.random() * 1e6));
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("download_token", token);
    link.href = url.toString();
    link.setAttribute("aria-busy", "true");
    var near = link.closest("p, li, div") || link;
    say(link.dataset.busy, near);
    var waited = 0;
    var timer = window.setInterval(function () {
      waited += 500;
      if (cookieToken() === token || waited > 120000) {
        window.clearInterval(timer);
        link.removeAttribute("aria-busy");
        say(cookieToken() === token ? (link.dataset.done || "") : "", near);
      }
    }, 500);
  });
})();
