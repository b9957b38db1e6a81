#!/usr/bin/env bash
# Every test of the workspace: unit, conformance (on the simulated machine), property tests.
# PROPTEST_CASES raises or lowers the number of cases per property (default 256).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
