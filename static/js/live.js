// Live incident feed: new incidents appear at the top of the list without reload.
// Everything from the server is inserted with textContent: log content is hostile.
(function () {
  "use strict";
  var rows = document.getElementById("incident-rows");
  var status = document.getElementById("live-status");
  if (!rows) { return; }

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    return td;
  }

  function render(incident) {
    var existing = rows.querySelector('tr[data-key="' + CSS.escape(incident.key) + '"]');
    var tr = document.createElement("tr");
    tr.dataset.key = incident.key;
    tr.className = "arrived";
    var link = document.createElement("a");
    link.href = rows.dataset.detailUrl.replace("KEY", encodeURIComponent(incident.key));
    link.textContent = incident.key;
    var first = document.createElement("td");
    first.appendChild(link);
    tr.append(first, cell(incident.title), cell(incident.severity, "sev sev-" + incident.severity),
      cell(incident.status), cell(incident.province), cell(String(incident.alert_count)),
      cell(incident.created_at.slice(0, 16).replace("T", " ")));
    var empty = rows.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    if (existing) { existing.replaceWith(tr); } else { rows.prepend(tr); }
  }

  function setState(state) {
    status.dataset.state = state;
    status.textContent = state;
  }

  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/incidents/");
    socket.onopen = function () { delay = 1000; setState("live"); };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.kind === "incident.created" || message.kind === "incident.updated") {
        render(message.incident);
      }
    };
    socket.onclose = function () {
      setState("offline");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
}());
