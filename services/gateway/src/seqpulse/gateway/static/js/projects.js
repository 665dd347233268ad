// Projects pages: the plan-dependent fields, the secrets shown once, the endpoint test as a sentence.
// Forms are submitted by app.js; this script reacts to their `api:success` / `api:error` events.
// A secret (API key, HMAC secret) only ever lives in this page's DOM, put there from the answer of the
// request that created it: never in a URL, in storage, or in a later page load.
"use strict";

(function () {
  const { api, formatTimes } = window.SeqPulse;
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const rulesBlock = $("#plan-rules");
  const rules = rulesBlock ? JSON.parse(rulesBlock.textContent) : null;
  const oneOf = (items) => (items.length < 2 ? String(items[0] ?? "")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`);

  // Plan, environments and window: say what the chosen plan allows, next to the fields.
  function explainPlan(form) {
    if (!rules) return;
    const checked = $('input[name="plan"]:checked', form);
    const plan = rules.plans[checked ? checked.value : "free"];
    const envs = $('input[name="envs"]', form);
    const envsHelp = $("[data-envs-help]", form);
    if (envs) {
      envs.disabled = plan.max_envs <= 1;
      if (envs.disabled) envs.value = "prod";
      if (envsHelp) {
        envsHelp.textContent = envs.disabled
          ? `${plan.label} projects deploy to prod only.`
          : `Up to ${plan.max_envs}, separated by commas, for example “staging, prod”.`;
      }
    }
    const windowHelp = $("[data-window-help]", form);
    if (windowHelp) {
      const choices = plan.windows.length > 1
        ? `${oneOf(plan.windows)} sequences, ${plan.default_window} by default`
        : `${plan.windows[0]} sequences`;
      windowHelp.textContent = `The ${plan.label} plan observes ${choices}. A sequence is one reading of `
        + `your metrics, every ${rules.sequence_seconds} s after the deployment.`;
    }
  }

  function initPlanFields(form) {
    if (!$("[data-plan-choices]", form)) return;
    form.addEventListener("change", (event) => {
      if (event.target.name === "plan") explainPlan(form);
    });
    explainPlan(form);
  }

  function reveal(panel, valueEl, secret, heading) {
    valueEl.textContent = secret;
    panel.hidden = false;
    heading.focus();
  }

  // --- New project: the API key appears on this page, once, in place of the form. ---
  const createForm = $("#create-project");
  if (createForm) {
    initPlanFields(createForm);
    createForm.addEventListener("api:success", (event) => {
      const project = event.detail;
      $("#created-name").textContent = project.name;
      $("#continue-to-project").href = `/app/projects/${encodeURIComponent(project.id)}`;
      createForm.reset();
      $("#create-card").hidden = true;
      const steps = $$(".steps-card li");
      steps.forEach((li, i) => { if (i === 1) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current"); });
      document.title = `${project.name} created · SeqPulse`;
      reveal($("#created"), $("#new-api-key"), project.api_key, $("#created-title"));
    });
  }

  // --- Project page ---
  const pageRoot = $("[data-project-id]");
  if (!pageRoot) return;
  const projectId = pageRoot.dataset.projectId;

  const STATES = { pending_verification: "Pending verification", active: "Active", blocked: "Blocked" };

  function showEndpoint(view) {
    for (const badge of $$("[data-endpoint-state]")) {
      badge.className = `badge badge-${view.state}`;
      badge.textContent = STATES[view.state] || view.state;
    }
    const active = $("[data-endpoint-active]");
    if (active) {
      active.textContent = view.active_endpoint
        || "None yet: deployments are refused until a URL is tested and activated.";
    }
    const verified = $("[data-endpoint-verified]");
    if (verified) {
      verified.textContent = "";
      if (view.last_verified_at) {
        const time = document.createElement("time");
        time.setAttribute("datetime", view.last_verified_at);
        time.textContent = view.last_verified_at;
        verified.appendChild(time);
        formatTimes(verified);
      } else {
        verified.textContent = "Never";
      }
    }
    const next = $("#next-step");
    if (next && view.active_endpoint) next.hidden = true;
  }

  async function refreshEndpoint() {
    try { showEndpoint(await api("GET", `/projects/${encodeURIComponent(projectId)}/endpoint`)); } catch (err) {
      // The panel keeps what it showed; the action's own answer already said what happened.
    }
  }

  const fraction = (x) => `${(x * 100).toLocaleString("en", { maximumFractionDigits: 1 })} %`;
  const number = (x) => x.toLocaleString("en", { maximumFractionDigits: 1 });
  function describeMetrics(m) {
    return `${number(m.requests_per_sec)} requests/s, p95 latency ${number(m.latency_p95)} ms, `
      + `${fraction(m.error_rate)} errors, CPU ${fraction(m.cpu_usage)}, memory ${fraction(m.memory_usage)}`;
  }

  // Why a probe failed, and what to do about it (the reasons are the gateway's probe's wording).
  function hintFor(reason) {
    if (/to a signed request/.test(reason)) {
      return "Your app rejected SeqPulse's signature: check that its SEQPULSE_HMAC_SECRET holds this "
        + "project's current HMAC secret and that its clock is on time.";
    }
    if (/HTTP 40[13]\b/.test(reason)) {
      return "Your app refuses unsigned requests: turn HMAC signing on here, or off in the app.";
    }
    if (/HTTP 404\b/.test(reason)) return "Nothing answers at that path: check the URL and the app's route.";
    if (/HTTP \d+/.test(reason)) return "Your app answered with an error: check its logs.";
    if (/timed out|connection failed/.test(reason)) {
      return "SeqPulse could not reach that URL: check that the app is running and reachable from SeqPulse.";
    }
    if (/private or loopback/.test(reason)) return "This SeqPulse only reads public addresses.";
    if (/not JSON|invalid metrics|larger than/.test(reason)) {
      return 'The answer must be JSON like {"metrics": {…the five numbers…}}: see Integration below.';
    }
    return "";
  }
  const failure = (prefix, reason) => `${prefix}: ${reason.replace(/\.$/, "")}. ${hintFor(reason)}`.trim();

  const result = $("#endpoint-result");
  if (result && result.dataset.lastError) {
    result.textContent = failure("The last test failed", result.dataset.lastError);
  }

  const testForm = $("#endpoint-test");
  testForm?.addEventListener("api:success", (event) => {
    const view = event.detail;
    showEndpoint(view);
    result.textContent = `Test passed: the endpoint is active. It answered ${describeMetrics(view.metrics)}.`;
    result.className = "probe-result probe-ok";
    result.hidden = false;
  });
  testForm?.addEventListener("api:error", (event) => {
    const err = event.detail;
    result.hidden = true;
    if (err.problem && err.problem.code === "ENDPOINT_TEST_FAILED") {
      const reason = (err.errors.find((e) => e.field === "metrics_endpoint") || {}).reason || err.message;
      $(".form-error", testForm).textContent = failure("The test failed", reason);
    }
    refreshEndpoint();
  });

  $("#endpoint-form")?.addEventListener("api:success", (event) => {
    showEndpoint(event.detail);
    result.textContent = "URL saved. It is pending verification: test and activate it. Until then, "
      + "deployments keep using the active URL.";
    result.className = "probe-result";
    result.hidden = false;
  });

  // HMAC: the forms shown follow the state; a new secret is revealed once.
  const hmac = $("#hmac");
  function setHmac(enabled) {
    hmac.dataset.hmacEnabled = String(enabled);
    $("#hmac-state").textContent = enabled ? "on" : "off";
    $("#hmac-state").classList.toggle("badge-on", enabled);
    for (const form of $$("[data-hmac-when]", hmac)) form.hidden = form.dataset.hmacWhen !== (enabled ? "on" : "off");
  }
  for (const form of $$("[data-hmac-when]", hmac || document)) {
    form.addEventListener("api:success", (event) => {
      const secret = event.detail && event.detail.hmac_secret;
      setHmac(Boolean(secret));
      if (secret) {
        reveal($("#hmac-secret-panel"), $("#hmac-secret"), secret, $("#hmac-secret-title"));
      } else {
        $("#hmac-secret").textContent = "";
        $("#hmac-secret-panel").hidden = true;
        $("#hmac-state").focus();
      }
    });
  }

  // API key rotation: the new key is revealed once; the prefix and the warning follow.
  const rotate = $("#rotate-key");
  rotate?.addEventListener("api:success", (event) => {
    const { api_key: key, api_key_prefix: prefix } = event.detail;
    const previous = $("#key-prefix").textContent;
    const shown = `SP_${prefix}…`;
    $("#key-prefix").textContent = shown;
    rotate.dataset.confirm = rotate.dataset.confirm.replace(previous, shown);
    reveal($("#new-key-panel"), $("#new-api-key"), key, $("#new-key-title"));
  });

  // Settings: what the page shows elsewhere follows the saved values.
  const settings = $("#project-settings");
  if (settings) {
    initPlanFields(settings);
    settings.addEventListener("api:success", (event) => {
      const project = event.detail;
      $("#project-name").textContent = project.name;
      document.title = `${project.name} · SeqPulse`;
      $("#project-plan").textContent = `${rules ? rules.plans[project.plan].label : project.plan} plan`;
      const description = $("#project-description");
      description.textContent = project.description;
      description.hidden = !project.description;
      const envs = $('input[name="envs"]', settings);
      if (envs) envs.value = project.envs.join(", ");
    });
  }
})();
