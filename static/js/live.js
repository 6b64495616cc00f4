// Live incident feed: new incidents appear at the top of the list without reload, changed ones in place.
// Messages come from the shared socket (socket.js). Everything from the server is inserted with textContent:
// log content is hostile. Labels (severity, status) come translated from the page (json_script).
(function () {
  "use strict";
  var rows = document.getElementById("incident-rows");
  var status = document.getElementById("live-status");
  if (!rows) { return; }
  var labelsNode = document.getElementById("incident-labels");
  var labels = labelsNode ? JSON.parse(labelsNode.textContent) : { severity: {}, status: {} };

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    return td;
  }

  function timeCell(iso) {
    var td = document.createElement("td");
    td.appendChild(window.socTime ? window.socTime.element(iso) : document.createTextNode(iso));
    return td;
  }

  function firstCell(incident) {
    var td = document.createElement("td");
    if (rows.dataset.selectable === "true") {
      var box = document.createElement("input");
      box.type = "checkbox";
      box.name = "keys";
      box.value = incident.key;
      td.append(box, " ");
    }
    var link = document.createElement("a");
    link.href = rows.dataset.detailUrl.replace("KEY", encodeURIComponent(incident.key));
    link.textContent = incident.key;
    td.appendChild(link);
    return td;
  }

  function render(incident) {
    var existing = rows.querySelector('tr[data-key="' + CSS.escape(incident.key) + '"]');
    var tr = document.createElement("tr");
    tr.dataset.key = incident.key;
    tr.className = "arrived";
    tr.append(firstCell(incident), cell(incident.title),
      cell(labels.severity[incident.severity] || incident.severity, "sev sev-" + incident.severity),
      cell(labels.status[incident.status] || incident.status), cell(incident.province),
      cell(String(incident.alert_count)), timeCell(incident.created_at));
    var empty = rows.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    if (existing) {
      var box = existing.querySelector("input[name=keys]");
      var kept = tr.querySelector("input[name=keys]");
      if (box && kept) { kept.checked = box.checked; }  // a live update must not drop the user's selection
      if (existing.classList.contains("focused")) { tr.classList.add("focused"); }
      existing.replaceWith(tr);
    } else {
      rows.prepend(tr);
    }
    document.dispatchEvent(new CustomEvent("soc:rows-changed"));
  }

  function setState(state) {
    if (!status) { return; }
    status.dataset.state = state;
    status.textContent = status.getAttribute("data-label-" + state) || state;
  }

  document.addEventListener("soc:socket", function (event) { setState(event.detail); });
  document.addEventListener("soc:live", function (event) {
    var message = event.detail;
    if (message.kind === "incident.created" || message.kind === "incident.updated") { render(message.incident); }
  });
  if (document.documentElement.dataset.live) { setState(document.documentElement.dataset.live); }
}());
