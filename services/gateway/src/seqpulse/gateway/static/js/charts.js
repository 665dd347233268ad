// SeqPulse charts: small SVG line and bar charts for the dashboard pages. No library, no build step.
//
//   SeqPulseCharts.line(container, {
//     series: [{name, points: [[x, y], ...], className, color, marker: "circle" | "square", line: true,
//               dashed: false}],
//     rules:  [{y, label, className, color}],            // horizontal reference lines (baseline, limit)
//     marks:  [{x, label, className}],                   // vertical markers (e.g. the deploy)
//     xLabel, yLabel, format: (y) => "12 ms", xFormat: (x) => "3", xDomain: [min, max], xTicks: [x, ...],
//     label: "text alternative", empty: "No samples yet", height: 200,
//   })
//   SeqPulseCharts.bar(container, {bars: [{label, value, className, color, legend}], format, xLabel, yLabel,
//                                  label, empty, height})      // `legend`: the legend's name for a className
//
// Both replace the container's content with an <svg role="img" aria-label> and an HTML legend, and return
// {svg, legend}. Colours are SVG presentation attributes (so a chart looks right without any stylesheet,
// and no inline style is needed under the CSP); a page's CSS restyles through the classNames it passes.
"use strict";

(function () {
  const NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1f4fd6", "#7a8599", "#137a3f", "#8a5a00", "#6b46c1", "#b3261e"];
  const RULE_COLORS = ["#5b6576", "#b3261e", "#8a5a00"];
  const TEXT = "#5b6576";
  const GRID = "#e6e9ef";

  function node(name, attrs, parent) {
    const el = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null && value !== "") el.setAttribute(key, String(value));
    }
    if (parent) parent.appendChild(el);
    return el;
  }

  function text(parent, x, y, content, attrs) {
    const el = node("text", { x, y, fill: TEXT, ...attrs }, parent);
    el.textContent = content;
    return el;
  }

  const finite = (v) => typeof v === "number" && Number.isFinite(v);
  const plain = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

  // "Nice" ticks (1, 2, 2.5, 5 × 10^k) spanning [min, max]: the domain is widened to the outer ticks.
  function ticks(min, max, count = 4) {
    if (!(max > min)) {
      const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
      min -= pad;
      max += pad;
    }
    const raw = (max - min) / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw - 1e-12);
    const lo = Math.floor(min / step + 1e-9) * step;
    const hi = Math.ceil(max / step - 1e-9) * step;
    const values = [];
    for (let v = lo; v <= hi + step / 2; v += step) values.push(Number(v.toPrecision(12)));
    return { values, min: lo, max: hi };
  }

  function frame(container, options, labelTexts) {
    const width = Math.max(240, Math.round(container.clientWidth || 480));
    const height = options.height || 200;
    const longest = Math.max(...labelTexts.map((t) => t.length), 3);
    const margin = { top: 12, right: 10, bottom: options.xLabel ? 38 : 24, left: Math.min(90, 14 + longest * 6.6) };
    if (options.yLabel) margin.left += 14;
    const svg = node("svg", {
      class: "chart " + (options.className || ""),
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "font-size": 11,
      "aria-label": options.label || "",
      preserveAspectRatio: "xMinYMin meet",
    });
    if (options.label) node("title", {}, svg).textContent = options.label;
    const plot = { x: margin.left, y: margin.top, w: width - margin.left - margin.right, h: height - margin.top - margin.bottom };
    if (options.xLabel) {
      text(svg, plot.x + plot.w / 2, height - 4, options.xLabel, { "text-anchor": "middle", class: "chart-axis-label" });
    }
    if (options.yLabel) {
      text(svg, 0, 0, options.yLabel, {
        "text-anchor": "middle",
        class: "chart-axis-label",
        transform: `translate(11 ${plot.y + plot.h / 2}) rotate(-90)`,
      });
    }
    return { svg, plot, width, height };
  }

  function yAxis(svg, plot, scale, yTicks, format) {
    for (const value of yTicks.values) {
      const y = scale(value);
      node("line", { x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y, stroke: GRID, class: "chart-grid" }, svg);
      text(svg, plot.x - 6, y + 4, format(value), { "text-anchor": "end", class: "chart-tick" });
    }
  }

  function legendItem(list, name, draw, className) {
    const item = document.createElement("li");
    if (className) item.className = className;
    const swatch = node("svg", { width: 28, height: 12, viewBox: "0 0 28 12", "aria-hidden": "true", class: "chart-swatch" });
    draw(swatch);
    const label = document.createElement("span");
    label.textContent = name;
    item.append(swatch, label);
    list.appendChild(item);
  }

  function marker(parent, shape, x, y, color, className) {
    if (shape === "square") {
      return node("rect", { x: x - 4, y: y - 4, width: 8, height: 8, fill: "#fff", stroke: color, "stroke-width": 2, class: className }, parent);
    }
    return node("circle", { cx: x, cy: y, r: 4, fill: color, stroke: "#fff", "stroke-width": 1, class: className }, parent);
  }

  function line(container, options) {
    const format = options.format || plain;
    const xFormat = options.xFormat || plain;
    const series = (options.series || []).map((s, i) => ({
      ...s,
      color: s.color || PALETTE[i % PALETTE.length],
      points: (s.points || []).filter(([x, y]) => finite(x) && finite(y)).sort((a, b) => a[0] - b[0]),
    }));
    const rules = (options.rules || []).filter((r) => finite(r.y)).map((r, i) => ({ ...r, color: r.color || RULE_COLORS[i % RULE_COLORS.length] }));
    const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...rules.map((r) => r.y)];
    const xs = series.flatMap((s) => s.points.map((p) => p[0]));
    const yTicks = ticks(Math.min(0, ...ys), ys.length ? Math.max(...ys) : 1);
    let [x0, x1] = options.xDomain || [Math.min(...xs), Math.max(...xs)];
    if (!finite(x0) || !finite(x1)) [x0, x1] = [0, 1];
    if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];

    const { svg, plot } = frame(container, options, yTicks.values.map(format));
    const pad = Math.min(14, plot.w / 12);
    const sx = (x) => plot.x + pad + ((x - x0) / (x1 - x0)) * (plot.w - 2 * pad);
    const sy = (y) => plot.y + plot.h - ((y - yTicks.min) / (yTicks.max - yTicks.min)) * plot.h;
    yAxis(svg, plot, sy, yTicks, format);
    node("line", { x1: plot.x, x2: plot.x + plot.w, y1: plot.y + plot.h, y2: plot.y + plot.h, stroke: TEXT, class: "chart-axis" }, svg);

    // x ticks: the given positions (or the integers of the domain), thinned to keep labels apart.
    let xTicks = options.xTicks || [];
    if (!options.xTicks) for (let x = Math.ceil(x0); x <= x1; x += 1) xTicks.push(x);
    const stride = Math.max(1, Math.ceil((xTicks.length * 30) / plot.w));
    xTicks.forEach((x, i) => {
      if (i % stride !== 0 && i !== xTicks.length - 1) return;
      text(svg, sx(x), plot.y + plot.h + 14, xFormat(x), { "text-anchor": "middle", class: "chart-tick" });
    });

    for (const mark of options.marks || []) {
      if (!finite(mark.x)) continue;
      const x = sx(mark.x);
      const group = node("g", { class: "chart-mark " + (mark.className || "") }, svg);
      node("line", { x1: x, x2: x, y1: plot.y, y2: plot.y + plot.h, stroke: TEXT, "stroke-width": 1, "stroke-dasharray": "2 3" }, group);
      if (mark.label) text(group, x + 3, plot.y + 9, mark.label, { class: "chart-mark-label" });
    }
    const placed = [];
    for (const rule of [...rules].sort((a, b) => b.y - a.y)) {
      const y = sy(rule.y);
      const group = node("g", { class: "chart-rule " + (rule.className || "") }, svg);
      node("line", { x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y, stroke: rule.color, "stroke-width": 1.5, "stroke-dasharray": "6 4" }, group);
      if (rule.label) {
        // Above its line (below it near the top); one that would overlap a label already placed goes to
        // the other side of its line, or is left to the legend, which names every rule anyway.
        const sides = y - plot.y < 14 ? [y + 12, y - 4] : [y - 4, y + 12];
        const ty = sides.find((c) => c <= plot.y + plot.h - 2 && placed.every((p) => Math.abs(p - c) >= 12));
        if (ty !== undefined) {
          placed.push(ty);
          text(group, plot.x + plot.w - 2, ty, rule.label, { "text-anchor": "end", fill: rule.color, class: "chart-rule-label" });
        }
      }
    }
    for (const s of series) {
      const group = node("g", { class: "chart-series " + (s.className || "") }, svg);
      if (s.line !== false && s.points.length > 1) {
        const d = s.points.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`).join(" ");
        node("path", { d, fill: "none", stroke: s.color, "stroke-width": 2, "stroke-dasharray": s.dashed ? "4 3" : "", class: "chart-line" }, group);
      }
      for (const [x, y] of s.points) {
        const point = marker(group, s.marker, sx(x), sy(y), s.color, "chart-point");
        node("title", {}, point).textContent = `${s.name}, ${xFormat(x)}: ${format(y)}`;
      }
    }
    if (!xs.length && options.empty) {
      text(svg, plot.x + plot.w / 2, plot.y + plot.h / 2, options.empty, { "text-anchor": "middle", class: "chart-empty" });
    }

    const legend = document.createElement("ul");
    legend.className = "chart-legend";
    for (const s of series) {
      legendItem(legend, s.name, (sw) => {
        node("line", { x1: 1, x2: 27, y1: 6, y2: 6, stroke: s.color, "stroke-width": 2, "stroke-dasharray": s.dashed ? "4 3" : "" }, sw);
        marker(sw, s.marker, 14, 6, s.color);
      }, s.className);
    }
    for (const rule of rules) {
      legendItem(legend, rule.label, (sw) => {
        node("line", { x1: 1, x2: 27, y1: 6, y2: 6, stroke: rule.color, "stroke-width": 2, "stroke-dasharray": "6 4" }, sw);
      }, rule.className);
    }
    container.replaceChildren(svg, legend);
    return { svg, legend };
  }

  function bar(container, options) {
    const format = options.format || plain;
    const bars = (options.bars || []).filter((b) => finite(b.value));
    const yTicks = ticks(Math.min(0, ...bars.map((b) => b.value)), Math.max(1e-9, ...bars.map((b) => b.value)));
    const { svg, plot } = frame(container, options, yTicks.values.map(format));
    const sy = (y) => plot.y + plot.h - ((y - yTicks.min) / (yTicks.max - yTicks.min)) * plot.h;
    yAxis(svg, plot, sy, yTicks, format);
    const slot = plot.w / Math.max(1, bars.length);
    const widthOf = Math.max(2, Math.min(48, slot * 0.7));
    const stride = Math.max(1, Math.ceil((bars.length * 34) / plot.w));
    bars.forEach((b, i) => {
      const color = b.color || PALETTE[0];
      const x = plot.x + slot * i + (slot - widthOf) / 2;
      const top = sy(Math.max(0, b.value));
      const rect = node("rect", { x, y: top, width: widthOf, height: Math.max(0, sy(Math.min(0, b.value)) - top), fill: color, class: "chart-bar " + (b.className || "") }, svg);
      node("title", {}, rect).textContent = `${b.label}: ${format(b.value)}`;
      if (i % stride === 0) {
        const label = String(b.label);
        text(svg, x + widthOf / 2, plot.y + plot.h + 14, label.length > 10 ? label.slice(0, 9) + "…" : label, { "text-anchor": "middle", class: "chart-tick" });
      }
    });
    node("line", { x1: plot.x, x2: plot.x + plot.w, y1: sy(0), y2: sy(0), stroke: TEXT, class: "chart-axis" }, svg);
    if (!bars.length && options.empty) {
      text(svg, plot.x + plot.w / 2, plot.y + plot.h / 2, options.empty, { "text-anchor": "middle", class: "chart-empty" });
    }
    const legend = document.createElement("ul");
    legend.className = "chart-legend";
    const kinds = new Map();
    for (const b of bars) if (b.className && b.legend) kinds.set(b.className, { name: b.legend, color: b.color || PALETTE[0] });
    for (const [className, kind] of kinds) {
      legendItem(legend, kind.name, (sw) => node("rect", { x: 8, y: 1, width: 12, height: 10, fill: kind.color }, sw), className);
    }
    container.replaceChildren(svg, legend);
    return { svg, legend };
  }

  window.SeqPulseCharts = { line, bar, ticks };
})();
