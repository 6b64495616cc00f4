// Incident page, tasks: a task finished or moved elsewhere (the province ticks off its part, an analyst skips a
// step) changes its row and the progress count at once, without a reload. Server text is set with textContent.
(function () {
  "use strict";
  var list = document.querySelector("#tasks ol.tasks");
  var banner = document.getElementById("incident-changed");
  if (!list || !banner) { return; }
  var key = banner.dataset.key;
  var labels = JSON.parse(document.getElementById("task-status-labels").textContent);
  var counts = document.querySelectorAll(".task-progress");  // the section's heading and the incident's facts
  var bar = document.getElementById("task-bar");
  var MARKS = { done: "\u2713", not_applicable: "\u2013" };

  function recount() {
    var rows = list.querySelectorAll("li.task");
    var done = 0, total = 0;
    rows.forEach(function (row) {
      if (row.dataset.status === "not_applicable") { return; }
      total += 1;
      if (row.dataset.status === "done") { done += 1; }
    });
    counts.forEach(function (count) {
      // "3/7 done": the page's own wording, with the numbers replaced.
      count.textContent = count.textContent.replace(/\d+\s*\/\s*\d+/, done + "/" + total);
      count.dataset.done = String(done);
      count.dataset.total = String(total);
    });
    if (bar) { bar.max = total; bar.value = done; }
  }

  document.addEventListener("soc:live", function (event) {
    var message = event.detail;
    if (message.kind !== "request.updated" || message.incident !== key) { return; }
    var row = document.getElementById("task-" + message.request);
    if (!row) { return; }  // a new task: the page's banner offers the reload
    row.dataset.status = message.status;
    row.className = row.className.replace(/\btask-[a-z_]+\b/, "task-" + message.status)
      .replace(/\s*\bis-overdue\b/, "") + (message.overdue ? " is-overdue" : "");
    row.querySelector(".task-status").textContent = labels[message.status] || message.status;
    row.querySelector(".task-mark").textContent = MARKS[message.status] || "\u25CB";
    row.querySelector(".task-late").hidden = !message.overdue;
    recount();
  });
}());
