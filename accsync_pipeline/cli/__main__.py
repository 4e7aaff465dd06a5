from accsync_pipeline.cli import main

main()
