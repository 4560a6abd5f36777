#!/bin/sh
# sessmon-load built against the INSTALLED libsessmon (`cmake --install` into a temp prefix, then
# `pkg-config --cflags --libs sessmon`): it must use the public API only. The build then runs it
# for two seconds against a real sessmond (loopback, free port) with updates and connection drops
# (sm_session_drop_connection) and checks its last progress line. Exits 77 (CTest skip) when
# pkg-config or a C compiler is missing.
# usage: install_load.sh SOURCE_DIR BUILD_DIR CC SANITIZE(ON|OFF)
set -u
SRC=$1
BUILD=$2
CC=$3
SANITIZE=$4
command -v pkg-config >/dev/null 2>&1 || { echo "pkg-config not installed: skipped"; exit 77; }
command -v "$CC" >/dev/null 2>&1 || { echo "no C compiler '$CC': skipped"; exit 77; }
pkg-config --exists libcjson || { echo "no libcjson.pc: skipped"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessmon-install-load.XXXXXX") || exit 1
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$BUILD" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log"; fail "cmake --install"; }
PC=$(find "$WORK/prefix" -name sessmon.pc)
[ -n "$PC" ] || fail "no sessmon.pc installed"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$PC")
FLAGS=$(pkg-config --cflags --libs sessmon libcjson) || fail "pkg-config --cflags --libs sessmon libcjson"
LIBDIR=$(pkg-config --variable=libdir sessmon) || fail "pkg-config --variable=libdir sessmon"

# The tool's own sources and the few core helpers it shares with the server (compiled in, not
# libsessmon's); -I the source root for "tools/load/..." and "core/...", never client/: <sessmon.h>
# must come from the installed prefix, and client/internal.h must not be needed.
INTERNAL=$(grep -l '#include "client/' "$SRC"/tools/load/*.[ch])
[ -z "$INTERNAL" ] || fail "tools/load includes libsessmon's sources, not <sessmon.h>: $INTERNAL"
EXTRA=
[ "$SANITIZE" = ON ] && EXTRA="-fsanitize=address,undefined"
# shellcheck disable=SC2086
"$CC" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $EXTRA -I"$SRC" -o "$WORK/sessmon-load" \
    "$SRC"/tools/load/*.c "$SRC/core/clock.c" "$SRC/core/proc.c" "$SRC/core/error.c" "$SRC/core/utf8.c" \
    "$SRC/core/props.c" "$SRC/core/unicode.c" $FLAGS -lm -Wl,-rpath,"$LIBDIR" >"$WORK/cc.log" 2>&1 ||
    { cat "$WORK/cc.log"; fail "building sessmon-load against the installed library with: $FLAGS"; }
ldd "$WORK/sessmon-load" | grep -q "$WORK/prefix" || fail "sessmon-load is not linked to the installed libsessmon.so"

"$BUILD/server/sessmond" --config "$SRC/demo/sessmond.json" --port 0 --port-file "$WORK/port" \
    >"$WORK/sessmond.log" 2>&1 &
SPID=$!
i=0
while [ ! -s "$WORK/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$WORK/port" ] || { cat "$WORK/sessmond.log"; fail "sessmond did not start"; }
# Demo-only password of the demo config's admin principal.
ADMIN_PW="admin" timeout 30 "$WORK/sessmon-load" --url "ws://127.0.0.1:$(cat "$WORK/port")" --sessions 20 \
    --admin admin --admin-password-env ADMIN_PW --update-rate 100 --drop-rate 4 --duration 2 --json-progress \
    >"$WORK/load.out" 2>"$WORK/load.err" || { cat "$WORK/load.err"; fail "sessmon-load exited with $?"; }
LAST=$(tail -n 1 "$WORK/load.out")
num() { echo "$LAST" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
echo "$LAST" | grep -q '"state":"stopped"' || fail "no final line: $LAST"
[ "$(num opened)" -ge 20 ] || fail "sessions not opened: $LAST"
[ "$(num updates)" -gt 0 ] || fail "no update acknowledged: $LAST"
[ "$(num drops)" -gt 0 ] || fail "no connection dropped: $LAST"
[ "$(num failed)" -eq 0 ] || fail "sessions failed: $LAST"
echo "ok: built with '$FLAGS'; opened $(num opened), updates $(num updates), drops $(num drops), reconnects $(num reconnects)"
