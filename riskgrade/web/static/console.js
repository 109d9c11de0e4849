/* riskgrade web console: charts from the page's JSON data block (Apache ECharts, vendored) and small
   behaviours (confirmations, the plan wizard's new-task fields).  No inline script anywhere. */
(function () {
  "use strict";
  var COLORS = { A: "#2e7d32", B: "#1565c0", C: "#b34700", D: "#c62828", E: "#6a1b9a" };

  function pct(v) { return v == null ? "—" : (v * 100).toFixed(1) + "%"; }

  function pageData() {
    var el = document.getElementById("rg-data");
    return el ? JSON.parse(el.textContent) : {};
  }

  var builders = {
    shares: function (d) {
      return {
        tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
        legend: { bottom: 0 },
        series: [{ type: "pie", radius: ["40%", "68%"], center: ["50%", "45%"],
          label: { formatter: "{d}%" },
          data: d.shares.map(function (x) { return { name: x.label, value: x.n, itemStyle: { color: COLORS[x.grade] } }; }) }]
      };
    },
    trend: function (d) {
      return {
        tooltip: { trigger: "axis", valueFormatter: pct },
        legend: { bottom: 0 },
        grid: { left: 52, right: 16, top: 16, bottom: 56 },
        xAxis: { type: "category", data: d.trend.months },
        yAxis: { type: "value", max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
        series: d.trend.series.map(function (s) {
          return { name: s.label, type: "bar", stack: "g", barMaxWidth: 48, data: s.values, itemStyle: { color: COLORS[s.grade] } };
        })
      };
    },
    areabars: function (d, el) {
      // one 100% bar per area, grades in their colours; the riskiest areas (share of C/D/E) first
      var h = d[el.getAttribute("data-key")], k = h.top;
      var names = h.y.slice(0, k).map(function (y, i) { return y + "（" + h.n[i].toLocaleString() + " 户）"; });
      return {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: pct },
        legend: { bottom: 0 },
        grid: { left: 8, right: 16, top: 8, bottom: 40, containLabel: true },
        xAxis: { type: "value", max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
        yAxis: { type: "category", data: names, inverse: true, axisLabel: { width: 170, overflow: "truncate" } },
        series: h.x.map(function (g, xi) {
          return { name: g, type: "bar", stack: "g", barMaxWidth: 22, itemStyle: { color: COLORS[g] },
            data: h.data.filter(function (c) { return c[0] === xi && c[1] < k; }).map(function (c) { return c[2]; }) };
        })
      };
    },
    heat: function (d, el) {
      // darker = a higher share of C/D/E; cells with too few entities are grey (value null) and uncoloured
      var h = d[el.getAttribute("data-key")];
      var many = h.x.length * h.y.length > 240;
      var narrow = el.clientWidth < 600;
      return {
        tooltip: { position: "top", formatter: function (p) {
          var esc = echarts.format.encodeHTML, x = h.x[p.value[0]];
          return esc(h.y[p.value[1]]) + "<br>" + esc(x) + "：" + (p.value[2] == null ? "户数太少，不计占比" : pct(p.value[2])) +
            "（" + p.value[3] + " 户）"; } },
        grid: { left: 8, right: 12, top: 10, bottom: 70, containLabel: true },
        xAxis: { type: "category", data: h.x, splitArea: { show: true },
          axisLabel: { interval: 0, rotate: 40, width: narrow ? 60 : 96, overflow: "truncate", fontSize: narrow ? 10 : 12 } },
        yAxis: { type: "category", data: h.y, inverse: true, splitArea: { show: true },
          axisLabel: { width: narrow ? 80 : 140, overflow: "truncate" } },
        visualMap: { min: 0, max: h.max, dimension: 2, calculable: true, orient: "horizontal", left: "center", bottom: 0,
          itemHeight: 120, formatter: function (v) { return Math.round(v * 100) + "%"; },
          inRange: { color: ["#fff5eb", "#fdbe85", "#e6550d", "#8c2d04"] }, outOfRange: { color: "#d9dee5" } },
        series: [{ type: "heatmap", data: h.data.map(function (c) { return c[2] == null ? { value: c, itemStyle: { color: "#e4e7eb" } } : c; }),
          label: { show: !many && !narrow, formatter: function (p) { return p.value[2] == null ? "" : Math.round(p.value[2] * 100); } } }]
      };
    },
    score: function (d) {
      var s = d.score;
      return {
        tooltip: { trigger: "axis" },
        grid: { left: 48, right: 16, top: 16, bottom: 28 },
        xAxis: { type: "category", data: s.months },
        yAxis: { type: "value", min: 0, max: 1000 },
        series: [{ type: "line", data: s.scores, symbolSize: 8,
          label: { show: true, formatter: function (p) { return s.grades[p.dataIndex]; } },
          itemStyle: { color: "#1f4e9c" } }]
      };
    }
  };

  function charts() {
    if (typeof echarts === "undefined") { return; }
    var d = pageData();
    var made = [];
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (el) {
      var build = builders[el.getAttribute("data-chart")];
      if (!build) { return; }
      var rows = parseInt(el.getAttribute("data-rows") || "0", 10);
      if (rows) { el.style.height = Math.max(220, Math.min(130 + rows * 26, 700)) + "px"; }
      var c = echarts.init(el, null, { renderer: "canvas" });
      c.setOption(build(d, el));
      made.push(c);
    });
    window.addEventListener("resize", function () { made.forEach(function (c) { c.resize(); }); });
  }

  function confirmations() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
  }

  function wizard() {
    var sel = document.getElementById("task");
    var box = document.getElementById("new-task");
    if (!sel || !box) { return; }
    var update = function () { box.hidden = sel.value !== "new"; };
    sel.addEventListener("change", update);
    update();
  }

  // a filter box with no filter chosen folds on a phone, where it would fill the first screen (open without script)
  function phoneFilters() {
    if (!window.matchMedia || !window.matchMedia("(max-width: 640px)").matches) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("details.filter-box:not([data-active])"), function (d) {
      d.open = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () { charts(); confirmations(); wizard(); phoneFilters(); });
}());
