/* smarter-obs preview: draws every panel from the query results embedded in this page (no requests). */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("preview-data").textContent);
  var PALETTE = {
    grafana: ["#73bf69", "#f2cc0c", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#8ab8ff", "#ff780a",
              "#96d98d", "#fade2a", "#ca95e5", "#ffb357"],
    metabase: ["#509ee3", "#88bf4d", "#a989c5", "#ef8c8c", "#f9d45c", "#f2a86f", "#98d9d9", "#7172ad",
               "#6c8ebf", "#c5a05a", "#ee6e6e", "#51528d"]
  };
  var TIME_NAMES = /^(time|t|ts|timestamp|bucket|minute|hour|day|date|week|month|period|interval_start)$/i;
  var ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  // -- values ----------------------------------------------------------------------------------------
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function toNum(v) {
    if (isNum(v)) return v;
    if (typeof v === "string" && v.trim() !== "" && !isNaN(Number(v))) return Number(v);
    return null;
  }
  function isTimeValue(v) { return typeof v === "string" && ISO.test(v); }
  function toTime(v) {
    if (isNum(v)) return v > 1e11 ? v : v * 1000;
    var s = String(v);
    if (/^\d{4}-\d{2}-\d{2}$/.test(s)) s += "T00:00:00Z";
    else if (!/(Z|[+-]\d{2}:?\d{2})$/.test(s)) s = s.replace(" ", "T") + "Z";
    return Date.parse(s);
  }
  function columnKinds(panel) {
    return panel.columns.map(function (name, i) {
      var sample = panel.rows.map(function (r) { return r[i]; }).filter(function (v) { return v !== null; });
      if (!sample.length) return "empty";
      if (sample.some(function (v) { return typeof v === "object"; })) return "other";  // arrays, maps
      if (sample.every(isTimeValue) || (TIME_NAMES.test(name) && sample.every(isNum))) return "time";
      if (sample.every(function (v) { return toNum(v) !== null; })) return "number";
      return "text";
    });
  }

  function fmt(v, unit) {
    if (v === null || v === undefined) return "–";
    var n = toNum(v);
    if (n === null) return String(v);
    var abs = Math.abs(n);
    function short(x, digits) {
      var a = Math.abs(x);
      if (a >= 1e9) return (x / 1e9).toFixed(1) + "B";
      if (a >= 1e6) return (x / 1e6).toFixed(1) + "M";
      if (a >= 1e4) return (x / 1e3).toFixed(1) + "K";
      return Number.isInteger(x) ? x.toLocaleString("en-US") : x.toFixed(digits === undefined ? 2 : digits);
    }
    switch (unit) {
      case "ms": return abs >= 1000 ? (n / 1000).toFixed(2) + " s" : n.toFixed(abs >= 100 ? 0 : 1) + " ms";
      case "s": return abs >= 3600 ? (n / 3600).toFixed(1) + " h" : abs >= 60 ? (n / 60).toFixed(1) + " min"
        : n.toFixed(abs >= 10 ? 0 : 1) + " s";
      case "percent": return n.toFixed(abs >= 10 ? 1 : 2) + "%";
      case "percentunit": return (n * 100).toFixed(abs >= 0.1 ? 1 : 2) + "%";
      case "bytes": return abs >= 1 << 30 ? (n / (1 << 30)).toFixed(1) + " GiB" : abs >= 1 << 20
        ? (n / (1 << 20)).toFixed(1) + " MiB" : abs >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B";
      case "currency": return "$" + n.toLocaleString("en-US", {maximumFractionDigits: 0});
      case "reqps": return short(n) + "/s";
      default: return short(n);
    }
  }

  // -- charts ----------------------------------------------------------------------------------------
  function baseOption(dash) {
    var dark = dash.target === "grafana";
    var text = dark ? "#ccccdc" : "#4c5773";
    var line = dark ? "rgba(204,204,220,0.12)" : "#eef0f3";
    return {
      animation: false,
      color: PALETTE[dash.target] || PALETTE.grafana,
      textStyle: {color: text, fontFamily: "Inter, Helvetica, Arial, sans-serif", fontSize: 11},
      grid: {left: 8, right: 16, top: 28, bottom: 8, containLabel: true},
      tooltip: {trigger: "axis", confine: true},
      legend: {type: "scroll", top: 0, textStyle: {color: text}, pageTextStyle: {color: text}},
      _axis: {axisLine: {lineStyle: {color: line}}, splitLine: {lineStyle: {color: line}},
              axisLabel: {color: text}}
    };
  }
  function axis(base, extra) {
    var a = JSON.parse(JSON.stringify(base._axis));
    Object.keys(extra).forEach(function (k) { a[k] = extra[k]; });
    return a;
  }

  function unitOf(panel, index) { return (panel.units || {})[panel.columns[index]] || panel.unit; }
  function shown(panel, kinds) {  // numeric columns the panel draws: its field selection, else all
    var nums = [];
    kinds.forEach(function (k, i) { if (k === "number") nums.push(i); });
    var chosen = nums.filter(function (i) { return (panel.fields || []).indexOf(panel.columns[i]) >= 0; });
    return chosen.length ? chosen : nums;
  }

  function timeseries(panel, kinds, base) {
    var t = kinds.indexOf("time");
    var texts = [], nums = shown(panel, kinds);
    kinds.forEach(function (k, i) { if (k === "text") texts.push(i); });
    var series = [];
    if (texts.length && nums.length) {  // long format: time, label, value
      var groups = {};
      panel.rows.forEach(function (r) {
        nums.forEach(function (ni) {
          var label = texts.map(function (ti) { return r[ti]; }).join(" · ") +
            (nums.length > 1 ? " " + panel.columns[ni] : "");
          (groups[label] = groups[label] || []).push([toTime(r[t]), toNum(r[ni])]);
        });
      });
      Object.keys(groups).slice(0, 90).forEach(function (label) {
        series.push({name: label, data: groups[label].sort(function (a, b) { return a[0] - b[0]; })});
      });
    } else {
      nums.forEach(function (ni) {
        series.push({name: panel.columns[ni], data: panel.rows.map(function (r) {
          return [toTime(r[t]), toNum(r[ni])];
        }).sort(function (a, b) { return a[0] - b[0]; })});
      });
    }
    series.forEach(function (s) {
      if (panel.draw === "bars") {
        s.type = "bar"; s.barMaxWidth = 14;
      } else {
        s.type = "line"; s.showSymbol = s.data.length < 40; s.symbolSize = 4; s.connectNulls = false;
        s.lineStyle = {width: 1.5};
        s.areaStyle = panel.draw === "area" || panel.stack || series.length === 1 ? {opacity: 0.15} : undefined;
      }
      if (panel.stack) s.stack = "total";
    });
    base.xAxis = axis(base, {type: "time"});
    base.yAxis = axis(base, {type: "value", axisLabel: {color: base.textStyle.color,
      formatter: function (v) { return fmt(v, panel.unit); }}});
    base.tooltip.valueFormatter = function (v) { return fmt(v, panel.unit); };
    base.series = series;
    if (series.length <= 1) { base.legend.show = false; base.grid.top = 12; }
    return base;
  }

  function categories(panel, kinds) {
    var cat = kinds.indexOf("text");
    if (cat < 0) cat = kinds.indexOf("time");
    var nums = shown(panel, kinds).filter(function (i) { return i !== cat; });
    if (cat < 0 && nums.length > 1) cat = nums.shift();
    return {cat: cat, nums: nums};
  }

  function bar(panel, kinds, base) {
    var c = categories(panel, kinds);
    var labels = panel.rows.map(function (r) { return c.cat < 0 ? "" : String(r[c.cat]); });
    var horizontal = labels.length > 6 || labels.some(function (l) { return l.length > 12; });
    var catAxis = axis(base, {type: "category", data: labels, axisLabel: {color: base.textStyle.color,
      width: 160, overflow: "truncate", interval: 0, rotate: horizontal ? 0 : (labels.length > 4 ? 30 : 0)}});
    var valAxis = axis(base, {type: "value", axisLabel: {color: base.textStyle.color,
      formatter: function (v) { return fmt(v, panel.unit); }}});
    if (horizontal) { catAxis.inverse = true; base.xAxis = valAxis; base.yAxis = catAxis; }
    else { base.xAxis = catAxis; base.yAxis = valAxis; }
    base.tooltip.valueFormatter = function (v) { return fmt(v, panel.unit); };
    base.series = c.nums.map(function (ni) {
      return {type: "bar", name: panel.columns[ni], barMaxWidth: 36,
              data: panel.rows.map(function (r) { return toNum(r[ni]); })};
    });
    if (base.series.length <= 1) { base.legend.show = false; base.grid.top = 12; }
    return base;
  }

  function pie(panel, kinds, base) {
    var c = categories(panel, kinds);
    var ni = c.nums[0];
    base.tooltip = {trigger: "item", confine: true,
      valueFormatter: function (v) { return fmt(v, panel.unit); }};
    base.legend.orient = "vertical"; base.legend.left = 0; base.legend.top = "middle";
    base.series = [{type: "pie", radius: ["38%", "70%"], center: ["62%", "52%"], avoidLabelOverlap: true,
      label: {color: base.textStyle.color, formatter: "{b}: {d}%"},
      data: panel.rows.map(function (r) { return {name: String(r[c.cat]), value: toNum(r[ni])}; })}];
    return base;
  }

  function stat(panel, kinds, body, dash) {
    var nums = shown(panel, kinds);
    var ni = nums[0], t = kinds.indexOf("time");
    var values = panel.rows.map(function (r) { return toNum(r[ni]); }).filter(function (v) { return v !== null; });
    var value = values.length ? values[values.length - 1] : null;
    var box = el("div", {class: "stat"});
    var main = el("div", {class: "stat-value", text: fmt(value, unitOf(panel, ni))});
    var color = thresholdColor(panel.thresholds || [], value);
    if (color) main.style.color = color;
    box.appendChild(main);
    if (nums.length > 1 && panel.rows.length === 1) {
      box.appendChild(el("div", {class: "stat-sub", text: nums.slice(1).map(function (i) {
        return panel.columns[i] + " " + fmt(panel.rows[0][i], unitOf(panel, i));
      }).join(" · ")}));
    }
    body.appendChild(box);
    if (t < 0 || panel.rows.length < 2) return null;  // one value: the number alone, as Grafana shows it
    var spark = el("div", {class: "stat-spark"});
    box.appendChild(spark);
    var base = baseOption(dash);
    base.grid = {left: 0, right: 0, top: 2, bottom: 0};
    base.legend = {show: false}; base.tooltip = {show: false};
    base.xAxis = {type: "time", show: false};
    base.yAxis = {type: "value", show: false, scale: true};
    base.series = [{type: "line", showSymbol: false, lineStyle: {width: 1.5}, areaStyle: {opacity: 0.18},
                    data: panel.rows.map(function (r) { return [toTime(r[t]), toNum(r[ni])]; })}];
    return {el: spark, option: base};
  }

  var NAMED = {green: "#73bf69", "dark-green": "#37872d", orange: "#ff9830", red: "#f2495c",
               "dark-red": "#c4162a", yellow: "#fade2a", blue: "#5794f2", purple: "#b877d9"};
  function thresholdColor(steps, value) {  // Grafana: the last step whose value the number reaches
    var color = null;
    steps.forEach(function (step) { if (step[0] === null || (value !== null && value >= step[0])) color = step[1]; });
    return color ? (NAMED[color] || color) : null;
  }

  function table(panel, body) {
    var kinds = columnKinds(panel);
    var wrap = el("div", {class: "table-wrap"});
    var tbl = el("table");
    var head = el("tr");
    panel.columns.forEach(function (c, i) {
      head.appendChild(el("th", {text: c, class: kinds[i] === "number" ? "num" : ""}));
    });
    tbl.appendChild(el("thead", {}, [head]));
    var tbody = el("tbody");
    panel.rows.slice(0, 200).forEach(function (r) {
      var tr = el("tr");
      r.forEach(function (v, i) {
        var text = kinds[i] === "number" ? fmt(v, unitOf(panel, i) || "") : kinds[i] === "time"
          ? new Date(toTime(v)).toISOString().replace("T", " ").slice(0, 19)
          : v === null ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v);
        tr.appendChild(el("td", {text: text, class: kinds[i] === "number" ? "num" : ""}));
      });
      tbody.appendChild(tr);
    });
    tbl.appendChild(tbody);
    wrap.appendChild(tbl);
    body.appendChild(wrap);
  }

  // -- panels ----------------------------------------------------------------------------------------
  var charts = [];
  function drawPanel(dash, panel, body, node) {
    if (panel.error) {
      body.appendChild(el("div", {class: "panel-error", text: panel.error}));
      node.dataset.state = "error";
      return;
    }
    if (!panel.rows.length) {
      body.appendChild(el("div", {class: "panel-empty", text: "No data"}));
      node.dataset.state = "empty";
      return;
    }
    if (panel.kind === "table") { table(panel, body); node.dataset.state = "drawn"; return; }
    var kinds = columnKinds(panel);
    var target, option;
    if (panel.kind === "stat") {
      var s = stat(panel, kinds, body, dash);
      if (s === null) { node.dataset.state = "drawn"; return; }
      target = s.el; option = s.option;
    } else {
      target = el("div", {class: "chart"});
      body.appendChild(target);
      var base = baseOption(dash);
      var kind = panel.kind === "timeseries" && kinds.indexOf("time") < 0 ? "bar" : panel.kind;
      option = kind === "timeseries" ? timeseries(panel, kinds, base)
        : kind === "pie" ? pie(panel, kinds, base) : bar(panel, kinds, base);
      if (!option.series || !option.series.length) {
        body.removeChild(target);
        body.appendChild(el("div", {class: "panel-error", text: "no numeric column to draw"}));
        node.dataset.state = "error";
        return;
      }
    }
    delete option._axis;
    try {
      var chart = echarts.init(target, null, {renderer: "svg"});
      chart.on("finished", function () { node.dataset.state = "drawn"; });
      chart.setOption(option);
      charts.push(chart);
    } catch (e) {
      body.appendChild(el("div", {class: "panel-error", text: "drawing failed: " + e.message}));
      node.dataset.state = "error";
    }
  }

  var dialog = document.getElementById("sql-dialog");
  function showSql(dash, panel) {
    dialog.querySelector(".sql-title").textContent = dash.title + " › " + panel.title;
    dialog.querySelector(".sql-meta").textContent = (panel.datasource ? "datasource " + panel.datasource + " · " : "")
      + panel.rows.length + " rows · " + panel.columns.join(", ");
    dialog.querySelector("code").textContent = panel.sql || "(no SQL)";
    dialog.showModal();
  }
  dialog.querySelector(".sql-close").addEventListener("click", function () { dialog.close(); });
  dialog.querySelector(".sql-copy").addEventListener("click", function () {
    var range = document.createRange();
    range.selectNodeContents(dialog.querySelector("code"));
    var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected */ }
  });

  function drawDashboard(dash, root) {
    var section = el("section", {class: "dashboard target-" + dash.target, id: dash.slug});
    var meta = (dash.target === "grafana" ? "Grafana" : "Metabase") + " · " + dash.panels.length + " panels" +
      (dash.time_from ? " · " + dash.time_from + " → " + dash.time_to : "");
    section.appendChild(el("header", {class: "dash-head"}, [
      el("h2", {text: dash.title}), el("span", {class: "dash-meta", text: meta})]));
    if (dash.description) section.appendChild(el("p", {class: "dash-desc", text: dash.description}));
    var grid = el("div", {class: "grid"});
    grid.style.gridAutoRows = dash.row_height + "px";
    section.appendChild(grid);
    root.appendChild(section);
    dash.panels.forEach(function (panel) {
      var node = el("article", {class: "panel kind-" + panel.kind, "data-panel": panel.id, "data-state": "pending"});
      var L = panel.layout;
      node.style.gridColumn = (L.x + 1) + " / span " + Math.max(L.w, 1);
      node.style.gridRow = (L.y + 1) + " / span " + Math.max(L.h, 1);
      var button = el("button", {class: "sql-button", type: "button", title: "Show the SQL", text: "SQL"});
      button.addEventListener("click", function () { showSql(dash, panel); });
      var head = el("div", {class: "panel-head"}, [el("h3", {text: panel.title, title: panel.description || ""}), button]);
      var body = el("div", {class: "panel-body"});
      node.appendChild(head); node.appendChild(body);
      grid.appendChild(node);
      drawPanel(dash, panel, body, node);
    });
  }

  var root = document.getElementById("dashboards");
  var nav = document.getElementById("nav");
  DATA.dashboards.forEach(function (dash) {
    nav.appendChild(el("a", {href: "#" + dash.slug, text: dash.title, class: "nav-" + dash.target}));
    drawDashboard(dash, root);
  });
  if (!DATA.dashboards.length) root.appendChild(el("p", {class: "panel-empty", text: "No dashboards found."}));
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.body.dataset.ready = "true";
})();
