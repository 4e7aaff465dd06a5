// Notifications: opening one marks it read, then shows the records it is about.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { api, refreshBell } = window.accsync;
  for (const link of document.querySelectorAll(".notification-link")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      await api("POST", `/api/notifications/${link.dataset.notificationId}/read`);
      window.location.assign(link.getAttribute("href"));
    });
  }
  const readAll = document.getElementById("read-all");
  if (readAll) {
    readAll.addEventListener("click", async () => {
      await api("POST", "/api/notifications/read-all");
      for (const item of document.querySelectorAll(".notification-list li.unread")) {
        item.classList.replace("unread", "read");
        item.querySelector(".visually-hidden")?.remove();
      }
      await refreshBell();
    });
  }
});
