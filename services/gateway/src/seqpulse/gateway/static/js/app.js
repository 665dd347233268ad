// SeqPulse dashboard: calls to the JSON API with the session's CSRF token, forms, copy buttons, times.
// No framework and no build step; pages add their own scripts on top of `window.SeqPulse`.
"use strict";

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem.detail || `Request failed (${status})`);
      this.status = status;
      this.problem = problem;
      this.errors = problem.errors || [];
    }
  }

  // One JSON API call; a problem+json answer becomes an ApiError whose message is its sentence.
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, { detail: "SeqPulse could not be reached. Check your connection and try again." });
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
    if (!response.ok) {
      if (response.status === 401 && !path.startsWith("/auth/")) {
        window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
      }
      throw new ApiError(response.status, data || { detail: `The server answered ${response.status}.` });
    }
    return data;
  }

  // Form fields to a JSON body: `data-type` says how to read a field (int, float, list, bool, json).
  function formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.type === "submit") continue;
      if ((el.type === "checkbox" && el.dataset.type !== "bool") || el.type === "radio") {
        if (!el.checked) continue;
      }
      const type = el.dataset.type || "";
      let value = el.value;
      if (type === "bool") value = el.checked;
      else if (value === "" && el.dataset.optional !== undefined) continue;
      else if (value === "" && el.dataset.null !== undefined) value = null;
      else if (type === "int") value = value === "" ? null : Number.parseInt(value, 10);
      else if (type === "float") value = value === "" ? null : Number.parseFloat(value);
      else if (type === "list") value = value.split(/[\s,]+/).filter(Boolean);
      if (el.type === "checkbox" && type === "multi") {
        (body[el.name] = body[el.name] || []).push(el.value);
        continue;
      }
      body[el.name] = value;
    }
    return body;
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const box = form.querySelector(".form-error");
    if (box) { box.hidden = true; box.textContent = ""; }
  }

  // Per-field reasons next to their fields; the sentence at the top of the form.
  function showErrors(form, err) {
    let placed = false;
    for (const { field, reason } of err.errors) {
      const name = String(field).split(".")[0];
      const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      let input = form.elements.namedItem(name);
      if (input instanceof RadioNodeList) input = input[0];
      if (input && input.setAttribute) {
        input.setAttribute("aria-invalid", "true");
        if (slot) slot.id = slot.id || `${name}-error`;
        if (slot) input.setAttribute("aria-describedby", slot.id);
      }
      if (slot) { slot.textContent = `${label(form, name)} ${reason}`; slot.hidden = false; placed = true; }
    }
    const box = form.querySelector(".form-error");
    if (box) {
      // Reasons already shown next to their fields: the box says where to look, not the raw detail.
      box.textContent = placed ? (form.dataset.errorSummary || "Correct the fields marked below.") : err.message;
      box.hidden = false;
      box.tabIndex = -1;
    } else if (!placed) toast(err.message);
    const first = form.querySelector('[aria-invalid="true"]');
    (first || box)?.focus?.();
  }

  function label(form, name) {
    const input = form.elements.namedItem(name);
    let text = "";
    if (input instanceof RadioNodeList) {
      text = form.querySelector(`[name="${CSS.escape(name)}"]`)?.closest("fieldset")?.querySelector("legend")?.textContent;
    } else if (input && input.id) {
      text = form.querySelector(`label[for="${input.id}"]`)?.textContent;
    }
    return (text || name).trim().replace(/[:*]$/, "") + ":";
  }

  function fill(template, data) {
    return template.replace(/\{([\w.]+)\}/g, (_, key) => {
      const value = key.split(".").reduce((obj, part) => (obj == null ? obj : obj[part]), data);
      return encodeURIComponent(value ?? "");
    });
  }

  // <form data-api="POST /path/{id}" data-redirect="/app/x/{id}" data-reload> submits as JSON.
  // On success it follows data-redirect, reloads with data-reload, or fires `api:success` for the page.
  async function submit(event) {
    const form = event.target.closest("form[data-api]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const [method, pathTemplate] = form.dataset.api.split(" ");
    const body = method === "GET" || method === "DELETE" || form.dataset.nobody !== undefined
      ? undefined : formBody(form);
    const button = form.querySelector('[type="submit"]');
    clearErrors(form);
    if (button) button.setAttribute("aria-busy", "true");
    try {
      const data = await api(method, fill(pathTemplate, form.dataset), body);
      form.dispatchEvent(new CustomEvent("api:success", { detail: data, bubbles: true }));
      if (form.dataset.redirect) {
        const target = fill(form.dataset.redirect, data || {}).replace(/%2F/gi, "/");
        window.location.assign(target.startsWith("/") ? target : "/app");
      } else if (form.dataset.reload !== undefined) {
        window.location.reload();
      } else if (form.dataset.success) {
        toast(form.dataset.success);
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showErrors(form, err);
      form.dispatchEvent(new CustomEvent("api:error", { detail: err, bubbles: true }));
    } finally {
      if (button) button.removeAttribute("aria-busy");
    }
  }

  let toastTimer = null;
  function toast(message) {
    let box = document.querySelector(".toast");
    if (!box) {
      box = document.createElement("div");
      box.className = "toast";
      box.setAttribute("role", "status");
      document.body.appendChild(box);
    }
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
  }

  // <button data-copy="#id"> copies the text of #id (or of an input's value).
  async function copy(event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = "value" in source ? source.value : source.textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    const original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = "Copied";
    toast("Copied to the clipboard");
    setTimeout(() => { button.textContent = original; }, 2000);
  }

  // <time datetime="…"> shown in the reader's time zone; data-relative shows "3 min ago".
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  function formatTime(el) {
    const when = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) return;
    el.title = when.toLocaleString();
    if (el.dataset.relative === undefined) { el.textContent = when.toLocaleString(); return; }
    const seconds = Math.round((when.getTime() - Date.now()) / 1000);
    const abs = Math.abs(seconds);
    const [value, unit] = abs < 60 ? [seconds, "second"] : abs < 3600 ? [Math.round(seconds / 60), "minute"]
      : abs < 86400 ? [Math.round(seconds / 3600), "hour"] : [Math.round(seconds / 86400), "day"];
    el.textContent = relative.format(value, unit);
  }
  function formatTimes(root = document) { root.querySelectorAll("time[datetime]").forEach(formatTime); }

  document.addEventListener("submit", submit);
  document.addEventListener("click", copy);
  document.addEventListener("DOMContentLoaded", () => formatTimes());

  window.SeqPulse = { api, ApiError, toast, formatTimes, formBody, showErrors, clearErrors };
})();
