// The menu: on a phone the menu button folds it open and shut; on a wide screen each group's button opens its
// list (hovering opens it too, in CSS). Escape, a click elsewhere or tabbing out closes what is open.
// Single-letter keys are left alone: the triage queue's shortcuts (triage.js) keep working.
(function () {
  "use strict";
  var bar = document.getElementById("topbar");
  var toggle = document.getElementById("menu-toggle");
  if (!bar || !toggle) { return; }
  document.documentElement.classList.add("js-menu");  // without this script the phone menu stays unfolded

  function groups() { return Array.prototype.slice.call(bar.querySelectorAll(".group-label")); }

  function closeGroups(except) {
    groups().forEach(function (button) {
      if (button === except) { return; }
      button.setAttribute("aria-expanded", "false");
      button.parentElement.classList.remove("open");
    });
  }

  function setMenu(open) {
    bar.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  }

  toggle.addEventListener("click", function () { setMenu(!bar.classList.contains("open")); });
  groups().forEach(function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      closeGroups(button);
      button.setAttribute("aria-expanded", String(open));
      button.parentElement.classList.toggle("open", open);
    });
  });
  // Tabbing out of an open group closes it.
  bar.addEventListener("focusout", function (event) {
    var group = event.target.closest && event.target.closest(".group");
    if (group && !(event.relatedTarget && group.contains(event.relatedTarget))) { closeGroups(null); }
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest(".group")) { closeGroups(null); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var inMenu = event.target.closest && event.target.closest("#topbar");
    closeGroups(null);
    if (inMenu && bar.classList.contains("open")) { setMenu(false); toggle.focus(); }
  });
}());
