// CSV export with a progress indicator: the file is streamed, so rows are counted as they arrive.
// Without this script the export link is a plain download; with it, the page shows "N rows" while it runs.
(function () {
  "use strict";
  var link = document.getElementById("export-link");
  var progress = document.getElementById("export-progress");
  if (!link || !progress || !window.fetch || !window.TextDecoder) { return; }

  link.addEventListener("click", function (event) {
    event.preventDefault();
    var rows = 0;
    var chunks = [];
    var decoder = new TextDecoder();
    progress.hidden = false;
    progress.dataset.state = "running";
    progress.textContent = progress.dataset.running;
    fetch(link.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || !response.body) {
        // A refusal (a second export while one runs, a query not allowed) says why in plain text.
        return response.text().then(function (text) { throw { shown: text }; });
      }
      var reader = response.body.getReader();
      var name = (response.headers.get("Content-Disposition") || "").replace(/^.*filename="([^"]+)".*$/, "$1");
      function pump() {
        return reader.read().then(function (part) {
          if (part.done) { return name || "events.csv"; }
          chunks.push(part.value);
          rows += (decoder.decode(part.value, { stream: true }).match(/\n/g) || []).length;
          progress.textContent = progress.dataset.rows.replace("N", String(Math.max(rows - 1, 0)));
          return pump();
        });
      }
      return pump();
    }).then(function (name) {
      var url = URL.createObjectURL(new Blob(chunks, { type: "text/csv" }));
      var save = document.createElement("a");
      save.href = url;
      save.download = name;
      document.body.appendChild(save);
      save.click();
      save.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      progress.dataset.state = "done";
    }).catch(function (failure) {
      progress.dataset.state = "failed";
      progress.textContent = (failure && failure.shown) || progress.dataset.failed;
    });
  });
}());
