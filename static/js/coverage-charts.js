/* The coverage dashboard's charts, drawn with the vendored Chart.js from the numbers the page carries in
   <script type="application/json" id="coverage-chart-data"> (no inline script, so a strict CSP holds).
   Series differ by line style and point shape as well as colour; each chart has its numbers in a table. */
(function () {
  "use strict";
  var source = document.getElementById("coverage-chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var words = data.words;  // the charts' words, in the page's language (careapp.coverage.views.chart_data)
  // Colour-blind-safe (Okabe–Ito), with a dash and a point shape per series.
  var colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  var dashes = [[], [8, 4], [2, 3], [12, 3, 2, 3]];
  var shapes = ["circle", "rect", "triangle", "rectRot"];
  Chart.defaults.font.size = 15;

  var utilisation = document.getElementById("utilisation-chart");
  if (utilisation) {
    new Chart(utilisation, {
      type: "line",
      data: {
        labels: data.utilisation.weeks,
        datasets: data.utilisation.series.map(function (series, i) {
          return { label: series.label, data: series.values, spanGaps: true,
                   borderColor: colours[i % colours.length], backgroundColor: colours[i % colours.length],
                   borderDash: dashes[i % dashes.length], pointStyle: shapes[i % shapes.length], pointRadius: 5 };
        })
      },
      options: { responsive: true, plugins: { legend: { labels: { usePointStyle: true } } },
                 scales: { y: { min: 0, suggestedMax: 100, title: { display: true, text: words.percent_booked } } } }
    });
  }

  var demand = document.getElementById("demand-chart");
  if (demand) {
    new Chart(demand, {
      type: "bar",
      data: {
        labels: data.demand.grids,
        datasets: [
          { label: words.offered, data: data.demand.offered, stack: "offered", backgroundColor: "#0072B2" },
          { label: words.booked, data: data.demand.booked, stack: "demand", backgroundColor: "#E69F00" },
          { label: words.waitlisted, data: data.demand.waitlisted, stack: "demand", backgroundColor: "#D55E00",
            borderColor: "#000", borderWidth: 2, borderDash: [4, 2] }
        ]
      },
      options: { responsive: true, indexAxis: data.demand.grids.length > 8 ? "y" : "x",
                 scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
  }
}());
