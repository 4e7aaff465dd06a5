// The schedule editor: checks the schedule while it is typed and shows what it means and when it runs.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { api, errorText, setStatus } = window.accsync;
  const form = document.getElementById("schedule-form");
  if (!form) return;
  const orgId = form.dataset.orgId;
  const timezone = form.dataset.timezone;
  const description = document.getElementById("schedule-description");
  const runsBlock = document.getElementById("next-runs-block");
  const runsList = document.getElementById("next-runs");
  const saveButton = document.getElementById("save-schedule");
  const saveStatus = document.getElementById("save-status");
  const weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  let valid = true;
  let latest = 0;
  let timer = null;

  // "2026-11-20T16:00:00+01:00" is already in the org's timezone: show its wall-clock time as is.
  function wallClock(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso);
    if (!m) return iso;
    const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).getUTCDay();
    return `${weekdays[day]} ${m[3]}.${m[2]}.${m[1]} ${m[4]}:${m[5]}`;
  }

  function kind() {
    return form.querySelector("input[name=kind]:checked")?.value || "manual";
  }

  function spec() {
    const k = kind();
    const time = form.time.value.trim();
    if (k === "daily") return { kind: k, time };
    if (k === "weekly") return { kind: k, weekday: form.weekday.value, time };
    if (k === "monthly") {
      const day = form.day.value === "last" ? "last" : Number(form.day.value);
      return { kind: k, day, time };
    }
    if (k === "custom") return { kind: k, cron: form.cron.value };
    return { kind: "manual" };
  }

  function showFields() {
    const k = kind();
    for (const field of form.querySelectorAll("[data-for]")) {
      field.hidden = !field.dataset.for.split(" ").includes(k);
    }
  }

  function markInvalid(message) {
    const k = kind();
    const input = k === "custom" ? form.cron : form.time;
    for (const el of [form.cron, form.time]) el.removeAttribute("aria-invalid");
    if (message) input.setAttribute("aria-invalid", "true");
  }

  async function check() {
    const ticket = ++latest;
    const result = await api("POST", "/api/schedule/describe", { spec: spec(), timezone, count: 5 });
    if (ticket !== latest) return; // a newer keystroke is being checked
    if (!result.ok) {
      description.textContent = errorText(result.data, "The schedule could not be checked.");
      description.className = "field-error";
      return;
    }
    const answer = result.data;
    valid = answer.valid;
    saveButton.disabled = !valid;
    markInvalid(valid ? "" : answer.error);
    if (!valid) {
      description.textContent = capitalise(answer.error);
      description.className = "field-error";
      runsBlock.hidden = true;
      return;
    }
    description.textContent = answer.description;
    description.className = "";
    runsList.replaceChildren(
      ...answer.next_runs.map((iso) => {
        const item = document.createElement("li");
        item.textContent = wallClock(iso);
        return item;
      }),
    );
    runsBlock.hidden = answer.next_runs.length === 0;
  }

  function capitalise(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
  }

  function changed() {
    showFields();
    setStatus(saveStatus, "");
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 200);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  showFields();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!valid) return;
    const recordTypes = Array.from(form.querySelectorAll("input[name=record_types]:checked")).map((c) => c.value);
    const typesError = document.getElementById("record-types-error");
    if (recordTypes.length === 0) {
      setStatus(typesError, "Choose at least one kind of record to sync.", "field-error");
      return;
    }
    setStatus(typesError, "");
    saveButton.disabled = true;
    saveButton.textContent = "Saving…";
    setStatus(saveStatus, "Saving…", "notice");
    const result = await api("PUT", `/api/orgs/${encodeURIComponent(orgId)}/settings`, {
      schedule: spec(),
      record_types: recordTypes,
      sync_on_approval: form.sync_on_approval.checked,
      retry: { max_retries: Number(form.max_retries.value), base_delay_seconds: Number(form.base_delay_seconds.value) },
    });
    saveButton.disabled = false;
    saveButton.textContent = "Save schedule";
    if (!result.ok) {
      setStatus(saveStatus, `Not saved: ${errorText(result.data, "please check the schedule.")}`, "error-text");
      return;
    }
    const next = result.data.next_runs && result.data.next_runs[0];
    const when = next ? `Next scheduled run: ${wallClock(next)}.` : "No scheduled runs: syncs start only with Sync Now.";
    setStatus(saveStatus, `Saved. ${when}`, "success");
  });
});
