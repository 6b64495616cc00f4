// Investigation timeline (incidents/_timeline.html): a new item of this incident, of a kind the reader shows,
// appears at the top of the first page as it happens. Messages come from the shared socket (socket.js) as
// "timeline.item" (incidents.services.live.broadcast_timeline); every server value is set with textContent.
// New alerts (an "incident.updated" with a higher alert count) show a notice with a link that loads them.
(function () {
  "use strict";
  var list = document.getElementById("investigation-timeline");
  if (!list || list.dataset.live !== "true") { return; }
  var key = list.dataset.key;
  var kinds = (list.dataset.kinds || "").split(" ");
  var lang = document.documentElement.lang || "vi";

  function span(className, text) {
    var node = document.createElement("span");
    node.className = className;
    node.textContent = text;
    return node;
  }

  function inLanguage(value) {
    return value && typeof value === "object" ? (value[lang] || value.vi || value.en || "") : String(value || "");
  }

  function render(item) {
    if (kinds.indexOf(item.kind) < 0 || list.querySelector('li[data-ref="' + CSS.escape(item.ref) + '"]')) { return; }
    var li = document.createElement("li");
    li.className = "tl tl-" + item.kind + " arrived";
    li.dataset.kind = item.kind;
    li.dataset.ref = item.ref;
    var when = span("tl-when", "");
    when.appendChild(window.socTime ? window.socTime.element(item.at, true) : document.createTextNode(item.at));
    li.append(when, " ", span("tl-kind", inLanguage(item.kind_label)));
    if (item.actor) { li.append(" ", span("tl-actor", item.actor)); }
    li.append(" ", span("tl-text", inLanguage(item.text)));
    var empty = list.querySelector("li.empty");
    if (empty) { empty.remove(); }
    list.prepend(li);
  }

  // Alerts join an incident without a timeline entry (detection touches the incident): say so, and let the
  // reader load them, rather than guess their lines here.
  function alertsArrived(incident) {
    var notice = document.getElementById("timeline-new-alerts");
    if (notice && kinds.indexOf("alert") >= 0 && Number(incident.alert_count) > Number(list.dataset.alertCount)) {
      notice.hidden = false;
    }
  }

  document.addEventListener("soc:live", function (event) {
    var message = event.detail;
    if (message.kind === "timeline.item" && message.incident === key && message.item) { render(message.item); }
    if (message.kind === "incident.updated" && message.incident && message.incident.key === key) {
      alertsArrived(message.incident);
    }
  });
}());
