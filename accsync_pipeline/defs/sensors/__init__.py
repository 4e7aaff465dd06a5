"""Sensors: partitions in step with orgs, run outcomes, approvals, automatic retries, alert rules."""
