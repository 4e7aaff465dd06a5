"""The admin service: an org-scoped JSON API and the server-rendered admin screens."""
