/* releasewatch board: refresh <main> every 15 s without losing the scroll position.
   A static file (not inline) so the pages' Content-Security-Policy allows only 'self'.
   Without JavaScript the page's <noscript> meta refresh reloads it every 30 s instead. */
(function () {
  "use strict";
  var EVERY = 15000;
  var main = document.querySelector("main");
  if (!main || !window.fetch || !window.DOMParser) {
    return;
  }
  function say(text) {
    var el = document.getElementById("last-refreshed");
    if (el) {
      el.textContent = text;
    }
  }
  function scrollers() {
    return Array.prototype.map.call(document.querySelectorAll(".rw-table-scroll"), function (el) {
      return el.scrollLeft;
    });
  }
  function refresh() {
    fetch(window.location.href, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { "X-Releasewatch-Refresh": "1" }
    })
      .then(function (response) {
        // 503: the store cannot be read, and the page says so: show it too
        if (!response.ok && response.status !== 503) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main");
        if (!fresh) {
          throw new Error("no main in the page");
        }
        var x = window.scrollX;
        var y = window.scrollY;
        var lefts = scrollers();
        var focused = document.activeElement && document.activeElement.id;
        main.innerHTML = fresh.innerHTML;
        document.title = doc.title;
        Array.prototype.forEach.call(document.querySelectorAll(".rw-table-scroll"), function (el, i) {
          if (lefts[i]) {
            el.scrollLeft = lefts[i];
          }
        });
        window.scrollTo(x, y);
        if (focused) {
          var again = document.getElementById(focused);
          if (again) {
            again.focus({ preventScroll: true });
          }
        }
      })
      .catch(function () {
        var now = new Date().toLocaleTimeString("en-GB", { timeZone: "Europe/London" });
        say("Could not refresh at " + now + "; trying again in 15 seconds.");
      })
      .then(function () {
        window.setTimeout(refresh, EVERY);
      });
  }
  window.setTimeout(refresh, EVERY);
})();
