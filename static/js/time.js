// Times a person reads, written by scripts (rows added live): in the user's zone with the zone shown, as the
// server writes them ("2026-12-04 18:02 +07", accounts/times.py). The zone comes from <html data-time-zone>.
(function () {
  "use strict";
  var root = document.documentElement;
  var zone = root.dataset.timeZone || undefined;
  var label = root.dataset.timeZoneLabel || "";
  var format;
  try {
    format = new Intl.DateTimeFormat("en-GB", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  } catch (error) {
    format = null;  // an unknown zone: fall back to the browser's own below
  }

  function text(iso, seconds) {
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) { return String(iso || ""); }
    var parts = {};
    (format || new Intl.DateTimeFormat("en-GB", { hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }))
      .formatToParts(moment).forEach(function (part) { parts[part.type] = part.value; });
    var stamp = parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute +
      (seconds ? ":" + parts.second : "");
    return format && label ? stamp + " " + label : stamp;
  }

  // A <time> element like the server's ``when`` filter: local text, UTC in the datetime attribute.
  function element(iso, seconds) {
    var node = document.createElement("time");
    var moment = new Date(iso);
    if (!isNaN(moment.getTime())) { node.dateTime = moment.toISOString().replace(/\.\d{3}Z$/, "Z"); }
    node.textContent = text(iso, seconds);
    return node;
  }

  window.socTime = { text: text, element: element };
}());
