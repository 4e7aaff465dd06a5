// Cancelling a queued or running sync, from the run's page or the status screen.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { api, errorText, setStatus } = window.accsync;
  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("#cancel-run") : null;
    if (!button || button.disabled) return;
    if (!window.confirm("Cancel this sync? Records already sent stay in the accounting system; the rest wait for the next sync.")) return;
    button.disabled = true;
    button.textContent = "Cancelling…";
    const result = await api("POST", button.dataset.cancelUrl);
    const status = document.getElementById("cancel-status");
    if (result.ok) {
      setStatus(status, "Cancelling: Dagster is stopping the run.", "notice");
      window.setTimeout(() => window.location.reload(), 2000);
    } else {
      button.disabled = false;
      button.textContent = "Cancel sync";
      setStatus(status, errorText(result.data, "The sync could not be cancelled."), "error-text");
    }
  });
});
