// The overview's 12-month trend, drawn by the vendored ECharts with the SVG renderer (the
// chart's text is in the DOM) and no animation (a screenshot never catches it half drawn).
document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("trend-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang.indexOf("zh") === 0 ? "ZH" : "EN";
  function chart(id, option) {
    var element = document.getElementById(id);
    var instance = echarts.init(element, null, { renderer: "svg", locale: lang });
    option.animation = false;
    instance.setOption(option);
    window.addEventListener("resize", function () { instance.resize(); });
    element.setAttribute("data-rendered", "true");
  }
  var base = {
    tooltip: { trigger: "axis" },
    legend: { top: 4 },
    grid: { left: 48, right: 16, top: 40, bottom: 32 },
    xAxis: { type: "category", data: data.months },
  };
  chart("chart-cases", Object.assign({}, base, {
    yAxis: { type: "value", name: data.labels.cases, nameTextStyle: { align: "left" } },
    series: [
      { name: data.labels.reported, type: "bar", data: data.reported, itemStyle: { color: "#94a3b8" } },
      { name: data.labels.closed, type: "bar", data: data.closed, itemStyle: { color: "#1d4ed8" } },
    ],
  }));
  chart("chart-rates", Object.assign({}, base, {
    yAxis: { type: "value", name: data.labels.rates, min: 0, max: 100, nameTextStyle: { align: "left" } },
    series: [
      { name: data.labels.closure_rate, type: "line", data: data.closure_rate, connectNulls: false, itemStyle: { color: "#1d4ed8" } },
      { name: data.labels.satisfaction_rate, type: "line", data: data.satisfaction_rate, connectNulls: false, itemStyle: { color: "#b42318" } },
    ],
  }));
});
