// Provincial home: say so when a request for action or an incident of the province arrives or changes, so the
// person on duty does not work from a stale list. The reload stays their choice (they may be typing).
(function () {
  "use strict";
  var banner = document.getElementById("home-changed");
  if (!banner) { return; }
  var kinds = ["request.updated", "incident.created", "incident.updated"];
  document.addEventListener("soc:live", function (event) {
    if (kinds.indexOf(event.detail.kind) >= 0) { banner.hidden = false; }
  });
}());
