// Founder View: draws the page's numbers (embedded as JSON) with SeqPulseCharts.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("founder-data").textContent);
  const charts = window.SeqPulseCharts;
  const day = (iso) => new Date(`${iso}T00:00:00Z`).getTime();

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

  const dateLabel = (x) => new Date(x).toISOString().slice(5, 10);
  charts.line(document.getElementById("chart-active"), {
    series: [
      { name: "DAU", points: data.activity.map((p) => [day(p.day), p.dau]), className: "series-1" },
      { name: "WAU", points: data.activity.map((p) => [day(p.day), p.wau]), className: "series-2" },
      { name: "MAU", points: data.activity.map((p) => [day(p.day), p.mau]), className: "series-3" },
    ],
    xLabel: "day (UTC)", yLabel: "users", xFormat: dateLabel,
  });
  charts.line(document.getElementById("chart-stickiness"), {
    series: [{
      name: "DAU/MAU",
      points: data.activity.filter((p) => p.dau_mau !== null).map((p) => [day(p.day), p.dau_mau * 100]),
      className: "series-1",
    }],
    xLabel: "day (UTC)", yLabel: "%", xFormat: dateLabel,
  });
  charts.bar(document.getElementById("chart-funnel"), {
    bars: [
      { label: "signed up", value: data.funnel.signed_up },
      { label: "created a project", value: data.funnel.created_project },
      { label: "got a verdict", value: data.funnel.got_verdict },
    ],
  });
  const projects = document.getElementById("chart-projects");
  if (projects) {
    charts.bar(projects, {
      bars: data.top_projects.map((p) => ({ label: `${p.name} (${p.users} users)`, value: p.events })),
    });
  }
  const hour = (iso) => new Date(iso).getTime();
  charts.line(document.getElementById("chart-api"), {
    series: [
      { name: "requests", points: data.api.hours.map((h) => [hour(h.hour), h.requests]), className: "series-1" },
      { name: "4xx", points: data.api.hours.map((h) => [hour(h.hour), h.errors_4xx]), className: "series-warn", color: "#8a5a00" },
      { name: "5xx", points: data.api.hours.map((h) => [hour(h.hour), h.errors_5xx]), className: "series-bad", color: "#b3261e" },
    ],
    xLabel: "hour (UTC)", yLabel: "requests",
    xFormat: (x) => new Date(x).toISOString().slice(11, 16),
  });
})();
