// Triage queue: keyboard shortcuts, selection and saved views. Without JS the page still works (checkboxes,
// the bulk form, the saved-view GET form); this only makes the common actions one key away.
//   j / k  next / previous incident      o or Enter  open it          x  select it      X  select all on page
//   a      assign the selection (or the focused incident) to me      s  change status   c  close
//   v      pick a saved view              /  search                    ?  show the shortcuts
(function () {
  "use strict";
  var rows = document.getElementById("incident-rows");
  var bulk = document.getElementById("bulk-form");
  if (!rows) { return; }
  var selectAll = document.getElementById("select-all");
  var counter = document.getElementById("selected-count");

  function allRows() { return Array.prototype.slice.call(rows.querySelectorAll("tr[data-key]")); }
  function boxes() { return Array.prototype.slice.call(rows.querySelectorAll("input[name=keys]")); }
  function focused() { return rows.querySelector("tr.focused"); }

  function refreshCount() {
    var all = boxes();
    var chosen = all.filter(function (box) { return box.checked; }).length;
    if (counter) { counter.textContent = String(chosen); }
    if (selectAll) {
      selectAll.checked = all.length > 0 && chosen === all.length;
      selectAll.indeterminate = chosen > 0 && chosen < all.length;
    }
  }

  function focusRow(row) {
    var current = focused();
    if (current) { current.classList.remove("focused"); current.removeAttribute("aria-selected"); }
    if (!row) { return; }
    row.classList.add("focused");
    row.setAttribute("aria-selected", "true");
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = allRows();
    if (!list.length) { return; }
    var index = list.indexOf(focused());
    var next = index < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
    focusRow(list[next]);
  }

  function toggle(row) {
    var box = row && row.querySelector("input[name=keys]");
    if (box) { box.checked = !box.checked; refreshCount(); }
  }

  // The bulk actions work on the selection; with nothing selected, on the focused incident.
  function ensureSelection() {
    if (boxes().some(function (box) { return box.checked; })) { return true; }
    var row = focused();
    if (!row) { return false; }
    toggle(row);
    return true;
  }

  function bulkAction(action) {
    if (!bulk || !ensureSelection()) { return; }
    bulk.elements.action.value = action;
    bulk.dataset.action = action;
    if (action === "assign") {
      bulk.elements.assignee.value = rows.dataset.me;
      bulk.requestSubmit();
    } else if (action === "close") {
      bulk.elements.resolution_summary.focus();
    } else {
      bulk.elements.status.focus();
    }
  }

  function open(row) {
    var link = row && row.querySelector("a[href]");
    if (link) { location.assign(link.href); }
  }

  // Keys go to the field while the user types or picks; a ticked checkbox keeps the shortcuts working.
  function typing(target) {
    if (!target) { return false; }
    if (target.tagName === "INPUT") { return !/^(checkbox|radio|button|submit)$/.test(target.type); }
    return target.isContentEditable || /^(SELECT|TEXTAREA)$/.test(target.tagName);
  }

  var keys = {
    j: function () { move(1); },
    k: function () { move(-1); },
    o: function () { open(focused()); },
    Enter: function () { open(focused()); },
    x: function () { toggle(focused()); },
    X: function () { if (selectAll) { selectAll.click(); } },
    a: function () { if (rows.dataset.canAssign === "true") { bulkAction("assign"); } },
    s: function () { bulkAction("status"); },
    c: function () { bulkAction("close"); },
    v: function () { var views = document.getElementById("saved-view"); if (views) { views.focus(); } },
    "/": function () { var q = document.getElementById("queue-search"); if (q) { q.focus(); q.select(); } },
    "?": function () { var help = document.getElementById("shortcuts"); if (help) { help.open = !help.open; } }
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "Enter" && event.target.closest && event.target.closest("a")) { return; }  // the link's own
    var action = keys[event.key];
    if (!action) { return; }
    event.preventDefault();
    action();
  });

  rows.addEventListener("change", function (event) {
    if (event.target.name === "keys") { refreshCount(); }
  });
  rows.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-key]");
    if (row) { focusRow(row); }
  });
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = selectAll.checked; });
      refreshCount();
    });
  }
  if (bulk) {
    // The status list only matters for "change status"; hide what does not apply to the chosen action.
    bulk.elements.action.addEventListener("change", function () { bulk.dataset.action = bulk.elements.action.value; });
    bulk.dataset.action = bulk.elements.action.value;
  }
  document.addEventListener("soc:rows-changed", refreshCount);

  var views = document.getElementById("saved-view");
  if (views) {
    views.addEventListener("change", function () { if (views.value) { views.form.requestSubmit(); } });
  }
  refreshCount();
}());
