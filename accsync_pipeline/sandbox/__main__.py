"""`python -m accsync_pipeline.sandbox xledger|dynamics`, the same as `accsync sandbox`."""

from accsync_pipeline.sandbox.command import command

command()
