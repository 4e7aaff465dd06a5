from accsync_pipeline_tests.sandbox_fixtures import (  # noqa: F401
    _dynamics_server,
    _xledger_server,
    dynamics_sandbox,
    sandbox_secrets,
    xledger_sandbox,
)
