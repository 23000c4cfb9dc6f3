"""The scheduler: cron slots in a zone, catch-up and backfill, claims and leases in the
run log, retries by failure class, notifications, the foreground loop and ``tick``."""
