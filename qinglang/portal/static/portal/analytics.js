// The indicator dashboard's trend chart (ECharts, served locally). The page puts its
// data in a json_script element; no inline script (Content-Security-Policy).
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var data = document.getElementById("analytics-trend-data");
  var el = document.getElementById("analytics-trend");
  if (!window.echarts || !data || !el) return;
  var d = JSON.parse(data.textContent);
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: {trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; }},
    legend: {type: "scroll", data: d.series.map(function (s) { return s.name; })},
    grid: {left: 45, right: 10, bottom: 40},
    xAxis: {type: "category", data: d.labels},
    yAxis: {type: "value", max: 100, axisLabel: {formatter: "{value}%"}},
    series: d.series.map(function (s) { return {name: s.name, type: "line", connectNulls: true, data: s.data}; })
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
