// The deployment page: draws the header, status, timeline, charts, verdict, evidence and hints from the JSON
// API's answers, and redraws them on every live event (server-sent events from /app/deployments/{id}/events).
// Each event only says "something happened": the page refetches GET /deployments/{id} and its /metrics, so
// what it shows is always one consistent answer of the API.
"use strict";

(function () {
  const root = document.getElementById("deployment");
  const dataNode = document.getElementById("deployment-data");
  if (!root || !dataNode) return;
  const { api, ApiError, formatTimes } = window.SeqPulse;
  const Charts = window.SeqPulseCharts;
  const page = JSON.parse(dataNode.textContent);
  const urls = page.urls;
  const limits = page.limits;
  let deployment = page.deployment;
  let samples = page.metrics.items;
  const facts = { closedAt: null }; // what only a live event tells (the window's closing time)

  // ---------------------------------------------------------------- formatting
  const fixed = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : "—");
  const trim = (v, digits) => String(Number(v.toFixed(digits)));
  const signed = (v, digits) => (v > 0 ? "+" : v < 0 ? "−" : "±") + Math.abs(v).toFixed(digits);
  const amount = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : trim(v, 2));
  const percent = (digits) => (v) => `${fixed(v * 100, digits)}%`;
  const points = (v) => `${signed(v * 100, 2)} pp`;
  const ratio = (v) => `×${fixed(v, 2)}`;
  const relative = (v) => `${signed(v * 100, 1)}%`;
  const METRICS = [
    { key: "requests_per_sec", label: "Requests per second", value: (v) => `${amount(v)} req/s`, tick: amount,
      change: (r) => `${relative(r - 1)} (${ratio(r)})`, interval: (r) => relative(r - 1), mde: relative, ratio: true },
    { key: "latency_p95", label: "Latency p95", value: (v) => `${amount(v)} ms`, tick: (v) => `${amount(v)} ms`,
      change: (r) => `${ratio(r)} (${relative(r - 1)})`, interval: ratio, mde: ratio, ratio: true },
    { key: "error_rate", label: "Error rate", value: percent(2), tick: (v) => `${trim(v * 100, 2)}%`,
      change: points, interval: percent(2), mde: points, ratio: false },
    { key: "cpu_usage", label: "CPU usage", value: percent(1), tick: (v) => `${trim(v * 100, 1)}%`,
      change: points, interval: points, mde: points, ratio: false },
    { key: "memory_usage", label: "Memory usage", value: percent(1), tick: (v) => `${trim(v * 100, 1)}%`,
      change: points, interval: points, mde: points, ratio: false },
  ];
  const BY_KEY = Object.fromEntries(METRICS.map((m) => [m.key, m]));
  const VERDICTS = { ok: "OK", warning: "Warning", rollback_recommended: "Rollback recommended",
    not_enough_data: "Not enough data", pending: "Pending" };
  const STATES = { running: "Deploying", collecting: "Collecting", analyzing: "Analyzing", analyzed: "Analyzed",
    expired: "Expired" };
  const STATUS = { pass: ["Pass", "ok"], warn: ["Warn", "warning"], fail: ["Fail", "rollback_recommended"],
    inconclusive: ["Inconclusive", "none"], skipped: ["Skipped", "none"] };
  const SEVERITIES = { critical: "Critical", warning: "Warning", info: "Info" };

  // ---------------------------------------------------------------- DOM helpers (text only: no innerHTML)
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }
  const time = (iso) => (iso ? h("time", { datetime: iso, text: iso }) : null);
  const badge = (kind, label) => h("span", { class: `badge badge-${kind}`, text: label });
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- derived facts
  const verdictKey = (v) => (!v ? "pending" : v.insufficient_data ? "not_enough_data" : v.verdict);
  const pre = () => samples.filter((s) => s.phase === "pre");
  const post = () => samples.filter((s) => s.phase === "post").sort((a, b) => a.sequence_index - b.sequence_index);
  const isFinal = () => deployment.verdict !== null || deployment.state === "expired";
  const comparisons = () => (deployment.verdict && Array.isArray(deployment.verdict.comparisons)
    ? deployment.verdict.comparisons : []);
  const comparisonOf = (key) => comparisons().find((c) => c.metric === key) || null;

  function mean(values) {
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
  }

  // Baseline and limit of a chart: the verdict's own numbers once it exists, else the baseline samples'
  // mean and the project's policy limits (what a breach would be judged against).
  function referenceLines(metric) {
    const c = comparisonOf(metric.key);
    const baseline = c && Number.isFinite(c.baseline) ? c.baseline : mean(pre().map((s) => s[metric.key]));
    let limit = null;
    let label = "limit";
    if (c && Number.isFinite(c.threshold)) {
      limit = c.threshold;
      label = "threshold";
    } else if (metric.key === "requests_per_sec") {
      limit = baseline === null ? null : baseline * (1 - limits.traffic_warn_drop);
      label = `limit −${trim(limits.traffic_warn_drop * 100, 0)}%`;
    } else {
      limit = { latency_p95: limits.latency_p95_limit_ms, error_rate: limits.error_rate_limit,
        cpu_usage: limits.cpu_limit, memory_usage: limits.memory_limit }[metric.key];
    }
    return { baseline, limit, label };
  }

  // ---------------------------------------------------------------- header and status
  function renderHeader() {
    const state = $("state-badge");
    state.className = `badge badge-state-${deployment.state}`;
    state.textContent = STATES[deployment.state] || deployment.state;
    const key = verdictKey(deployment.verdict);
    const verdict = $("verdict-badge");
    verdict.className = `badge badge-${key}`;
    verdict.textContent = VERDICTS[key];
  }

  function statusOf() {
    const w = deployment.window;
    const n = w.sequences;
    const k = w.collected_post;
    const v = deployment.verdict;
    switch (deployment.state) {
      case "expired":
        return ["The pipeline never finished this deploy, so it expired: there is no window and no verdict.", null];
      case "running":
        return w.collected_pre === 0
          ? ["Waiting for the baseline: SeqPulse is sampling the app before the deploy.", null]
          : ["Baseline taken. Waiting for the pipeline to finish the deploy.", null];
      case "collecting":
        if (w.state !== "open") return ["Deploy finished; the observation window is opening.", null];
        return [`Window open — sequence ${k} of ${n}`, h("progress", { max: n, value: k, "aria-label": `${k} of ${n} sequences collected` })];
      case "analyzing":
        return w.state === "cancelled"
          ? [`Collection was cancelled (${w.cancel_reason || "no reason given"}); the analyzer decides on the ${k} of ${n} sequences collected.`, null]
          : [`Window closed with ${k} of ${n} sequences; the analyzer is deciding.`, null];
      default:
        if (v.insufficient_data) return ["Not enough data to decide — see why below.", null];
        return [`Verdict: ${VERDICTS[v.verdict]} (confidence ${Math.round(v.confidence * 100)}%)`, null];
    }
  }

  function renderStatus() {
    const [text, extra] = statusOf();
    $("status-text").textContent = text;
    const box = $("status-extra");
    box.replaceChildren(...(extra ? [extra] : []));
    const w = deployment.window;
    if (deployment.state === "collecting" && w.state === "open" && deployment.finished_at && w.collected_post < w.sequences) {
      // post[i] is taken at finish + i × sequence: the next one is due then.
      const due = new Date(Date.parse(deployment.finished_at) + w.collected_post * w.sequence_seconds * 1000);
      box.append(h("p", { class: "help" }, "Next sample due ", time(due.toISOString()), "."));
    }
  }

  // ---------------------------------------------------------------- timeline
  function timelineItems() {
    const d = deployment;
    const w = d.window;
    const items = [{ kind: "triggered", at: d.started_at, text: "Deployment triggered" }];
    const pres = pre();
    pres.forEach((s, i) => items.push({ kind: "baseline", at: s.collected_at,
      text: pres.length > 1 ? `Baseline sample ${i + 1} of ${pres.length} taken` : "Baseline sample taken" }));
    if (d.state === "running" && !pres.length) items.push({ kind: "pending", text: "Waiting for the baseline sample" });
    if (d.finished_at) {
      items.push({ kind: "finished", at: d.finished_at,
        text: `Deploy finished${d.pipeline_result ? ` (pipeline ${d.pipeline_result})` : ""}` });
    } else if (d.state === "running") {
      items.push({ kind: "pending", text: "Waiting for the pipeline to finish the deploy" });
    }
    for (const s of post()) {
      items.push({ kind: "sequence", at: s.collected_at, text: `Sequence ${s.sequence_index + 1} of ${w.sequences} collected` });
    }
    if (d.state === "collecting" && w.collected_post < w.sequences) {
      items.push({ kind: "pending", text: `Sequence ${w.collected_post + 1} of ${w.sequences} expected` });
    }
    if (w.state === "closed" || w.state === "cancelled") {
      const missed = w.sequences - w.collected_post;
      const how = w.close_reason === "deadline" ? "Window closed at its deadline" : "Window closed";
      let text = `${how}: ${w.collected_post} of ${w.sequences} sequences collected`;
      if (missed > 0) text += `, ${missed} missed`;
      if (w.state === "cancelled") text = `Collection cancelled${w.cancel_reason ? `: ${w.cancel_reason}` : ""}`;
      items.push({ kind: "closed", at: w.closed_at || facts.closedAt, text });
    }
    if (d.verdict) {
      const key = verdictKey(d.verdict);
      items.push({ kind: "verdict", at: d.verdict.created_at, badge: key,
        text: ` confidence ${Math.round(d.verdict.confidence * 100)}%` });
    } else if (d.state === "analyzing") {
      items.push({ kind: "pending", text: "The analyzer is deciding" });
    }
    return items;
  }

  function renderTimeline() {
    $("timeline").replaceChildren(...timelineItems().map((item) =>
      h("li", { class: `timeline-item timeline-${item.kind}`, "data-kind": item.kind },
        h("span", { class: "timeline-dot", "aria-hidden": "true" }),
        h("div", { class: "timeline-body" },
          h("span", { class: "timeline-text" }, item.badge ? ["Verdict ", badge(item.badge, VERDICTS[item.badge]), item.text] : item.text),
          item.kind === "pending" ? h("span", { class: "timeline-when muted", text: "waiting" }) : h("span", { class: "timeline-when" }, time(item.at) || "time not recorded")))));
  }

  // ---------------------------------------------------------------- charts
  const cards = new Map();

  function chartCard(metric) {
    if (cards.has(metric.key)) return cards.get(metric.key);
    const titleId = `chart-title-${metric.key}`;
    const card = {
      summary: h("p", { class: "chart-summary" }),
      box: h("div", { class: "chart-box" }),
      body: h("tbody"),
    };
    card.root = h("article", { class: "card chart-card", "data-metric": metric.key, "aria-labelledby": titleId },
      h("h3", { id: titleId, text: metric.label }),
      card.summary,
      card.box,
      h("details", { class: "chart-data" },
        h("summary", { text: "Samples as a table" }),
        h("div", { class: "table-wrap" },
          h("table", { class: "chart-table" },
            h("caption", { class: "detail-sr-only", text: `${metric.label}, every sample` }),
            h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Sample" }), h("th", { scope: "col", text: "Collected" }),
              h("th", { scope: "col", text: "Value" }))),
            card.body))));
    $("charts").append(card.root);
    cards.set(metric.key, card);
    return card;
  }

  function renderCharts() {
    const pres = pre();
    const posts = post();
    const n = Math.max(deployment.window.sequences, ...posts.map((s) => s.sequence_index + 1), 1);
    // x: the baseline samples left of the deploy (…, -2, -1), the window's sequences right of it (1…n).
    const preX = (i) => i - pres.length;
    const xFormat = (x) => (x > 0 ? String(x) : pres.length > 1 ? `B${x + pres.length + 1}` : "B");
    for (const metric of METRICS) {
      const card = chartCard(metric);
      const { baseline, limit, label } = referenceLines(metric);
      const prePoints = pres.map((s, i) => [preX(i), s[metric.key]]);
      const postPoints = posts.map((s) => [s.sequence_index + 1, s[metric.key]]);
      const rules = [];
      if (baseline !== null) rules.push({ y: baseline, label: `baseline ${metric.value(baseline)}`, className: "rule-baseline" });
      if (limit !== null && limit !== undefined) rules.push({ y: limit, label: `${label} ${metric.value(limit)}`, className: "rule-limit" });
      const latest = postPoints.length ? metric.value(postPoints[postPoints.length - 1][1]) : null;
      const summary = [
        baseline !== null ? `baseline ${metric.value(baseline)}` : "no baseline yet",
        `${postPoints.length} of ${deployment.window.sequences} post samples${latest ? `, latest ${latest}` : ""}`,
        limit !== null && limit !== undefined ? `${label} ${metric.value(limit)}` : null,
      ].filter(Boolean).join("; ");
      card.summary.textContent = summary.charAt(0).toUpperCase() + summary.slice(1) + ".";
      card.root.dataset.preCount = String(prePoints.length);
      card.root.dataset.postCount = String(postPoints.length);
      Charts.line(card.box, {
        series: [
          { name: "Before the deploy", points: prePoints, className: "series-pre", color: "#7a8599", marker: "square", line: false },
          { name: "After the deploy", points: postPoints, className: "series-post", color: "#1f4fd6", marker: "circle" },
        ],
        rules,
        marks: [{ x: 0, label: "deploy", className: "mark-deploy" }],
        xDomain: [preX(0) - 0.3, n],
        xTicks: [...prePoints.map((p) => p[0]), ...Array.from({ length: n }, (_, i) => i + 1)],
        xLabel: "Sample: B = baseline, then sequence after the deploy",
        format: metric.tick,
        xFormat,
        label: `${metric.label}: ${summary}.`,
        empty: "No samples yet",
        height: 190,
      });
      card.body.replaceChildren(...[...pres.map((s, i) => [s, pres.length > 1 ? `Baseline ${i + 1}` : "Baseline"]),
        ...posts.map((s) => [s, `Sequence ${s.sequence_index + 1}`])].map(([s, name]) =>
        h("tr", {}, h("th", { scope: "row", text: name }), h("td", {}, time(s.collected_at)), h("td", { text: metric.value(s[metric.key]) }))));
    }
  }

  // ---------------------------------------------------------------- verdict and evidence
  // evidence-v1 detail lines: "<subject> <test> key=value … [-> status[(critical)]]" (documented grammar).
  function parseDetail(line) {
    const match = /^([a-z_0-9]+) ([a-z_0-9]+)((?: [^ =]+=[^ ]*)*)(?: -> ([a-z_]+)(\(critical\))?)?$/.exec(line);
    if (!match) return null;
    const fields = Object.fromEntries(match[3].trim().split(" ").filter(Boolean).map((t) => {
      const at = t.indexOf("=");
      return [t.slice(0, at), t.slice(at + 1)];
    }));
    return { subject: match[1], test: match[2], fields, status: match[4] || null, critical: Boolean(match[5]) };
  }

  function evidenceRows() {
    const v = deployment.verdict;
    const rows = comparisons().filter((c) => BY_KEY[c.metric]).map((c) => {
      const m = BY_KEY[c.metric];
      let change = c.change;
      if (!Number.isFinite(change) && Number.isFinite(c.baseline) && Number.isFinite(c.observed)) {
        change = m.ratio ? (c.baseline > 0 ? c.observed / c.baseline : null) : c.observed - c.baseline;
      }
      return {
        metric: m.label, critical: c.critical,
        status: c.status || (c.failed ? "fail" : "pass"),
        baseline: Number.isFinite(c.baseline) ? m.value(c.baseline) : "—",
        observed: Number.isFinite(c.observed) ? m.value(c.observed) : "—",
        change: Number.isFinite(change) ? m.change(change) : "—",
        interval: Array.isArray(c.interval) ? `${m.interval(c.interval[0])} to ${m.interval(c.interval[1])}` : "—",
        threshold: Number.isFinite(c.threshold) ? m.value(c.threshold) : "—",
        mde: Number.isFinite(c.min_detectable) ? m.mde(c.min_detectable) : "—",
      };
    });
    if (rows.length || !v) return rows;
    // Without per-metric comparisons in the answer, read the same figures back from the detail lines.
    // Values carry no spaces in that grammar: "_" stands for one, and "," gets one to let a cell wrap.
    const readable = (value) => (value ? value.replace(/_/g, " ").replace(/,/g, ", ") : "—");
    const rate = (value) => (/^-?[0-9.]+%$/.test(value || "") ? Number.parseFloat(value) / 100 : null);
    for (const line of v.details) {
      const d = parseDetail(line);
      if (!d || !BY_KEY[d.subject] || !d.status) continue;
      const f = d.fields;
      let change = f.change;
      if (!change && rate(f.post_rate) !== null && rate(f.baseline_rate) !== null) {
        change = points(rate(f.post_rate) - rate(f.baseline_rate));  // error rate: the difference
      } else if (!change && f.ratio) {
        change = `×${f.ratio}`;
      }
      rows.push({
        metric: BY_KEY[d.subject].label + (d.test === "slope_test" ? " (trend)" : ""), critical: d.critical, status: d.status,
        baseline: readable(f.baseline_rate || f.baseline),
        observed: readable(f.post_rate || f.observed || f.slope),
        change: readable(change),
        interval: readable(f.ci90),
        threshold: readable([f.threshold, f.limit ? `limit=${f.limit}` : null].filter(Boolean).join(",")),
        mde: readable(f.mde),
      });
    }
    return rows;
  }

  function evidenceTable(rows) {
    const columns = [["baseline", "Baseline"], ["observed", "Observed"], ["change", "Change"],
      ["interval", "90% interval"], ["threshold", "Threshold"], ["mde", "Smallest detectable"]];
    return h("div", { class: "table-wrap" },
      h("table", { class: "responsive evidence-table", id: "evidence" },
        h("caption", { class: "detail-sr-only", text: "Evidence per metric: what the analyzer compared, and its result" }),
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Metric and result" }),
          columns.map(([, label]) => h("th", { scope: "col", text: label })))),
        h("tbody", {}, rows.map((row) => {
          const [text, kind] = STATUS[row.status] || [row.status, "none"];
          return h("tr", { "data-status": row.status },
            h("th", { scope: "row", class: "evidence-metric" },
              h("span", { class: "evidence-name", text: row.metric }),
              row.critical ? h("span", { class: "evidence-critical", text: "critical" }) : null,
              badge(kind, text)),
            columns.map(([key, label]) => h("td", { "data-label": label, class: `evidence-${key}`, text: row[key] })));
        }))));
  }

  // "Not enough data to decide (reason, reason); smallest detectable: …": each reason in words.
  const REASONS = {
    missing_pre_samples: "No baseline sample was taken before the deploy, so nothing can be compared.",
    future_samples: "Some samples carry times in the future (a clock is off).",
    post_before_pre: "Some post-deploy samples are older than the baseline.",
    stale_post_samples: "The post-deploy samples are too old to judge the deploy now.",
    missing_sequences: "Too many sequences of the window were not collected.",
    too_few_sequences: "The window judged fewer sequences than the policy needs.",
  };
  function reasonsOf(summary) {
    const match = /Not enough data to decide \(([^)]*)\)/.exec(summary || "");
    if (!match) return [];
    return match[1].split(",").map((r) => r.trim()).filter(Boolean).map((reason) => {
      const metric = BY_KEY[reason.replace(/_undetectable$/, "")];
      if (metric && reason.endsWith("_undetectable")) {
        return `${metric.label}: the samples could not have shown a rollback-sized change (see “Smallest detectable”).`;
      }
      return REASONS[reason] || reason;
    });
  }

  function renderVerdict() {
    const v = deployment.verdict;
    const body = $("verdict-body");
    if (!v) {
      const waiting = deployment.state === "expired"
        ? "No verdict: the deploy was never finished."
        : "The verdict appears here once the window closed and the analyzer decided.";
      body.replaceChildren(h("p", { class: "muted", text: waiting }));
      return;
    }
    const key = verdictKey(v);
    const quality = v.data_quality || {};
    const issues = Array.isArray(quality.issues) ? quality.issues : [];
    const parts = [
      h("div", { class: "verdict-head" },
        h("span", { class: `badge badge-${key} verdict-badge-large`, id: "verdict-result", text: VERDICTS[key] }),
        h("span", { class: "verdict-confidence" }, `Confidence ${Math.round(v.confidence * 100)}%`,
          h("meter", { min: 0, max: 1, value: v.confidence, "aria-label": "Confidence" }))),
      h("p", { class: "verdict-summary", id: "verdict-summary", text: v.summary }),
    ];
    if (v.insufficient_data) {
      parts.push(h("div", { class: "verdict-why", role: "note" },
        h("h3", { text: "Why there is not enough data" }),
        h("p", { text: "SeqPulse only says “ok” when the samples could have caught a rollback-sized regression. " +
          "This window could not:" }),
        h("ul", { class: "verdict-reasons" }, (reasonsOf(v.summary).length ? reasonsOf(v.summary) : [v.summary]).map((r) => h("li", { text: r }))),
        issues.length ? h("p", { class: "help" }, "Data-quality issues: ", issues.map((i, n) => [n ? ", " : "", h("code", { text: i })])) : null,
        h("p", { class: "help", text: "More baseline samples, a longer window or more traffic make the verdict decidable." })));
    }
    const rows = evidenceRows();
    parts.push(h("h3", { text: "Evidence per metric" }));
    parts.push(rows.length ? evidenceTable(rows) : h("p", { class: "muted", text: "This policy reports its evidence as the detail lines below." }));
    const judged = quality.usable_post_samples !== undefined && quality.usable_post_samples !== null
      ? `; ${quality.usable_post_samples} of ${quality.expected_post_samples} post samples judged` : "";
    parts.push(h("p", { class: "help" },
      `Data quality ${Number.isFinite(quality.score) ? quality.score.toFixed(2) : "—"}${judged}; ` +
      (issues.length ? `issues: ${issues.join(", ")}` : "no data-quality issue") + "."));
    parts.push(h("details", { class: "detail-lines" },
      h("summary", { text: "The analyzer's detail lines" }),
      h("ul", { class: "mono" }, v.details.map((line) => h("li", { text: line })))));
    parts.push(h("p", { class: "muted verdict-meta" }, `Policy ${v.policy}, verdict version ${v.version}, decided `, time(v.created_at), "."));
    const open = body.querySelector("details.detail-lines")?.open;
    body.replaceChildren(...parts);
    if (open) body.querySelector("details.detail-lines").open = true;
  }

  // ---------------------------------------------------------------- hints
  function renderHints() {
    const box = $("hints");
    const v = deployment.verdict;
    $("hints-section").hidden = !v;  // nothing to say before the verdict: the charts come first then
    if (!v) {
      box.replaceChildren(h("p", { class: "muted", text: "Hints come with the verdict." }));
      return;
    }
    if (!deployment.hints.length) {
      box.replaceChildren(h("p", { class: "muted", text: "No hints: nothing in this window needed a diagnosis." }));
      return;
    }
    box.replaceChildren(...deployment.hints.map((hint) => {
      const m = BY_KEY[hint.metric];
      const value = (x) => (Number.isFinite(x) ? (m ? m.value(x) : trim(x, 3)) : null);
      const meta = [m ? m.label : hint.metric, `confidence ${Math.round(hint.confidence * 100)}%`];
      if (value(hint.observed_value) && value(hint.threshold)) meta.push(`observed ${value(hint.observed_value)} vs threshold ${value(hint.threshold)}`);
      return h("article", { class: `hint hint-${hint.severity}`, "data-code": hint.code },
        h("div", { class: "hint-head" }, badge(hint.severity, SEVERITIES[hint.severity] || hint.severity), h("h3", { text: hint.title })),
        h("p", { class: "hint-meta", text: meta.join(" · ") }),
        h("p", { text: hint.diagnosis }),
        hint.suggested_actions.length ? h("h4", { text: "Suggested actions" }) : null,
        hint.suggested_actions.length ? h("ol", { class: "hint-actions" }, hint.suggested_actions.map((a) => h("li", { text: a }))) : null,
        hint.composite_signals.length ? h("p", { class: "help", text: `Seen together with: ${hint.composite_signals.map((s) => (BY_KEY[s] ? BY_KEY[s].label : s)).join(", ")}` }) : null);
    }));
  }

  function render() {
    renderHeader();
    renderStatus();
    renderTimeline();
    renderCharts();
    renderVerdict();
    renderHints();
    formatTimes(root);
  }

  // ---------------------------------------------------------------- live updates
  let source = null;
  let done = isFinal();
  let inFlight = null;
  let again = false;
  let retryDelay = 3000;
  let poll = null;

  function setLive(state, text) {
    const el = $("live-indicator");
    el.dataset.live = state;
    el.textContent = text;
  }

  function announce(before) {
    const w = deployment.window;
    let message = "";
    if (deployment.verdict && !before.verdict) message = `Verdict: ${VERDICTS[verdictKey(deployment.verdict)]}. ${deployment.verdict.summary}`;
    else if (w.collected_post > before.post) message = `Sequence ${w.collected_post} of ${w.sequences} collected.`;
    else if (deployment.state !== before.state) message = $("status-text").textContent;
    if (message) $("announcer").textContent = message;
  }

  function finish() {
    done = true;
    if (source) source.close();
    source = null;
    if (poll) clearInterval(poll);
    setLive("ended", deployment.verdict ? "Final" : "Not live");
  }

  async function refresh() {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      try {
        const [detail, metrics] = await Promise.all([api("GET", urls.detail), api("GET", urls.metrics)]);
        const before = { verdict: deployment.verdict, post: deployment.window.collected_post, state: deployment.state };
        deployment = detail;
        samples = metrics.items;
        render();
        announce(before);
        if (isFinal()) finish();
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        setLive("error", "Update failed; retrying");
      } finally {
        inFlight = null;
      }
      if (again) {
        again = false;
        await refresh();
      }
    })();
    return inFlight;
  }

  function unchanged(state) {
    const w = deployment.window;
    return state.state === deployment.state && state.collected_pre === w.collected_pre &&
      state.collected_post === w.collected_post && state.window_state === w.state &&
      (state.verdict === null) === (deployment.verdict === null);
  }

  function onEvent(event) {
    retryDelay = 3000;
    setLive("live", "Live");
    let data = {};
    try { data = JSON.parse(event.data); } catch (err) { data = {}; }
    if (event.type === "window_closed" && data.closed_at) facts.closedAt = data.closed_at;
    // The first event of every connection is the current state: refetch only if the page is behind it.
    if (event.type === "state" && unchanged(data)) return;
    refresh();
  }

  function connect() {
    if (done || !window.EventSource) return;
    setLive("connecting", "Connecting…");
    source = new EventSource(urls.events);
    source.onopen = () => setLive("live", "Live");
    for (const name of ["state", "sample", "finished", "window_closed", "verdict"]) source.addEventListener(name, onEvent);
    source.addEventListener("end", () => {
      if (source) source.close();
      refresh().then(finish);
    });
    source.onerror = () => {
      if (done || !source) return;
      if (source.readyState === EventSource.CLOSED) {
        // Refused (e.g. 503): EventSource gives up, so retry later ourselves, backing off.
        source = null;
        setLive("offline", "Offline; retrying");
        setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60000);
      } else {
        setLive("reconnecting", "Reconnecting…");
      }
    };
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(renderCharts, 150);
  });

  render();
  if (done) {
    setLive("ended", deployment.verdict ? "Final" : "Not live");
  } else {
    connect();
    // A safety net for a fact lost while NATS or the stream reconnected: the page never stays stale long.
    poll = setInterval(() => { if (!done) refresh(); }, 30000);
  }
})();
