#!/usr/bin/env bash
# Every test of the workspace: unit, conformance (on the simulated machine, typed and over the
# ABI door), property tests. PROPTEST_CASES raises or lowers the cases per property (default 256).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
# zelle's network logic once more, through the real FreeBSD backend over the ABI door.
ZELLE_NET_TEST_BACKEND=door cargo test -p zelle-core --test network --test network_properties "$@"
# The container runtime once more, through the real FreeBSD backend over the ABI door (the
# crash tests stay on the typed door: they use the machine's own death hook).
ZELLE_RUNTIME_TEST_BACKEND=door cargo test -p zelle-core --test lifecycle --test lifecycle_fixtures --test lifecycle_hooks --test lifecycle_properties "$@"
