// Integration settings: saving, testing the connection, and adding an organization.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { api, errorText, setStatus } = window.accsync;

  // Put each problem the API reports beside its input; what has no input goes in the summary.
  function showProblems(form, data, summary) {
    for (const el of form.querySelectorAll("[data-error-for]")) setStatus(el, "");
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const detail = data && Array.isArray(data.detail) ? data.detail : null;
    if (!detail) {
      setStatus(summary, `Not saved: ${errorText(data, "please check the form.")}`, "error-text");
      return;
    }
    const unplaced = [];
    for (const problem of detail) {
      const path = (problem.loc || []).filter((p) => p !== "body" && p !== "connector_settings");
      const name = path[path.length - 1];
      const holder = form.querySelector(`fieldset:not([hidden]) [data-error-for="${name}"], [data-error-for="${name}"]`);
      if (holder) {
        setStatus(holder, capitalise(problem.msg), "field-error");
        holder.parentElement.querySelector("input, select")?.setAttribute("aria-invalid", "true");
      } else {
        unplaced.push(`${path.join(".")}: ${problem.msg}`);
      }
    }
    const text = unplaced.length ? `Not saved: ${unplaced.join("; ")}` : "Not saved: please correct the fields marked in red.";
    setStatus(summary, text, "error-text");
  }

  function capitalise(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
  }

  function settingsOf(container) {
    const settings = {};
    for (const input of container.querySelectorAll("[data-setting]")) {
      const value = input.value.trim();
      if (value === "") {
        settings[input.dataset.setting] = null;
      } else {
        settings[input.dataset.setting] = input.type === "number" ? Number(value) : value;
      }
    }
    return settings;
  }

  const form = document.getElementById("integration-form");
  if (form) {
    const orgId = form.dataset.orgId;
    const status = document.getElementById("integration-status");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = document.getElementById("save-integration");
      button.disabled = true;
      button.textContent = "Saving…";
      setStatus(status, "Saving…", "notice");
      const result = await api("PATCH", `/api/orgs/${encodeURIComponent(orgId)}/integration`, {
        name: form.querySelector("#name").value.trim(),
        enabled: form.enabled.checked,
        connector_settings: settingsOf(form),
      });
      button.disabled = false;
      button.textContent = "Save settings";
      if (result.ok) {
        showProblems(form, { detail: [] }, status);
        setStatus(status, `Saved. Sync is ${result.data.enabled ? "on" : "off"} for ${result.data.name}.`, "success");
      } else {
        showProblems(form, result.data, status);
      }
    });
    document.getElementById("test-connection").addEventListener("click", async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      setStatus(status, "Testing the connection with the saved settings…", "notice");
      const result = await api("POST", `/api/orgs/${encodeURIComponent(orgId)}/integration/test`);
      button.disabled = false;
      if (!result.ok) {
        setStatus(status, errorText(result.data, "The test could not be run."), "error-text");
      } else if (result.data.ok) {
        setStatus(status, `Connection works: ${result.data.message}`, "success");
      } else {
        setStatus(status, `Connection failed: ${result.data.message}`, "error-text");
      }
    });
  }

  // Alert thresholds and automatic retries: the same PUT as the API's clients, so the same checks.
  const alertsForm = document.getElementById("alerts-form");
  if (alertsForm) {
    const status = document.getElementById("alerts-status");
    const button = document.getElementById("save-alerts");
    alertsForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { alerts: {}, auto_retry: {} };
      for (const input of alertsForm.querySelectorAll("input[data-group]")) {
        const text = input.value.trim();
        // Sent as typed: the API refuses what is not a whole number, and says so beside the field.
        body[input.dataset.group][input.name] = /^-?\d+$/.test(text) ? Number(text) : text;
      }
      button.disabled = true;
      button.textContent = "Saving…";
      setStatus(status, "Saving…", "notice");
      const result = await api("PUT", `/api/orgs/${encodeURIComponent(alertsForm.dataset.orgId)}/settings`, body);
      button.disabled = false;
      button.textContent = "Save alerts and retries";
      if (result.ok) {
        showProblems(alertsForm, { detail: [] }, status);
        setStatus(status, "Saved. The new thresholds apply from the next alert check.", "success");
      } else {
        showProblems(alertsForm, result.data, status);
      }
    });
  }

  const newOrg = document.getElementById("new-org-form");
  if (newOrg) {
    const status = document.getElementById("new-org-status");
    const showConnector = () => {
      for (const set of newOrg.querySelectorAll("fieldset[data-connector]")) {
        const chosen = set.dataset.connector === newOrg.connector_type.value;
        set.hidden = !chosen;
        set.disabled = !chosen;
      }
    };
    newOrg.connector_type.addEventListener("change", showConnector);
    showConnector();
    newOrg.addEventListener("submit", async (event) => {
      event.preventDefault();
      const kind = newOrg.connector_type.value;
      const settings = settingsOf(newOrg.querySelector(`fieldset[data-connector="${kind}"]`));
      for (const key of Object.keys(settings)) if (settings[key] === null) delete settings[key];
      const result = await api("POST", "/api/orgs", {
        org_id: newOrg.org_id.value.trim(),
        name: newOrg.querySelector("#name").value.trim(),
        timezone: newOrg.timezone.value.trim(),
        connector_type: kind,
        connector_settings: settings,
      });
      if (result.ok) {
        window.location.assign(`/orgs/${encodeURIComponent(result.data.status.org_id)}/settings`);
      } else {
        showProblems(newOrg, result.data, status);
      }
    });
  }
});
