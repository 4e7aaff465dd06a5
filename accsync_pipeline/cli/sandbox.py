"""`accsync sandbox`: local emulators of Xledger and Business Central."""

from accsync_pipeline.sandbox.command import command

__all__ = ["command"]
