#!/bin/sh
# The unit's SystemCallFilter= (@system-service minus @privileged) against what sessmond really
# calls: sessmond runs under strace through start-up, logins, a listener, reads, changes and closes
# by ID and by filter (audited), sessmon-load's churn, /metrics and /healthz, a SIGHUP reload with
# the audit log reopened, a SIGUSR1 reopening, and the SIGTERM shutdown; every system call seen must
# be in the filter, or under systemd it would fail with EPERM (SystemCallErrorNumber=).
# Usage: test_syscall_filter.sh SESSMOND SESSMON SESSMON_LOAD UNIT_FILE. 77 = strace or
# systemd-analyze missing, or ptrace not allowed here.
set -eu
SESSMOND=$1
SESSMON=$2
LOAD=$3
UNIT=$4
for tool in strace systemd-analyze timeout; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is missing"; exit 77; }
done
strace -f -qq -o /dev/null true 2>/dev/null || { echo "SKIP: ptrace is not allowed here"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessmon-syscalls.XXXXXX")
STRACE_PID=
# sessmond's process ID: the child of strace, the child of timeout ($STRACE_PID).
daemon_pid() {
    tracer=$(pgrep -P "$STRACE_PID" | head -1)
    [ -n "$tracer" ] && pgrep -P "$tracer" | head -1
}
cleanup() {
    if [ -n "$STRACE_PID" ]; then
        pid=$(daemon_pid || true)
        [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
        wait "$STRACE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# The filter as the unit states it: its SystemCallFilter= lines, groups expanded by systemd itself.
expand() {
    systemd-analyze syscall-filter "$1" 2>/dev/null | sed 1d | grep -v '^ *#' | tr -s ' ' '\n' | grep -v '^$' |
        while read -r name; do
            case "$name" in
                @*) expand "$name" ;;
                *) echo "$name" ;;
            esac
        done
}
: >"$WORK/allow"
: >"$WORK/deny"
# A line starting with ~ denies all its entries, any other line allows them (systemd.exec(5)).
sed -n 's/^SystemCallFilter=//p' "$UNIT" | while read -r line; do
    list=allow
    case "$line" in "~"*) list=deny line=${line#\~} ;; esac
    for entry in $line; do
        case "$entry" in
            @*) expand "$entry" ;;
            *) echo "$entry" ;;
        esac
    done >>"$WORK/$list"
done
sort -u "$WORK/allow" -o "$WORK/allow"
sort -u "$WORK/deny" -o "$WORK/deny"
comm -23 "$WORK/allow" "$WORK/deny" >"$WORK/filter"
[ "$(wc -l <"$WORK/filter")" -gt 100 ] || fail "the unit's filter expands to almost nothing: $(cat "$WORK/filter")"

# The demo configuration plus the admin listener (/metrics, /healthz) on any free port and the
# audit log, as the packaged configuration has them.
"$SESSMOND" --print-config |
    sed "1s|^{|{\"admin\": {\"listen\": \"127.0.0.1:0\"}, \"audit\": {\"file\": \"$WORK/audit.log\"},|" >"$WORK/config.json"
# timeout: the server goes even if this script is killed outright.
timeout 120 strace -f -qq -o "$WORK/trace" "$SESSMOND" --config "$WORK/config.json" --port 0 \
    --port-file "$WORK/port" >"$WORK/log" 2>&1 &
STRACE_PID=$!
i=0
while [ ! -s "$WORK/port" ] && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -s "$WORK/port" ] || { cat "$WORK/log" >&2; fail "sessmond did not listen under strace"; }
SESSMON_URL="ws://127.0.0.1:$(cat "$WORK/port")"
export SESSMON_URL SESSMON_PRINCIPAL=admin SESSMON_PASSWORD=admin

timeout 30 "$SESSMON" watch --json >"$WORK/watch" 2>&1 &
WATCH=$!
timeout 4 "$LOAD" --url "$SESSMON_URL" --sessions 50 >/dev/null 2>&1 || true
"$SESSMON" list --json >"$WORK/list" || fail "sessmon list"
id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$WORK/list" | head -1)
"$SESSMON" set --filter all syscall.check=1 >/dev/null || fail "sessmon set --filter"
if [ -n "$id" ]; then
    "$SESSMON" get "$id" >/dev/null || fail "sessmon get"
    "$SESSMON" close "$id" >/dev/null || true
fi
"$SESSMON" close --filter all >/dev/null 2>&1 || true
ADMIN=$(sed -n 's|^sessmond: admin listening on \(http://[^ ]*\) .*|\1|p' "$WORK/log")
[ -n "$ADMIN" ] || fail "no admin listener: $(cat "$WORK/log")"
if command -v curl >/dev/null; then
    curl -fsS --max-time 5 "$ADMIN/metrics" >/dev/null || fail "$ADMIN/metrics"
    curl -fsS --max-time 5 "$ADMIN/healthz" >/dev/null || fail "$ADMIN/healthz"
fi
kill "$WATCH" 2>/dev/null || true
wait "$WATCH" 2>/dev/null || true
# reopen_with SIGNAL: sessmond gets SIGNAL and opens the (renamed) audit log anew within 5 s.
reopen_with() {
    kill -"$1" "$pid"
    i=0
    while [ ! -f "$WORK/audit.log" ] && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -f "$WORK/audit.log" ] || fail "SIG$1 did not reopen the audit log"
}
pid=$(daemon_pid) || fail "no sessmond under strace"
# A reload (and the audit log reopened, as after logrotate's rename).
mv "$WORK/audit.log" "$WORK/audit.log.1" || fail "no audit log was written"
reopen_with HUP
grep -q '"op":"set_by_filter"' "$WORK/audit.log.1" || fail "the set by filter was not audited"
# logrotate's signal: the audit log reopened without a reload
mv "$WORK/audit.log" "$WORK/audit.log.2"
reopen_with USR1
kill -TERM "$pid"
wait "$STRACE_PID" || fail "sessmond did not stop cleanly: $(tail -5 "$WORK/log")"
STRACE_PID=

awk '{ name = ($2 ~ /^[0-9]/) ? $3 : $2; sub(/\(.*/, "", name); print name }' "$WORK/trace" |
    grep -E '^[a-z_0-9]+$' | sort -u >"$WORK/used"
[ "$(wc -l <"$WORK/used")" -gt 20 ] || fail "strace saw almost nothing: $(cat "$WORK/used")"
outside=$(comm -23 "$WORK/used" "$WORK/filter")
[ -z "$outside" ] || fail "sessmond calls outside the unit's SystemCallFilter: $outside"
echo "ok: all $(wc -l <"$WORK/used") system calls sessmond made are in the unit's filter ($(wc -l <"$WORK/filter") allowed)"
