"""Dagster run launcher that starts run workers from a warm process (dagster.yaml names it)."""

from accsync_pipeline.launcher.warm_launcher import WarmRunLauncher

__all__ = ["WarmRunLauncher"]
