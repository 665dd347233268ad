// Founder View: draws the page's numbers (embedded as JSON) with SeqPulseCharts.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("founder-data").textContent);
  const charts = window.SeqPulseCharts;

  const duration = (seconds) => {
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  };
  document.querySelectorAll("[data-duration]").forEach((el) => {
    el.textContent = duration(Number(el.dataset.duration));
  });
  // Bar lengths through the CSSOM: the page's CSP forbids inline style attributes, not this.
  document.querySelectorAll(".country-bar[data-share]").forEach((el) => {
    el.style.width = `${Math.max(2, Number(el.dataset.share) * 100)}%`;
  });

  // x is the index of the day (or hour); the labels say which. charts.js would tick every integer of
  // a timestamp domain otherwise.
  const days = data.activity.map((p) => p.day.slice(5));
  const byDay = (pick) => data.activity.flatMap((p, i) => (pick(p) === null ? [] : [[i, pick(p)]]));
  const every = Math.max(1, Math.ceil(days.length / 8));
  const dayTicks = days.map((_, i) => i).filter((i) => (days.length - 1 - i) % every === 0);
  const dayAxis = { xLabel: "day (UTC)", xFormat: (i) => days[i] || "", xTicks: dayTicks };
  charts.line(document.getElementById("chart-active"), {
    series: [
      { name: "DAU", points: byDay((p) => p.dau), className: "series-1" },
      { name: "WAU", points: byDay((p) => p.wau), className: "series-2" },
      { name: "MAU", points: byDay((p) => p.mau), className: "series-3" },
    ],
    yLabel: "users", ...dayAxis,
  });
  charts.line(document.getElementById("chart-stickiness"), {
    series: [{
      name: "DAU/MAU", points: byDay((p) => (p.dau_mau === null ? null : p.dau_mau * 100)), className: "series-1",
    }],
    yLabel: "%", ...dayAxis,
  });
  charts.bar(document.getElementById("chart-funnel"), {
    bars: [
      { label: "signed up", value: data.funnel.signed_up },
      { label: "created a project", value: data.funnel.created_project },
      { label: "got a verdict", value: data.funnel.got_verdict },
    ],
    format: (v) => String(Math.round(v)),
  });
  const projects = document.getElementById("chart-projects");
  if (projects) {
    charts.bar(projects, {
      bars: data.top_projects.map((p) => ({ label: `${p.name} (${p.users} users)`, value: p.events })),
    });
  }
  const hours = data.api.hours.map((h) => h.hour.slice(11, 16));
  const byHour = (key) => data.api.hours.map((h, i) => [i, h[key]]);
  charts.line(document.getElementById("chart-api"), {
    series: [
      { name: "requests", points: byHour("requests"), className: "series-1" },
      { name: "4xx", points: byHour("errors_4xx"), className: "series-warn", color: "#8a5a00" },
      { name: "5xx", points: byHour("errors_5xx"), className: "series-bad", color: "#b3261e" },
    ],
    xLabel: "hour (UTC)", yLabel: "requests",
    xFormat: (i) => hours[i] || "", xTicks: hours.map((_, i) => i),
    empty: "No API request measured in the last 24 hours yet.",
  });
})();
