// Charts for the dashboard and the event histogram, drawn by the vendored Chart.js.
// Data comes from <script type="application/json"> blocks (json_script): never evaluated,
// and Chart.js draws labels on a canvas, so hostile text stays text.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var palette = ["#0b5cad", "#b42318", "#f79009", "#12b76a", "#7a5af8", "#06aed4", "#667085", "#ee46bc"];

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function barChart(canvas, series, colour) {
    return new Chart(canvas, {
      type: "bar",
      data: { labels: series.labels, datasets: [{ data: series.values, backgroundColor: colour || palette }] },
      options: { animation: false, plugins: { legend: { display: false } }, maintainAspectRatio: false }
    });
  }

  function lineChart(canvas, events) {
    var datasets = events.series.map(function (s, i) {
      // spanGaps: a week with nothing to measure (null) does not break the weekly lines.
      return { label: s.label, data: s.values, borderColor: palette[i % palette.length], fill: false, tension: 0.2,
        spanGaps: true };
    });
    return new Chart(canvas, {
      type: "line", data: { labels: events.labels, datasets: datasets },
      options: { animation: false, maintainAspectRatio: false }
    });
  }

  var data = readJson("chart-data");
  if (data) {
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var key = canvas.dataset.chart;
      if (!data[key]) { return; }
      var chart = canvas.dataset.kind === "line" ? lineChart(canvas, data[key]) : barChart(canvas, data[key]);
      canvas.dataset.drawn = String(chart.data.labels.length);
    });
  }

  var histogram = readJson("histogram-data");
  var target = document.getElementById("histogram");
  if (histogram && target) {
    barChart(target, {
      labels: histogram.map(function (b) { return b.t; }),
      values: histogram.map(function (b) { return b.n; })
    }, palette[0]);
    target.dataset.drawn = String(histogram.length);
  }
}());
