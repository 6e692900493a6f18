// Draws every usage chart of a page with Chart.js (served by Allot, loaded before this file). Each
// chart's figures are in a <script type="application/json"> block beside its canvas, written by the
// server; the same figures are in the table under the chart. Lines differ by dash pattern and point
// shape as well as colour (Okabe–Ito's colour-blind-safe palette), so no line is told by colour alone.
(() => {
  const colours = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];
  const dashes = [[], [8, 4], [2, 3], [12, 4, 2, 4], [4, 4], [16, 6]];
  const shapes = ['circle', 'triangle', 'rect', 'rectRot', 'star', 'crossRot'];
  const Chart = window.Chart;
  if (!Chart) return;
  for (const figure of document.querySelectorAll('figure[data-chart]')) {
    const block = figure.querySelector('script[type="application/json"]');
    const canvas = figure.querySelector('canvas');
    if (!block || !canvas) continue;
    const data = JSON.parse(block.textContent || '{}');
    const many = data.labels.length > 40;
    new Chart(canvas, {
      type: 'line',
      data: {
        labels: data.labels,
        datasets: data.series.map((series, index) => ({
          label: series.label,
          data: series.values,
          borderColor: colours[index % colours.length],
          backgroundColor: colours[index % colours.length],
          borderDash: dashes[index % dashes.length],
          pointStyle: shapes[index % shapes.length],
          pointRadius: many ? 2 : 3.5,
          borderWidth: 2,
          tension: 0,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { position: 'bottom', labels: { usePointStyle: true } } },
        scales: {
          x: { ticks: { maxTicksLimit: 10 } },
          y: { beginAtZero: true, title: { display: true, text: data.unit } },
        },
      },
    });
  }
})();
