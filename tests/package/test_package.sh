#!/bin/sh
# The Debian packages end to end, without root or containers: builds them with scripts/package
# (lintian --fail-on error included), unpacks each with `dpkg-deb -x` into a throw-away root, runs
# the installed programs from there (LD_LIBRARY_PATH = the root's library dir) and checks the
# contents: conffile, unit (systemd-analyze verify), SONAME and ldconfig trigger, header,
# pkg-config file (a program is built and run against the unpacked library).
# Usage: test_package.sh SOURCE_DIR PACKAGE_BUILD_DIR. Exit 0 = pass, 77 = a tool is missing.
set -eu
SRC=$1
BUILD=$2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessmon-package-test.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for tool in cmake cpack dpkg-deb dpkg-shlibdeps lintian systemd-analyze pkg-config cc readelf scdoc; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is missing (scripts/setup installs it)"
        exit 77
    fi
done

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
checks=0
ok() {
    checks=$((checks + 1))
    echo "ok: $*"
}

VERSION=$(sed -n 's/^project(sessmon VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
ARCH=$(dpkg --print-architecture)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)

# --- Build (lintian runs inside and fails the script on any error) -------------------------------
"$SRC/scripts/package" --build-dir "$BUILD" --out "$WORK/debs" >"$WORK/package.log" 2>&1 ||
    { cat "$WORK/package.log" >&2; fail "scripts/package failed"; }
grep -E '^[EW]: ' "$WORK/package.log" || true
ok "scripts/package built the packages, lintian reports no error"

ROOT=$WORK/root
mkdir -p "$ROOT"
for pkg in sessmond sessmon libsessmon1 libsessmon-dev; do
    deb=$WORK/debs/${pkg}_${VERSION}-1_${ARCH}.deb
    [ -f "$deb" ] || fail "$deb missing"
    dpkg-deb -x "$deb" "$ROOT"
    mkdir -p "$WORK/control/$pkg"
    dpkg-deb -e "$deb" "$WORK/control/$pkg"
    [ -f "$ROOT/usr/share/doc/$pkg/copyright" ] || fail "$pkg: no /usr/share/doc/$pkg/copyright"
    [ -f "$ROOT/usr/share/doc/$pkg/changelog.Debian.gz" ] || fail "$pkg: no changelog.Debian.gz"
done
ok "four packages unpacked into $ROOT"

# Each file in the package its install component names (COMMON.md): the man pages and completions.
in_package() {
    dpkg-deb -c "$WORK/debs/${1}_${VERSION}-1_${ARCH}.deb" | grep -q " \./$2\$" || fail "$1 does not hold /$2"
}
for f in usr/share/man/man8/sessmond.8.gz usr/share/man/man5/sessmond.json.5.gz \
    usr/share/bash-completion/completions/sessmond usr/share/zsh/vendor-completions/_sessmond; do
    in_package sessmond "$f"
done
for f in usr/share/man/man1/sessmon.1.gz usr/share/man/man1/sessmon-load.1.gz \
    usr/share/bash-completion/completions/sessmon usr/share/bash-completion/completions/sessmon-load \
    usr/share/zsh/vendor-completions/_sessmon usr/share/zsh/vendor-completions/_sessmon-load; do
    in_package sessmon "$f"
done
ok "man pages and bash/zsh completion in the sessmond and sessmon packages"
LIBDIR=$ROOT/usr/lib/$MULTIARCH
export LD_LIBRARY_PATH="$LIBDIR"

# --- sessmond ------------------------------------------------------------------------------------
CONFIG=$ROOT/etc/sessmond/sessmond.json
out=$("$ROOT/usr/bin/sessmond" --check-config --config "$CONFIG" 2>&1) || fail "sessmond --check-config: $out"
[ "$out" = "sessmond: configuration is valid" ] || fail "sessmond --check-config said: $out"
ok "installed sessmond --check-config accepts the installed /etc/sessmond/sessmond.json"
grep -qx '/etc/sessmond/sessmond.json' "$WORK/control/sessmond/conffiles" || fail "sessmond.json is not a conffile"
grep -qx '/etc/logrotate.d/sessmond' "$WORK/control/sessmond/conffiles" || fail "the logrotate entry is not a conffile"
grep -q '^/var/log/sessmond/audit.log {' "$ROOT/etc/logrotate.d/sessmond" || fail "logrotate entry"
grep -q 'signal=USR1' "$ROOT/etc/logrotate.d/sessmond" || fail "logrotate entry: SIGUSR1 (reopen without a reload)"
for script in postinst prerm postrm; do
    [ -x "$WORK/control/sessmond/$script" ] || fail "sessmond: no executable $script"
    sh -n "$WORK/control/sessmond/$script" || fail "sessmond: $script does not parse"
