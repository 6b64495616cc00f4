// Incident page: say so when the incident or one of its requests for action changes elsewhere (another
// analyst, the province), instead of silently showing stale facts. The reload stays the user's choice.
(function () {
  "use strict";
  var banner = document.getElementById("incident-changed");
  if (!banner) { return; }
  var key = banner.dataset.key;
  document.addEventListener("soc:live", function (event) {
    var message = event.detail;
    var about = message.incident && (message.incident.key || message.incident);
    if (about === key && (message.kind === "incident.updated" || message.kind === "request.updated")) {
      banner.hidden = false;
    }
  });
}());
