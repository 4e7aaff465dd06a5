"""accsync's own database: configuration, per-record sync state, attempt log, notifications."""