done
grep -q 'systemd-sysusers sessmond.conf' "$WORK/control/sessmond/postinst" || fail "postinst makes no user"
ok "sessmond.json is a conffile; maintainer scripts there and parse"
[ "$("$ROOT/usr/bin/sessmond" --version)" = "sessmond $VERSION" ] || fail "sessmond --version"
ok "sessmond --version = $VERSION"

UNIT=$ROOT/lib/systemd/system/sessmond.service
[ -f "$UNIT" ] || fail "no unit file lib/systemd/system/sessmond.service"
grep -qx 'ExecStart=/usr/bin/sessmond --config /etc/sessmond/sessmond.json' "$UNIT" || fail "unit: ExecStart"
grep -qx 'Type=notify' "$UNIT" || fail "unit: Type=notify"
# shellcheck disable=SC2016 # $MAINPID is systemd's, not ours
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$UNIT" || fail "unit: ExecReload"
[ -f "$ROOT/usr/lib/sysusers.d/sessmond.conf" ] || fail "no sysusers.d entry"
ok "unit file, its ExecStart/Type/ExecReload and the sysusers.d entry are there"
# verify needs the unit's programs to exist: a copy pointing at the unpacked sessmond. The man page
# (Documentation=man:sessmond(8)) is looked up in the unpacked root when it ships one.
mkdir -p "$WORK/units"
sed "s|/usr/bin/sessmond|$ROOT/usr/bin/sessmond|g" "$UNIT" >"$WORK/units/sessmond.service"
MAN=no
if ls "$ROOT"/usr/share/man/man8/sessmond.8* >/dev/null 2>&1; then
    MAN=yes
fi
MANPATH=$ROOT/usr/share/man systemd-analyze verify --man=$MAN "$WORK/units/sessmond.service" ||
    fail "systemd-analyze verify sessmond.service"
ok "systemd-analyze verify sessmond.service (man page check: $MAN)"

# The installed daemon with the installed configuration serves: on any free port (--port 0), and
# its admin listener too, so nothing here depends on 9595 or 9464 being free, and the audit log in
# the test's directory (the copy's only changes).
grep -q '"listen": "127.0.0.1:9464"' "$CONFIG" || fail "the packaged configuration has no admin listener"
grep -q '"file": "/var/log/sessmond/audit.log"' "$CONFIG" || fail "the packaged configuration has no audit log"
sed -e 's/"listen": "127.0.0.1:9464"/"listen": "127.0.0.1:0"/' \
    -e "s|\"file\": \"/var/log/sessmond/audit.log\"|\"file\": \"$WORK/audit.log\"|" "$CONFIG" >"$WORK/sessmond.json"
grep -q "$WORK/audit.log" "$WORK/sessmond.json" || fail "the test copy of the configuration keeps /var/log"
# timeout: should this script be killed outright (ctest's timeout), the server still goes.
timeout 120 "$ROOT/usr/bin/sessmond" --config "$WORK/sessmond.json" --port 0 --port-file "$WORK/port" \
    >"$WORK/sessmond.log" 2>&1 &
SERVER_PID=$!
i=0
while [ ! -s "$WORK/port" ] && [ $i -lt 100 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/sessmond.log" >&2; fail "installed sessmond exited"; }
    sleep 0.1
    i=$((i + 1))
done
[ -s "$WORK/port" ] || { cat "$WORK/sessmond.log" >&2; fail "installed sessmond did not listen within 10 s"; }
PORT=$(cat "$WORK/port")
# An anonymous session is refused by the packaged configuration (anonymous.allowed = false).
list=$("$ROOT/usr/bin/sessmon" list --url "ws://127.0.0.1:$PORT" 2>&1) && fail "anonymous list was allowed: $list"
case "$list" in
    *"anonymous sessions are not allowed"*) ;;
    *) fail "sessmon list against the packaged configuration: $list" ;;
