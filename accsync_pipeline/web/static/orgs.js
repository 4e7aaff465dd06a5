// The global view: the table follows syncs and health changes without a reload, and a whole row opens its org.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { swap, listen } = window.accsync;
  const panel = document.getElementById("orgs-panel");
  if (!panel) return;
  const refresh = () => swap(panel, `/fragments/orgs?${panel.dataset.query || ""}`);
  listen("/api/events", ["run", "status"], refresh);
  window.setInterval(refresh, 10000);
  panel.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target || target.closest("a, button, input")) return;
    const row = target.closest("tr[data-href]");
    if (row) window.location.assign(row.dataset.href);
  });
});
