#!/bin/sh
# End-to-end test of the demo in tmux: scripts/demo's processes (sessmond, sessmon-load, the monitor),
# a bulk update through the monitor changing exactly the matching sessions (checked with sessmon list)
# while sessmon-load churns, the read-only viewer refusing every mutating key, the monitor recovering
# from a server crash and restart, and quitting (or closing the terminal) stopping everything.
# Exits 77 (CTest skip) without tmux.
# usage: tmux_demo.sh SOURCE_DIR BUILD_DIR
set -u
ROOT=$1
BUILD=$2
command -v tmux >/dev/null 2>&1 || { echo "tmux not installed: skipped"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessmon-demo-e2e.XXXXXX")
RUN=$WORK/run
SOCK="sessmon-demo-e2e-$$"
T="tmux -L $SOCK -f /dev/null"
SESSMON=$BUILD/tui/sessmon
SESSIONS=300
FAILED=0
N=0
RESTARTED_PID=

WAIT_SECONDS=15
. "$(dirname "$0")/../support/tmux_lib.sh"

cleanup() {
    $T kill-server >/dev/null 2>&1
    tmux -L "$SOCK-hup" -f /dev/null kill-server >/dev/null 2>&1
    for f in load.pid sessmond.pid; do
        p=$(cat "$RUN/../run2/$f" 2>/dev/null) && [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    # The demo script stops what it started when its monitor ends; make sure of it anyway.
    for f in load.pid sessmond.pid; do
        p=$(cat "$RUN/$f" 2>/dev/null) && [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    [ -n "$RESTARTED_PID" ] && kill "$RESTARTED_PID" 2>/dev/null
    remove_work
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

show_logs() {
    for f in sessmond.log load.log; do
        echo "--- $f (tail) ---"
        tail -n 15 "$RUN/$f" 2>/dev/null
    done
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# server_ids FILTER: sorted session IDs matching FILTER, as the server sees them.
server_ids() {
    SESSMON_PASSWORD=admin "$SESSMON" list --url "$URL" --principal admin --json --keys '$SessionId' \
        --filter "$1" | grep -o '"session":"[^"]*"' | cut -d'"' -f4 | sort
}

# shown_total: the m of "Shown: n of m" on the operator's monitor.
shown_total() { screen demo:0 | grep -o 'Shown: [0-9]* of [0-9]*' | head -n 1 | awk '{print $4}'; }

export SESSMON_BUILD_DIR="$BUILD" SESSMON_DEMO_DIR="$RUN"
$T new-session -d -s demo -x 160 -y 45 \
    "env TERM=tmux-256color LANG=C.UTF-8 SESSMON_BUILD_DIR='$BUILD' SESSMON_DEMO_DIR='$RUN' '$ROOT/scripts/demo' --no-build --port 0 --sessions $SESSIONS \
     2>'$WORK/demo.err'; echo DEMO-EXITED:\$?; sleep 600" || fail "tmux new-session"

# ---- the demo's processes -------------------------------------------------------------------
wait_for demo:0 "connected" 30
wait_for demo:0 "(sessmon-demo)"
URL=$(cat "$RUN/url" 2>/dev/null)
[ -n "$URL" ] || fail "the demo wrote no url to $RUN"
alive "$(cat "$RUN/sessmond.pid")" || fail "sessmond is not running"
alive "$(cat "$RUN/load.pid")" || fail "sessmon-load is not running"
screen demo:0 | grep -q "operator@$URL" || fail "the monitor is not logged in as operator"
i=0
until [ "$(server_ids 'has Department' | wc -l)" -ge $((SESSIONS - 10)) ]; do
    i=$((i + 1))
    [ $i -gt 60 ] && fail "sessmon-load did not open $SESSIONS sessions"
    sleep 0.5
done
total=$(shown_total)
[ -n "$total" ] && [ "$total" -ge "$SESSIONS" ] || fail "the monitor shows $total sessions"
for c in FR US GB DE JP BR IN AU; do
    [ "$(server_ids "\$Country is '$c'" | wc -l)" -gt 0 ] || fail "no session from $c"
done
i=0
until grep -q '"state":"running"' "$RUN/load.log"; do
    i=$((i + 1))
    [ $i -gt 50 ] && fail "no progress from sessmon-load"
    sleep 0.1
done
ok "scripts/demo runs sessmond, sessmon-load ($SESSIONS sessions from 8 countries) and the monitor as operator"

# ---- the read-only viewer beside it ----------------------------------------------------------
$T new-window -d -t demo -n viewer \
    "env TERM=tmux-256color LANG=C.UTF-8 SESSMON_BUILD_DIR='$BUILD' SESSMON_DEMO_DIR='$RUN' '$ROOT/scripts/demo' viewer 2>'$WORK/viewer.err'; echo VIEWER-EXITED:\$?; \
     sleep 600"
wait_for demo:viewer "READ-ONLY (principal lacks modify_session)" 20
wait_for demo:viewer "connected"
wait_for demo:viewer "viewer@$URL"
# Every mutating key, each followed by what would complete the change if it were let through.
keys demo:viewer "e"
wait_for demo:viewer "Edit refused: read-only"
keys demo:viewer "a"
text demo:viewer "ViewerProbe"
keys demo:viewer Tab
text demo:viewer "1"
keys demo:viewer Enter Escape
keys demo:viewer F7
wait_for demo:viewer "Edit refused: read-only"
keys demo:viewer Escape "b"
wait_for demo:viewer "Bulk refused: read-only"
text demo:viewer "all"
keys demo:viewer Enter "a"
text demo:viewer "ViewerProbe"
keys demo:viewer Tab
text demo:viewer "1"
keys demo:viewer Enter "A" "y"
text demo:viewer "$SESSIONS"
keys demo:viewer Enter Escape Escape F8
wait_for demo:viewer "Bulk refused: read-only"
keys demo:viewer Escape "u" "y" "x" "d"
keys demo:viewer Escape "?"
wait_for demo:viewer "(read-only)"
keys demo:viewer Escape
sleep 1
[ "$(server_ids 'has ViewerProbe' | wc -l)" = 0 ] || fail "the read-only viewer changed a session"
screen demo:viewer | grep -q "VIEWER-EXITED" && fail "the viewer exited"
ok "scripts/demo viewer is read-only: every mutating key is refused and the server shows no change"
keys demo:viewer "q"
wait_for demo:viewer "VIEWER-EXITED:0"
# Only the script's own "demo:" lines; the monitor itself never writes to stderr.
grep -v '^demo: ' "$WORK/viewer.err" && fail "the viewer wrote to stderr"

# ---- a bulk update through the operator's monitor while sessmon-load churns ------------------
FILTER="Department is 'Sales' and Region is 'LATAM'"
server_ids "$FILTER" >"$WORK/before"
[ -s "$WORK/before" ] || fail "no session matches $FILTER"
[ "$(server_ids 'has Campaign' | wc -l)" = 0 ] || fail "a session already has Campaign"
keys demo:0 "b"
wait_for demo:0 "Bulk filter>"
text demo:0 "$FILTER"
keys demo:0 Enter "a"
text demo:0 "Campaign"
keys demo:0 Tab
text demo:0 "spring"
keys demo:0 Enter
wait_for demo:0 "spring"
keys demo:0 "A"
# More than 5 matches: the dialog wants the count typed; churn may change it and ask again.
tries=0
while :; do
    tries=$((tries + 1))
    [ $tries -gt 5 ] && fail "the bulk confirmation never settled"
    wait_for demo:0 "sessions matching:"
    count=$(screen demo:0 | grep -o 'Apply 1 change to [0-9]* session' | awk '{print $5}' | head -n 1)
    [ -n "$count" ] || fail "cannot read the match count"
    if screen demo:0 | grep -q "Type $count"; then
        text demo:0 "$count"
        keys demo:0 Enter
    else
        keys demo:0 "y"
    fi
    i=0
    while [ $i -lt 50 ]; do
        screen demo:0 | grep -q "server updated" && break 2
        screen demo:0 | grep -q "sessions matching:" && [ $i -gt 10 ] && break
        sleep 0.1
        i=$((i + 1))
    done
done
wait_for demo:0 "server updated"
sleep 0.5
server_ids "has Campaign" >"$WORK/changed"
server_ids "$FILTER" >"$WORK/matching"
[ -s "$WORK/changed" ] || fail "no session got Campaign"
# Nothing outside the filter changed ...
[ -z "$(comm -23 "$WORK/changed" "$WORK/matching")" ] || fail "sessions outside the filter got Campaign"
# ... and every matching session that was there before the update got it (unless it closed since).
missing=$(comm -12 "$WORK/before" "$WORK/matching" | comm -23 - "$WORK/changed")
[ -z "$missing" ] || fail "matching sessions without Campaign: $missing"
server=$(screen demo:0 | grep -o 'server updated [0-9]* session' | awk '{print $3}' | head -n 1)
[ "$server" -ge "$(wc -l <"$WORK/changed")" ] || fail "the server reported $server, $(wc -l <"$WORK/changed") changed"
keys demo:0 Escape
wait_gone demo:0 "Bulk update"
ok "a bulk update through the monitor changes exactly the matching sessions ($server, checked with sessmon list)"

# ---- the server crashes and comes back on the same port --------------------------------------
OLD_ID=$(screen demo:0 | grep -oE '^. [0-9a-f]{8}-[0-9a-f]{8} ' | cut -c3-19 | tail -n 1)
[ -n "$OLD_ID" ] || fail "cannot read a session ID from the table"
PORT=${URL##*:}
kill -9 "$(cat "$RUN/sessmond.pid")"
wait_for demo:0 "STALE" 20
wait_for demo:0 "reconnecting"
"$BUILD/server/sessmond" --config "$ROOT/demo/sessmond.json" --port "$PORT" --port-file "$WORK/port2" \
    </dev/null >>"$RUN/sessmond.log" 2>&1 &
RESTARTED_PID=$!
echo "$RESTARTED_PID" >"$RUN/sessmond.pid" # the demo stops this one when it ends
wait_for demo:0 "connected" 30
wait_gone demo:0 "$OLD_ID" 30
wait_gone demo:0 "STALE" 30
i=0
until [ "$(server_ids 'has Department' | wc -l)" -ge $((SESSIONS - 10)) ]; do
    i=$((i + 1))
    [ $i -gt 60 ] && fail "sessmon-load did not come back after the restart"
    sleep 0.5
done
sleep 4 # closed rows fade out for 3 s
total=$(shown_total)
server=$(server_ids all | wc -l)
# The table holds what the server holds (churn moves it by a few), never the old sessions too.
[ -n "$total" ] && [ "$total" -le $((server + 30)) ] && [ "$total" -ge $((server - 30)) ] \
    || fail "the monitor shows $total sessions, the server has $server"
ids=$(screen demo:0 | grep -oE '^. [0-9a-f]{8}-[0-9a-f]{8} ' | cut -c3-19)
[ "$(echo "$ids" | sort | uniq -d | wc -w)" = 0 ] || fail "duplicate rows after the restart"
ok "the monitor shows the outage and resynchronises after the server restarts ($total rows, server $server)"

# ---- quitting the monitor stops everything the demo started ----------------------------------
LOAD_PID=$(cat "$RUN/load.pid")
keys demo:0 "q"
wait_for demo:0 "DEMO-EXITED:0" 60
alive "$LOAD_PID" && fail "sessmon-load still runs after the demo ended"
alive "$RESTARTED_PID" && fail "sessmond still runs after the demo ended"
RESTARTED_PID=
tail -n 1 "$RUN/load.log" | grep -q '"state":"stopped"' || fail "sessmon-load did not stop cleanly"
[ ! -e "$RUN/url" ] || fail "the demo left its state behind"
ok "quitting the monitor stops sessmon-load and sessmond"

# ---- closing the terminal (its tmux goes away) stops everything too --------------------------
T2="tmux -L $SOCK-hup -f /dev/null"
RUN2=$WORK/run2
$T2 new-session -d -s hup -x 120 -y 30 \
    "env TERM=tmux-256color LANG=C.UTF-8 SESSMON_BUILD_DIR='$BUILD' SESSMON_DEMO_DIR='$RUN2' '$ROOT/scripts/demo' \
     --no-build --port 0 --sessions 50" || fail "tmux new-session hup"
i=0
until $T2 capture-pane -p -t hup 2>/dev/null | grep -q "connected"; do
    i=$((i + 1))
    [ $i -gt 300 ] && { $T2 kill-server; fail "the second demo did not start"; }
    sleep 0.1
done
PIDS="$(cat "$RUN2/sessmond.pid") $(cat "$RUN2/load.pid")"
$T2 kill-server
i=0
for p in $PIDS; do
    while alive "$p"; do
        i=$((i + 1))
        [ $i -gt 300 ] && fail "process $p still runs after the terminal closed"
        sleep 0.1
    done
done
ok "closing the demo's terminal stops sessmon-load and sessmond"
echo "1..$N"
exit 0
