"""Tests of the use-cases in accsync_pipeline.service."""
