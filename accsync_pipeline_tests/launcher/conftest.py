"""The accounting sandboxes as real HTTP servers, for runs the warm launcher starts."""

from accsync_pipeline_tests.sandbox_fixtures import (  # noqa: F401
    _dynamics_server,
    _xledger_server,
    dynamics_sandbox,
    sandbox_secrets,
    xledger_sandbox,
)
