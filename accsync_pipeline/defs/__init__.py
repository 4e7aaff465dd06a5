"""Everything Dagster: partitions, assets, the sync job, schedules and sensors."""
