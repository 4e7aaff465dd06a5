// Shared by every admin screen: calling the JSON API, swapping server-rendered fragments,
// live events, the notification bell, sign-in and sign-out.
"use strict";

window.accsync = (() => {
  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    // The API wants this header on every cookie-authenticated change (CSRF protection).
    if (method !== "GET") headers["X-Accsync-CSRF"] = "1";
    const options = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (e) {
      return { ok: false, status: 0, data: { detail: "The admin service could not be reached. Try again." } };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  // One readable sentence out of whatever error shape the API returned.
  function errorText(data, fallback) {
    if (!data) return fallback;
    const detail = data.detail !== undefined ? data.detail : data;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => (typeof d === "string" ? d : problemText(d))).join("; ");
    }
    if (detail && Array.isArray(detail.problems)) return detail.problems.map(problemText).join("; ");
    if (detail && typeof detail.message === "string") return detail.message;
    return fallback;
  }

  function problemText(p) {
    if (Array.isArray(p)) return `${p[0]}: ${p[1]}`;
    if (p && p.field && p.message) return `${p.field}: ${p.message}`;
    if (p && p.msg) return `${(p.loc || []).filter((x) => x !== "body").join(".")}: ${p.msg}`;
    return String(p);
  }

  // Replace an element's content with a fragment the server rendered.
  async function swap(element, url) {
    if (!element) return false;
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) return false;
    element.innerHTML = await response.text();
    return true;
  }

  // Live events from the API; reconnects on its own. Returns a function that stops listening.
  function listen(url, names, handler) {
    if (!window.EventSource) return () => {};
    const source = new EventSource(url, { withCredentials: true });
    for (const name of names) source.addEventListener(name, (event) => handler(name, event));
    source.onmessage = (event) => handler("message", event);
    window.addEventListener("pagehide", () => source.close());
    return () => source.close();
  }

  function setStatus(element, text, kind) {
    if (!element) return;
    element.textContent = text;
    element.className = kind ? `${kind}` : "";
    element.hidden = !text;
  }

  async function refreshBell() {
    const badge = document.getElementById("unread-count");
    if (!badge) return;
    const result = await api("GET", "/api/notifications/unread-count");
    if (!result.ok || !result.data) return;
    const count = Number(result.data.unread ?? result.data.count ?? result.data.unread_count ?? 0);
    badge.textContent = String(count);
    badge.dataset.count = String(count);
    const label = document.getElementById("bell-label");
    if (label) label.textContent = count === 1 ? "unread notification" : "unread notifications";
  }

  function setUpBell() {
    if (!document.getElementById("unread-count")) return;
    listen("/api/events", ["notification"], () => refreshBell());
    // A safety net for proxies that buffer event streams.
    window.setInterval(refreshBell, 30000);
  }

  function setUpSignOut() {
    const button = document.getElementById("sign-out");
    if (!button) return;
    button.addEventListener("click", async () => {
      await api("POST", "/api/logout");
      window.location.assign("/login");
    });
  }

  function setUpDevLogin() {
    for (const button of document.querySelectorAll("[data-login-user]")) {
      button.addEventListener("click", async () => {
        const status = document.getElementById("login-status");
        const result = await api("POST", "/api/dev/login", {
          user_id: button.dataset.loginUser,
          set_cookie: true,
        });
        if (result.ok) {
          window.location.assign(button.dataset.next || "/");
        } else {
          setStatus(status, errorText(result.data, "Signing in did not work."), "error-text");
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpBell();
    setUpSignOut();
    setUpDevLogin();
  });

  return { api, errorText, swap, listen, setStatus, refreshBell };
})();
