#!/usr/bin/env bash
# wrk (the load generator) and nginx (a static-file reference) from Debian's packages,
# installed only when missing and this shell may: as root with apt-get. Elsewhere the
# benchmark says so and falls back to its asyncio client and leaves nginx out.
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
# Node.js for the sharp-based peers (Next.js 16 wants Node >= 20.9: an older Debian
# nodejs installs, but `make node-peers` then says which version it needs).
command -v node >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "benchmarks: installing ${missing[*]} from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "benchmarks: ${missing[*]} missing and not root: asyncio client instead of wrk, no nginx" >&2
fi
