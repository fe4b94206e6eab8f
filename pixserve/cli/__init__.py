"""The `pixserve` command: serve, config, sign, samples and cache."""
