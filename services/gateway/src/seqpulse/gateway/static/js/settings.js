// Settings: a new personal access token is shown once (from the create answer, never stored by the page),
// added to the list, and revoked tokens change in place without reloading (which would lose it).
"use strict";

(function () {
  const form = document.getElementById("token-form");
  if (!form) return;
  const panel = document.getElementById("token-created");
  const secret = document.getElementById("new-token");
  const table = document.getElementById("tokens-table");
  const empty = document.getElementById("tokens-empty");
  const template = document.getElementById("token-row-template");
  let shownId = null;

  function hideSecret() {
    secret.textContent = "";
    panel.hidden = true;
    shownId = null;
  }

  function timeElement(iso) {
    const el = document.createElement("time");
    el.setAttribute("datetime", iso);
    el.textContent = iso;
    return el;
  }

  function addRow(token) {
    const row = template.content.firstElementChild.cloneNode(true);
    const field = (name) => row.querySelector(`[data-field="${name}"]`);
    row.dataset.tokenId = token.id;
    field("name").textContent = token.name;
    field("prefix").textContent = `spt_${token.prefix}…`;
    field("scopes").textContent = token.scopes.join(", ");
    field("created").append(timeElement(token.created_at));
    if (token.expires_at) field("expires").append(timeElement(token.expires_at));
    else field("expires").textContent = "Never";
    const revoke = row.querySelector("form.lists-revoke");
    revoke.dataset.id = token.id;
    revoke.dataset.confirm = `Revoke the token “${token.name}”? Anything still using it is refused from now on.`;
    revoke.querySelector("button").setAttribute("aria-label", `Revoke token ${token.name}`);
    table.tBodies[0].prepend(row);
    table.hidden = false;
    empty.hidden = true;
    window.SeqPulse.formatTimes(row);
  }

  // Checked before app.js sends the form: the API would refuse too, in a less friendly sentence.
  form.addEventListener("submit", (event) => {
    const slot = form.querySelector('[data-error-for="scopes"]');
    if (form.querySelector('input[name="scopes"]:checked')) {
      slot.hidden = true;
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    slot.textContent = "Choose at least one scope.";
    slot.hidden = false;
    form.querySelector('input[name="scopes"]').focus();
  });

  form.addEventListener("api:success", (event) => {
    const token = event.detail;
    secret.textContent = token.token;
    shownId = token.id;
    panel.hidden = false;
    addRow(token);
    form.reset();
    panel.querySelector("h3").focus();
  });

  document.getElementById("token-dismiss").addEventListener("click", hideSecret);

  document.addEventListener("api:success", (event) => {
    const revoke = event.target.closest("form.lists-revoke");
    if (!revoke) return;
    const row = revoke.closest("tr");
    const status = row.querySelector('[data-field="status"]');
    const badge = document.createElement("span");
    badge.className = "badge badge-token-revoked";
    badge.textContent = "Revoked";
    status.replaceChildren(badge);
    revoke.remove();
    if (revoke.dataset.id === shownId) hideSecret();
    status.focus();
  });
})();
