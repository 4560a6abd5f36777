#!/bin/sh
# The installed libsessmon as a user gets it: `cmake --install` into a temp prefix, then a program
# that includes only the installed <sessmon.h> is built with `pkg-config --cflags --libs sessmon`
# and run. Exits 77 (CTest skip) when pkg-config or a C compiler is missing.
# usage: install_pkgconfig.sh BUILD_DIR CC SANITIZE(ON|OFF)
set -u
BUILD=$1
CC=$2
SANITIZE=$3
command -v pkg-config >/dev/null 2>&1 || { echo "pkg-config not installed: skipped"; exit 77; }
command -v "$CC" >/dev/null 2>&1 || { echo "no C compiler '$CC': skipped"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessmon-install.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$BUILD" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log"; fail "cmake --install"; }
PC=$(find "$WORK/prefix" -name sessmon.pc)
[ -n "$PC" ] || fail "no sessmon.pc installed"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$PC")
FLAGS=$(pkg-config --cflags --libs sessmon) || fail "pkg-config --cflags --libs sessmon"
LIBDIR=$(pkg-config --variable=libdir sessmon) || fail "pkg-config --variable=libdir sessmon"

cat >"$WORK/app.c" <<'APP'
/* Uses the installed header and library only. */
#include <stdio.h>
#include <sessmon.h>

int main(void)
{
    sm_client_error err;
    sm_client *c = sm_client_new(&(sm_client_params){.no_tls = true, .max_sessions = 1}, &err);
    if (!c) {
        fprintf(stderr, "sm_client_new: %s\n", err.message);
        return 1;
    }
    sm_session *s = sm_session_open(c, &(sm_session_params){.url = "http://x"}, &err);
    printf("%s %s %s\n", s ? "opened" : "refused", sm_client_errcode_name(err.code),
           sm_reason_name(SM_REASON_SERVER_CLOSING));
    sm_client_free(c);
    return 0;
}
APP
EXTRA=
[ "$SANITIZE" = ON ] && EXTRA="-fsanitize=address,undefined"
# shellcheck disable=SC2086
"$CC" -std=c11 -Wall -Wextra -Werror $EXTRA -o "$WORK/app" "$WORK/app.c" $FLAGS -Wl,-rpath,"$LIBDIR" ||
    fail "building against the installed library with: $FLAGS"
OUT=$("$WORK/app") || fail "the program failed: $OUT"
[ "$OUT" = "refused INVALID_ARGUMENT SERVER_CLOSING" ] || fail "unexpected output: $OUT"
echo "ok: built with '$FLAGS' and ran: $OUT"
