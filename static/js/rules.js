// Rule form, enhanced: only the parameters of the chosen kind are shown, and a Sigma error that names a
// YAML line selects that line in the editor. Without this script every fieldset shows and errors are text.
(function () {
  "use strict";
  var form = document.getElementById("rule-form");
  if (!form) { return; }
  var kindSelect = form.querySelector("select[name=kind]");

  function showParams() {
    var kind = kindSelect ? kindSelect.value : form.dataset.kind;
    form.querySelectorAll("fieldset.params").forEach(function (set) {
      set.hidden = set.dataset.kinds.split(" ").indexOf(kind) < 0;
    });
  }

  function selectLine(textarea, line) {
    var lines = textarea.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i += 1) { start += lines[i].length + 1; }
    var end = start + (lines[line - 1] || "").length;
    textarea.focus();
    textarea.setSelectionRange(start, end);
    var height = textarea.scrollHeight / Math.max(lines.length, 1);
    textarea.scrollTop = Math.max(0, (line - 3) * height);
    textarea.dataset.selectedLine = String(line);
  }

  function linkErrors() {
    var textarea = form.querySelector("textarea[name=sigma_yaml]");
    if (!textarea) { return; }
    form.querySelectorAll("li.yaml-error").forEach(function (item) {
      var found = /line (\d+)/.exec(item.textContent);
      if (!found) { return; }
      var line = parseInt(found[1], 10);
      var jump = document.createElement("button");
      jump.type = "button";
      jump.className = "link jump-to-line";
      jump.textContent = "↵ " + line;
      jump.addEventListener("click", function () { selectLine(textarea, line); });
      item.appendChild(document.createTextNode(" "));
      item.appendChild(jump);
    });
    var first = form.querySelector("li.yaml-error button.jump-to-line");
    if (first) { first.click(); }
  }

  if (kindSelect) { kindSelect.addEventListener("change", showParams); }
  showParams();
  linkErrors();
  form.dataset.enhanced = "yes";
}());
