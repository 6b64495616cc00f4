// Requests for action list: say so when a request in the user's scope is sent or changes elsewhere (the
// province acknowledges, the centre sends a new one), so nobody works from a stale list. Reloading stays
// the user's choice.
(function () {
  "use strict";
  var banner = document.getElementById("requests-changed");
  if (!banner) { return; }
  document.addEventListener("soc:live", function (event) {
    if (event.detail.kind === "request.updated") { banner.hidden = false; }
  });
}());
