"""Use-cases shared by the command line, the admin service and the Dagster definitions."""
