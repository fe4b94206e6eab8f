"""pixserve's benchmarks, one package: `python -m benchmarks --list` names each published
comparison and how long it takes, `python -m benchmarks NAME [ARGS]` runs one.

The shared parts: `load` (wrk or an asyncio client), `servers` and `node_peers` (the
contenders as loopback servers), `cases` (the workload), `quality` and `ssim` (output
scoring), `results_md` (docs/results.md's sections). `make bench` installs what
they need (thumbor's virtualenv, the Node peers, pyvips, matplotlib)."""
