"""Real components on loopback, started and stopped by the tests and the benchmarks
alike: a server process and its readiness (`harness`), Debian's nginx with the shipped
site (`nginx_front`), SeaweedFS as S3 (`seaweed`). Neither tests/ nor benchmarks/
imports the other for these."""
