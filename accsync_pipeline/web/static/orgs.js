// The global view: the table follows syncs and health changes without a reload.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { swap, listen } = window.accsync;
  const panel = document.getElementById("orgs-panel");
  if (!panel) return;
  const refresh = () => swap(panel, "/fragments/orgs");
  listen("/api/events", ["run", "status"], refresh);
  window.setInterval(refresh, 10000);
});
