#!/usr/bin/env bash
# Regenerates zelle-sys's checked-in FreeBSD amd64 binding, sys/src/generated/x86_64_freebsd.rs,
# with bindgen over sys/wrapper.h and the FreeBSD headers that PyPI's ziglang ships.
#
#   bash sys/regenerate.sh           write the binding
#   bash sys/regenerate.sh --check   regenerate into the build dir and fail, printing a diff, if it
#                                    differs from the checked-in copy (CI runs this)
#
# Installs what it needs when missing: Debian's libclang-dev (bindgen loads libclang at run
# time) and ziglang (pinned below). bindgen itself is the workspace's `bindgen` crate, run by
# sys/build.rs with the `regenerate` feature (same allowlist as a native FreeBSD build).
# Nothing here is written by hand: change wrapper.h or the allowlist in build.rs, then rerun.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")"

ROOT=$(cd .. && pwd)

# Pinned: the header set is part of the output. scripts/freebsd-build.sh pins the same version.
ZIGLANG_VERSION=0.17.1
CHECKED_IN=src/generated/x86_64_freebsd.rs

mode=write
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    -h | --help) sed -n '2,12p' "$SELF"; exit 0 ;;
    *) echo "regenerate.sh: unknown argument: $1" >&2; exit 2 ;;
esac

# --- tools ---------------------------------------------------------------------------------
if ! dpkg-query -W -f='${Status}' libclang-dev 2>/dev/null | grep -q 'install ok installed'; then
    echo "regenerate.sh: apt-get install libclang-dev"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libclang-dev
fi
# The libclang that Debian's libclang-dev stands for (libclang-dev depends on libclang-NN-dev),
# not whichever newest libclang clang-sys would find: its version is part of the output.
if [[ -z "${LIBCLANG_PATH:-}" ]]; then
    llvm=$(dpkg-query -W -f='${Depends}' libclang-dev | grep -o 'libclang-[0-9]*-dev' | head -n1)
    llvm=${llvm#libclang-}
    export LIBCLANG_PATH="/usr/lib/llvm-${llvm%-dev}/lib"
fi

PYTHON=$(command -v python3)
zig_installed=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("ziglang"))' 2>/dev/null || true)
if [[ "$zig_installed" != "$ZIGLANG_VERSION" ]]; then
    echo "regenerate.sh: pip install ziglang==$ZIGLANG_VERSION (found: ${zig_installed:-none})"
    "$PYTHON" -m pip install -q "ziglang==$ZIGLANG_VERSION"
fi
ZIG_INCLUDE=$("$PYTHON" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "lib", "libc", "include"))')

# --- bindgen (sys/build.rs, feature `regenerate`) ------------------------------------------
# The same order as `zig cc -target x86_64-freebsd -v` searches: arch directory first.
export ZELLE_SYS_BINDGEN_INCLUDE="$ZIG_INCLUDE/x86_64-freebsd-none:$ZIG_INCLUDE/generic-freebsd"
export ZELLE_SYS_HEADERS="ziglang $ZIGLANG_VERSION (PyPI): lib/libc/include/{x86_64-freebsd-none,generic-freebsd}"
export ZELLE_SYS_REGENERATE_RUN="$(date +%s%N)-$$"
messages=$(mktemp)
trap 'rm -f "$messages"' EXIT
cargo build -p zelle-sys --features regenerate --target-dir "$ROOT/target/regenerate" \
    --message-format=json-render-diagnostics >"$messages"
out_dir=$("$PYTHON" - "$messages" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    msg = json.loads(line)
    if msg.get("reason") == "build-script-executed" and "zelle-sys" in msg.get("package_id", ""):
        print(msg["out_dir"])
EOF
)
fresh="$out_dir/x86_64_freebsd.rs"
if [[ -z "$out_dir" || ! -s "$fresh" ]]; then
    echo "regenerate.sh: the build script left no x86_64_freebsd.rs" >&2
    exit 1
fi

if [[ $mode == check ]]; then
    if ! diff -u "$CHECKED_IN" "$fresh"; then
        echo "regenerate.sh --check: sys/$CHECKED_IN is not what bindgen generates;" \
            "run: bash sys/regenerate.sh" >&2
        exit 1
    fi
    echo "regenerate.sh --check: sys/$CHECKED_IN is up to date ($(wc -l <"$fresh") lines)"
else
    mkdir -p "$(dirname "$CHECKED_IN")"
    cp "$fresh" "$CHECKED_IN"
    echo "regenerate.sh: wrote sys/$CHECKED_IN ($(wc -l <"$CHECKED_IN") lines)"
fi
