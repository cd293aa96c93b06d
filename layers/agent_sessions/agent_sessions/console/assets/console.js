// agent-sessions console: keeps every <time data-countdown> counting (no other script on the pages).
(function () {
  "use strict";
  function relative(target) {
    var seconds = Math.round((target - Date.now()) / 1000), size = Math.abs(seconds), amount;
    if (size < 60) { amount = size + " s"; }
    else if (size < 3600) { amount = Math.floor(size / 60) + " min"; }
    else if (size < 172800) { amount = Math.floor(size / 3600) + " h " + Math.floor(size % 3600 / 60) + " min"; }
    else { amount = Math.floor(size / 86400) + " d"; }
    return seconds >= 0 ? "in " + amount : amount + " ago";
  }
  function tick() {
    var clocks = document.querySelectorAll("time[data-countdown]");
    for (var i = 0; i < clocks.length; i++) {
      var at = Date.parse(clocks[i].getAttribute("datetime"));
      if (!isNaN(at)) { clocks[i].textContent = relative(at); }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