esac
ADMIN=$(sed -n 's|^sessmond: admin listening on \(http://[^ ]*\) .*|\1|p' "$WORK/sessmond.log")
[ -n "$ADMIN" ] || fail "no admin listener: $(cat "$WORK/sessmond.log")"
if command -v curl >/dev/null; then
    curl -fsS --max-time 5 "$ADMIN/metrics" | grep -q '^sessmond_' || fail "no sessmond metrics on $ADMIN/metrics"
    curl -fsS --max-time 5 -o /dev/null "$ADMIN/healthz" || fail "$ADMIN/healthz"
fi
[ -f "$WORK/audit.log" ] || fail "the audit log was not opened: $(cat "$WORK/sessmond.log")"
kill "$SERVER_PID"
wait "$SERVER_PID" || fail "installed sessmond did not stop cleanly"
SERVER_PID=
ok "installed sessmond serves on port $PORT and $ADMIN with the packaged configuration, refuses anonymous, stops cleanly"

# --- sessmon -------------------------------------------------------------------------------------
[ "$("$ROOT/usr/bin/sessmon" --version)" = "sessmon $VERSION" ] || fail "sessmon --version"
"$ROOT/usr/bin/sessmon-load" --help >/dev/null || fail "sessmon-load --help"
[ -f "$ROOT/usr/share/sessmon/themes/default.theme" ] || fail "no themes"
ok "sessmon --version = $VERSION, sessmon-load runs, themes installed"

# --- libsessmon1 ---------------------------------------------------------------------------------
soname=$(readelf -d "$LIBDIR/libsessmon.so.1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libsessmon.so.1" ] || fail "SONAME is '$soname'"
grep -qx 'activate-noawait ldconfig' "$WORK/control/libsessmon1/triggers" || fail "no ldconfig trigger"
grep -q '^libsessmon 1 libsessmon1 ' "$WORK/control/libsessmon1/shlibs" || fail "no shlibs entry"
ok "libsessmon1: SONAME libsessmon.so.1, shlibs, ldconfig trigger"

# --- libsessmon-dev ------------------------------------------------------------------------------
[ -f "$ROOT/usr/include/sessmon.h" ] || fail "no header"
[ "$(readlink "$LIBDIR/libsessmon.so")" = "libsessmon.so.1" ] || fail "libsessmon.so does not link to libsessmon.so.1"
dpkg-deb -f "$WORK/debs/libsessmon-dev_${VERSION}-1_${ARCH}.deb" Depends | grep -q "libsessmon1 (= $VERSION-1)" ||
    fail "libsessmon-dev does not depend on libsessmon1 (= $VERSION-1)"
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
[ "$(pkg-config --modversion sessmon)" = "$VERSION" ] || fail "pkg-config --modversion sessmon"
# The .pc paths are relative to its own place, so they resolve inside the unpacked root.
incdir=$(cd "$(pkg-config --variable=includedir sessmon)" && pwd -P)
[ "$incdir" = "$(cd "$ROOT/usr/include" && pwd -P)" ] || fail "pkg-config includedir is $incdir"
cat >"$WORK/use.c" <<'PROG'
#include <sessmon.h>
#include <stdio.h>
int main(void)
{
    puts(sm_reason_name(SM_REASON_SERVER_CLOSING));
    return 0;
}
PROG
# shellcheck disable=SC2046
cc -o "$WORK/use" "$WORK/use.c" $(pkg-config --cflags --libs sessmon) || fail "cannot build against libsessmon-dev"
[ "$("$WORK/use")" = "SERVER_CLOSING" ] || fail "program built with pkg-config sessmon did not run"
ok "libsessmon-dev: header, .so link, pkg-config resolve; a program builds and runs against them"

echo "package test: $checks checks passed"
