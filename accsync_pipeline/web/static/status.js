// The status screen: live numbers, Sync Now with its confirmation, and retrying failed records.
"use strict";

(() => {
  const { api, errorText, swap, listen, setStatus } = window.accsync;

  document.addEventListener("DOMContentLoaded", () => {
    const panel = document.getElementById("status-panel");
    const recordsPanel = document.getElementById("records-panel");
    if (!panel) return;
    const orgId = panel.dataset.orgId;
    const base = `/orgs/${encodeURIComponent(orgId)}`;
    let wasRunning = isRunning();
    let poller = null;

    function isRunning() {
      const state = panel.querySelector("[data-running]");
      return state !== null && state.dataset.running === "true";
    }

    async function refreshRecords() {
      if (!recordsPanel) return;
      await swap(recordsPanel, `${base}/fragments/records?${recordsPanel.dataset.query || ""}`);
      updateSelection();
    }

    async function refreshStatus() {
      const before = panel.querySelector("[data-running]");
      const counts = before ? `${before.dataset.pending}/${before.dataset.failed}` : "";
      if (!(await swap(panel, `${base}/fragments/status`))) return;
      const after = panel.querySelector("[data-running]");
      const running = isRunning();
      // When a sync ends, or the numbers move, the record lists have changed too.
      if ((wasRunning && !running) || (after && `${after.dataset.pending}/${after.dataset.failed}` !== counts)) {
        await refreshRecords();
      }
      wasRunning = running;
      syncRetryButtons();
      keepPolling();
    }

    // While a sync is queued or running, retrying waits: the buttons say so instead of answering 409.
    function syncRetryButtons() {
      const running = isRunning();
      const all = document.getElementById("retry-all");
      const wait = document.getElementById("retry-wait");
      const state = panel.querySelector("[data-running]");
      if (all) {
        all.disabled = running || !(state && Number(state.dataset.failed) > 0);
        if (running) all.setAttribute("aria-describedby", "retry-wait");
        else all.removeAttribute("aria-describedby");
      }
      if (wait) wait.hidden = !running;
      updateSelection();
    }

    // While a sync runs, its progress is polled as well: the event stream may be buffered on the way.
    function keepPolling() {
      if (isRunning() && poller === null) {
        poller = window.setInterval(refreshStatus, 1500);
      } else if (!isRunning() && poller !== null) {
        window.clearInterval(poller);
        poller = null;
      }
    }

    listen(`/api/orgs/${encodeURIComponent(orgId)}/events`, ["run", "status"], () => refreshStatus());
    keepPolling();
    // Catches a sync started elsewhere even when no event arrives.
    window.setInterval(() => {
      if (!isRunning()) refreshStatus();
    }, 10000);

    // --- Sync Now -------------------------------------------------------------------------
    const dialog = document.getElementById("sync-dialog");
    const dialogText = document.getElementById("sync-dialog-text");
    const dialogError = document.getElementById("sync-dialog-error");
    const confirmButton = document.getElementById("sync-confirm");
    const cancelButton = document.getElementById("sync-cancel");

    function typeWords(byType) {
      const names = { reimbursement: ["reimbursement", "reimbursements"], honorarium: ["honorarium", "honorariums"] };
      return Object.entries(byType || {})
        .filter(([, n]) => n > 0)
        .map(([type, n]) => `${n} ${(names[type] || [type, type])[n === 1 ? 0 : 1]}`)
        .join(" and ");
    }

    async function openSyncDialog() {
      setStatus(dialogError, "");
      dialogText.textContent = "Counting the records to sync…";
      confirmButton.disabled = true;
      confirmButton.textContent = "Start sync";
      dialog.showModal();
      const preview = await api("GET", `/api/orgs/${encodeURIComponent(orgId)}/sync/preview`);
      if (!preview.ok) {
        dialogText.textContent = "";
        setStatus(dialogError, errorText(preview.data, "Could not count the records to sync."), "error-text");
        return;
      }
      const total = Number(preview.data.total || 0);
      const system = document.getElementById("connector")?.textContent || "the accounting system";
      if (total === 0) {
        dialogText.textContent = `There is nothing to sync right now: no record is waiting. You can still start a sync to check ${system}.`;
        confirmButton.textContent = "Start sync anyway";
      } else {
        const word = total === 1 ? "record" : "records";
        const detail = typeWords(preview.data.by_type);
        const money = preview.data.amount_text ? `, ${preview.data.amount_text} in all` : "";
        dialogText.textContent = `${total} ${word} will be synced to ${system}${detail ? ` (${detail})` : ""}${money}.`;
        confirmButton.textContent = `Sync ${total} ${word}`;
      }
      dialogText.dataset.total = String(total);
      confirmButton.disabled = false;
      confirmButton.focus();
    }

    async function startSync() {
      confirmButton.disabled = true;
      const result = await api("POST", `/api/orgs/${encodeURIComponent(orgId)}/sync`);
      if (result.ok) {
        dialog.close();
        await refreshStatus();
        return;
      }
      const fallback = result.status === 409 ? "A sync is already running." : "The sync could not be started.";
      setStatus(dialogError, errorText(result.data, fallback), "error-text");
      await refreshStatus();
    }

    document.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target.closest("button") : null;
      if (!target) return;
      if (target.id === "sync-now" && !target.disabled) openSyncDialog();
      if (target.id === "retry-selected") retry(selectedIds());
      if (target.id === "retry-all") retry(null);
    });
    confirmButton.addEventListener("click", startSync);
    cancelButton.addEventListener("click", () => dialog.close());

    // --- Failed records: selection and retry -----------------------------------------------
    function checkboxes() {
      return Array.from(document.querySelectorAll(".record-checkbox"));
    }

    function selectedIds() {
      return checkboxes().filter((c) => c.checked).map((c) => c.value);
    }

    function updateSelection() {
      const button = document.getElementById("retry-selected");
      const label = document.getElementById("selected-count");
      if (!button || !label) return;
      const count = selectedIds().length;
      button.disabled = count === 0 || isRunning();
      button.textContent = count ? `Retry selected (${count})` : "Retry selected";
      label.textContent = count ? `${count} selected` : "None selected";
      const all = document.getElementById("select-all");
      if (all) {
        all.checked = count > 0 && count === checkboxes().length;
        all.indeterminate = count > 0 && count < checkboxes().length;
      }
    }

    document.addEventListener("change", (event) => {
      const target = event.target;
      if (!(target instanceof HTMLInputElement)) return;
      if (target.id === "select-all") {
        for (const box of checkboxes()) box.checked = target.checked;
      }
      if (target.id === "select-all" || target.classList.contains("record-checkbox")) updateSelection();
    });

    // Launching the run can take seconds: say at once that the retry is starting, and keep a second
    // click from asking for a second run (it would only be refused with 409).
    async function retry(recordIds) {
      const status = document.getElementById("retry-status");
      for (const id of ["retry-selected", "retry-all"]) {
        const button = document.getElementById(id);
        if (button) button.disabled = true;
      }
      const asked = recordIds ? `${recordIds.length} ${recordIds.length === 1 ? "record" : "records"}` : "the failed records";
      setStatus(status, `Starting a sync of ${asked}…`, "");
      const result = await api("POST", `/api/orgs/${encodeURIComponent(orgId)}/retry`, { record_ids: recordIds });
      if (!result.ok) {
        const text = result.status === 409
          ? "A sync is queued or running, or nothing is left to retry. Try again when the sync has finished."
          : errorText(result.data, "The retry could not be started.");
        setStatus(status, text, "error-text");
        await refreshStatus();
        return;
      }
      const ids = result.data && (result.data.record_ids || result.data.retried);
      const count = Array.isArray(ids) ? ids.length : recordIds ? recordIds.length : null;
      const what = count === null ? "The failed records" : `${count} ${count === 1 ? "record" : "records"}`;
      await refreshStatus();
      await refreshRecords();
      setStatus(document.getElementById("retry-status"), `${what} will be sent again now.`, "success");
    }
  });
})();
