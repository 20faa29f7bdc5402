// Charts of the console (ECharts, served locally). Each page puts its data in a
// json_script element; this file draws what it finds. No inline script anywhere, so the
// Content-Security-Policy allows scripts from this site only.
"use strict";

function qlFundsChart() {
  var d = JSON.parse(document.getElementById("funds-chart-data").textContent);
  var c = echarts.init(document.getElementById("funds-chart"));
  c.setOption({tooltip: {trigger: "axis"}, legend: {data: ["监管中(元)", "申报(元)"]},
    xAxis: {type: "category", data: d.labels}, yAxis: {type: "value"},
    series: [{name: "监管中(元)", type: "bar", data: d.held}, {name: "申报(元)", type: "bar", data: d.declared}]});
}

function qlTrendCharts() {
  var d = JSON.parse(document.getElementById("trend-chart-data").textContent);
  function draw(id, c) {
    var el = document.getElementById(id);
    if (!el || !c.labels.length) return;
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: {trigger: "axis", formatter: function (ps) {
        var i = ps[0].dataIndex, ch = c.change[i];
        return c.labels[i] + "<br>本周 " + c.this_week[i] + "　上周 " + c.previous_week[i] + "<br>变化 " + (ch > 0 ? "+" : "") + ch;
      }},
      legend: {data: ["本周", "上周"]},
      grid: {left: 40, right: 10, bottom: 70},
      xAxis: {type: "category", data: c.labels, axisLabel: {rotate: 30, interval: 0}},
      yAxis: {type: "value", minInterval: 1},
      series: [
        {name: "本周", type: "bar", data: c.this_week, label: {show: true, position: "top", formatter: function (p) { var ch = c.change[p.dataIndex]; return ch > 0 ? "+" + ch : (ch < 0 ? String(ch) : ""); }}},
        {name: "上周", type: "bar", data: c.previous_week}
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  draw("trend-category", d.category);
  draw("trend-area", d.area);
}

document.addEventListener("DOMContentLoaded", function () {
  if (!window.echarts) return;
  if (document.getElementById("funds-chart-data")) qlFundsChart();
  if (document.getElementById("trend-chart-data")) qlTrendCharts();
});
