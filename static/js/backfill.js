// A back-fill upload being read: show its progress as it goes (the page says how far it is; no data from here).
"use strict";
if (document.getElementById("upload-reading")) {
  window.setTimeout(() => window.location.reload(), 5000);
}
