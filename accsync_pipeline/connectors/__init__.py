"""One module per accounting system, all behind the `Connector` interface in `base`."""
