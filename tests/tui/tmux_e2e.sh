#!/bin/sh
# End-to-end test of the sessmon monitor in tmux against a real sessmond: table, sorting, filter
# with its error column, inspect, edit (checked with the server), bulk update (exactly the matched
# sessions change), mouse clicks that never freeze the loop, closing a tagged session, read-only
# refusals, help, resize down to 40x10 and below, the server going away (reconnect, resync without
# ghosts) and a frozen server (STALE). Exits 77 (CTest skip) when tmux is missing.
# usage: tmux_e2e.sh SESSMOND SESSMON TUI_SESSIONS
set -u
SESSMOND=$1
SESSMON=$2
HELPER=$3
command -v tmux >/dev/null 2>&1 || { echo "tmux not installed: skipped"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessmon-tmux.XXXXXX")
SOCK="sessmon-e2e-$$"
SERVER_PID=
HELPER_PID=
T="tmux -L $SOCK -f /dev/null"
FAILED=0
N=0

WAIT_SECONDS=10
. "$(dirname "$0")/../support/tmux_lib.sh"

cleanup() {
    $T kill-server >/dev/null 2>&1
    [ -n "$HELPER_PID" ] && kill "$HELPER_PID" 2>/dev/null
    [ -n "${HELPER2_PID:-}" ] && kill "$HELPER2_PID" 2>/dev/null
    [ -n "${HB_PID:-}" ] && kill -CONT "$HB_PID" 2>/dev/null && kill "$HB_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
    [ -n "$HELPER_PID" ] && wait "$HELPER_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && wait "$SERVER_PID" 2>/dev/null
    remove_work
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

show_logs() {
    echo "--- sessmond log (tail) ---"
    tail -n 20 "$WORK/server.log" 2>/dev/null
}

# line_no WINDOW TEXT: first screen line holding TEXT (0 when absent).
line_no() { screen "$1" | grep -n -F -- "$2" | head -n 1 | cut -d: -f1; }

start_server() {
    rm -f "$WORK/port"
    "$SESSMOND" --port "${1:-0}" --port-file "$WORK/port" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    i=0
    while [ ! -s "$WORK/port" ]; do
        sleep 0.1
        i=$((i + 1))
        [ $i -gt 100 ] && fail "sessmond did not start"
    done
    PORT=$(cat "$WORK/port")
    URL="ws://127.0.0.1:$PORT"
}

# start_tui NAME WIDTH HEIGHT PRINCIPAL [ARGS...]   (TUI_ENV adds environment, e.g. TERM=xterm)
start_tui() {
    name=$1 w=$2 h=$3 principal=$4
    shift 4
    $T new-session -d -s "$name" -x "$w" -y "$h" \
        "env TERM=tmux-256color LANG=C.UTF-8 SESSMON_PASSWORD=$principal XDG_CONFIG_HOME=$WORK/xdg XDG_STATE_HOME=$WORK/state ${TUI_ENV:-} \
         '$SESSMON' --url '$URL' --principal $principal $* 2>'$WORK/$name.err'; echo EXITED:\$?; sleep 600" \
        || fail "tmux new-session $name"
}

# no_stderr NAME: the monitor must never write to the terminal's stderr
no_stderr() { [ -s "$WORK/$1.err" ] && { cat "$WORK/$1.err"; fail "$1 wrote to stderr"; }; return 0; }

server_list() { # server_list FILTER -> NDJSON lines
    SESSMON_PASSWORD=admin "$SESSMON" list --url "$URL" --principal admin --keys Department,Tier,Region \
        --filter "$1" --json
}

# ---------------------------------------------------------------------------------------------
start_server 0
"$HELPER" --url "$URL" --ready "$WORK/ready" \
    "Department=Accounts,Tier=gold" "Department=Accounts" "Department=Payroll,Tier=silver" \
    >"$WORK/helper.log" 2>&1 &
HELPER_PID=$!
i=0
until [ "$(cat "$WORK/ready" 2>/dev/null)" = 3 ]; do
    sleep 0.1
    i=$((i + 1))
    [ $i -gt 100 ] && fail "helper sessions did not open"
done

TUI_ENV="SESSMON_STATS_FILE=$WORK/frames" start_tui main 120 30 admin
wait_for main "connected"
wait_for main "Shown: 4 of 4"
wait_for main "Payroll"
# the opt-in frame timings the end-to-end benchmark reads (docs/tui.md § Frame timings)
head -n 1 "$WORK/frames" | grep -qE '^start [0-9]+$' || fail "SESSMON_STATS_FILE: no start line"
grep -qE '^frame [0-9]+ [0-9]+ 4 4 [0-9]+ live [0-9]+$' "$WORK/frames" || fail "SESSMON_STATS_FILE: no live frame of 4 rows"
s=$(screen main)
echo "$s" | grep -q "LIVE" || fail "no LIVE badge"
echo "$s" | grep -q "admin@$URL" || fail "header lacks principal@server"
echo "$s" | grep -q "Department" || fail "user property column missing"
echo "$s" | grep -q "silver" || fail "user property value missing"
ok "table shows the sessions, header shows server, principal, mode and connection"

# sorting: step to the Department column, then reverse
keys main ">" ">"
wait_for main "Sort: Department ▲"
a=$(line_no main "Accounts")
p=$(line_no main "Payroll")
[ "$a" -gt 0 ] && [ "$p" -gt "$a" ] || fail "ascending Department order"
keys main "r"
wait_for main "Sort: Department ▼"
a=$(line_no main "Accounts")
p=$(line_no main "Payroll")
[ "$p" -gt 0 ] && [ "$p" -lt "$a" ] || fail "descending Department order"
ok "sorting by a column, both ways"

# view filter: live error with its column, then a valid filter
keys main "f"
text main "Department is Acc"
wait_for main "filter error at column 15: expected a quoted value after 'is'"
keys main Enter
wait_for main "Filter> " # refused: the prompt stays
keys main BSpace BSpace BSpace
text main "'Accounts'"
keys main Enter
wait_for main "Filter: Department is 'Accounts'"
wait_for main "Shown: 2 of 4"
screen main | grep -q "Payroll" && fail "Payroll still shown with the filter"
keys main Escape
wait_for main "Shown: 4 of 4"
ok "view filter with live validation and error column"

# search, then inspect the Payroll session
keys main "/"
text main "payroll"
keys main Enter
wait_for main "Shown: 1 of 4"
PAYROLL_ID=$(screen main | grep -F "Payroll" | grep -oE '[0-9a-f]{8}-[0-9a-f]{8}' | head -n 1)
[ -n "$PAYROLL_ID" ] || fail "cannot read the Payroll session ID"
keys main Enter
wait_for main "Inspect $PAYROLL_ID"
wait_for main "User properties (2)"
wait_for main "\$Principal"
ok "incremental search and inspect pane"

# edit: add Region=EU to that session, confirmed by the server
keys main Escape "e"
wait_for main "Edit $PAYROLL_ID"
keys main "a"
wait_for main "Add a user property"
text main "Region"
keys main Tab
text main "EU"
wait_for main "valid: Enter adds it"
keys main Enter
wait_for main "Region added = 'EU'"
server_list "Region is 'EU'" >"$WORK/edit.json" || fail "sessmon list failed"
[ "$(wc -l <"$WORK/edit.json")" = 1 ] || fail "server does not have exactly one Region=EU"
grep -q "$PAYROLL_ID" "$WORK/edit.json" || fail "Region=EU is not on $PAYROLL_ID"
keys main "u"
wait_for main "Undo the last edit"
keys main "y"
wait_for main "Region deleted (was 'EU')"
[ "$(server_list "has Region" | wc -l)" = 0 ] || fail "undo did not delete Region on the server"
keys main Escape Escape
wait_for main "Shown: 4 of 4"
ok "edit pane changes a property on the server, and undo restores it"

# bulk update: exactly the matched sessions change
keys main "b"
wait_for main "Bulk filter>"
text main "Department is 'Nobody'"
keys main Enter "a"
text main "Tier"
keys main Tab
text main "platinum"
keys main Enter
wait_for main "matches 0 open sessions"
keys main "A"
wait_for main "no session matches locally: nothing sent"
keys main "f" C-u
text main "Department is 'Accounts'"
keys main Enter
wait_for main "matches 2 open sessions here"
wait_for main "(absent) → platinum"
wait_for main "2 to change"
keys main "A"
wait_for main "Apply 1 change to 2 sessions matching:"
keys main "y"
wait_for main "server updated 2 sessions (local preview: 2)"
[ "$(server_list "Tier is 'platinum'" | wc -l)" = 2 ] || fail "server: not 2 platinum sessions"
[ "$(server_list "Tier is 'platinum' and Department is 'Accounts'" | wc -l)" = 2 ] || fail "wrong sessions changed"
[ "$(server_list "Department is 'Payroll' and Tier is 'silver'" | wc -l)" = 1 ] || fail "Payroll session changed"
keys main Escape
wait_for main "platinum"
ok "bulk update changes exactly the matched sessions (and refuses an empty match)"

# help overlay
keys main "?"
wait_for main "Help: every key"
wait_for main "bulk update: set or delete"
keys main Escape
wait_gone main "Help: every key"
ok "help overlay"

# mouse: clicks (SGR, as xterm-256color gets) on a row, the header and the key bar, and half a
# sequence that never ends, must never stop the loop: the table keeps following the server.
# sgr WINDOW BYTES: raw bytes into the pane's input, as the terminal would send them.
sgr() { w=$1; shift; $T send-keys -t "$w" -H $(printf '%s' "$*" | od -An -tx1); }
TUI_ENV="TERM=xterm-256color" start_tui click 120 24 admin
wait_for click "connected"
wait_for click "Shown: 5 of 5"
sgr click "$(printf '\033[<0;5;5M\033[<0;5;5m')"
sgr click "$(printf '\033[<0;5;1M\033[<0;5;1m\033[<0;5;2M\033[<0;5;2m')"
sgr click "$(printf '\033[<0;5')"
SESSMON_PASSWORD=admin "$SESSMON" set --url "$URL" --principal admin --filter "Department is 'Payroll'" \
    Clicked=first >/dev/null || fail "sessmon set failed"
wait_for click "first"
bar_x=$(screen click | tail -n 1 | awk '{ print index($0, "F9") }')
[ "$bar_x" -gt 0 ] || fail "no F9 in the key bar"
sgr click "$(printf '\033[<0;%d;24M\033[<0;%d;24m' "$bar_x" "$bar_x")"
wait_for click "Event log"
keys click Escape
SESSMON_PASSWORD=admin "$SESSMON" set --url "$URL" --principal admin --filter "Department is 'Payroll'" \
    Clicked=second >/dev/null || fail "sessmon set failed"
wait_for click "second"
screen click | head -n 1 | grep -q "LIVE" || fail "the header does not say LIVE after the clicks"
keys click "q"
wait_for click "EXITED:0"
no_stderr click
ok "mouse clicks on rows, header and key bar (and a cut sequence) never freeze the table"

# closing from the monitor: a helper session of its own, tagged with Space, closed after a
# confirmation that says there is no undo; the server's count is shown and the session is gone
"$HELPER" --url "$URL" --ready "$WORK/ready2" "Department=Doomed" >"$WORK/helper2.log" 2>&1 &
HELPER2_PID=$!
i=0
until [ "$(cat "$WORK/ready2" 2>/dev/null)" = 1 ]; do
    sleep 0.1
    i=$((i + 1))
    [ $i -gt 100 ] && fail "the second helper's session did not open"
done
keys main "f"
text main "Department is 'Doomed'"
keys main Enter
wait_for main "Shown: 1 of 5"
keys main Space
wait_for main "1 session tagged"
keys main "D"
wait_for main "Closing the tagged sessions:"
wait_for main "matches 1 open session here"
keys main "A"
wait_for main "There is no undo"
keys main "y"
wait_for main "server closed 1 session (local preview: 1)"
[ "$(server_list "Department is 'Doomed'" | wc -l)" = 0 ] || fail "the tagged session is still open on the server"
[ "$(server_list "all" | wc -l)" = 4 ] || fail "closing touched other sessions"
keys main Escape Escape
wait_for main "Shown: 4 of 4"
kill "$HELPER2_PID" 2>/dev/null
wait "$HELPER2_PID" 2>/dev/null
HELPER2_PID=
ok "close from the monitor: tagged session closed on the server after a no-undo confirmation"
# issue 13: the command line, the group-by pane with drill-down, history, the event log that explains
keys main Escape
keys main :
wait_for main "Command line: Tab completes"
text main "gr"
keys main Tab
text main "Departm"
keys main Tab
wait_for main ":group Department"
keys main Enter
wait_for main "Group by Department: 3 values, 4 open sessions"
wait_for main "50.0%"
keys main Enter
wait_for main "filter: Department is 'Accounts'"
wait_for main "Shown: 2 of 4"
keys main :
text main "filter"
keys main Enter
wait_for main "Shown: 4 of 4"
grep -q "^group Department$" "$WORK/state/sessmon/history" || fail "command history not kept under XDG_STATE_HOME"
keys main :
text main "export $WORK/view.csv"
keys main Enter
wait_for main "exported 4 sessions"
[ "$(wc -l <"$WORK/view.csv")" -eq 5 ] || fail "export: not a header and 4 rows"
ok "command line: completion, :group with drill-down, :filter, :export, history under XDG state"

keys main H
wait_for main "History: the last"
wait_for main "events/s"
keys main Escape
wait_gone main "History: the last"
keys main l
wait_for main "Event log:"
# filtered first: the sessions opened and closed by the tests above push older lines off screen
keys main /
text main "Region is 'EU' or Department is 'Payroll'"
keys main Enter
wait_for main "entries matching Region is 'EU'"
wait_for main "Region: (none) → 'EU'"
keys main w C-u
text main "$WORK/log.ndjson"
keys main Enter
wait_for main "log entries to"
grep -q '"event":"changed"' "$WORK/log.ndjson" || fail "log NDJSON lacks the change"
keys main Enter
wait_for main "selected"
wait_gone main "Event log:"
keys main l # the log keeps its filter until cleared
wait_for main "entries matching Region is 'EU'"
keys main / C-u Enter
wait_gone main "entries matching"
keys main Escape
wait_gone main "Event log:"
ok "history pane; event log with changes, filter, NDJSON save and jump to the session"

# read-only: a principal without modify_session, and --read-only
start_tui viewer 120 20 viewer
wait_for viewer "READ-ONLY (principal lacks modify_session)"
wait_for viewer "connected"
keys viewer "e"
wait_for viewer "Edit refused: read-only (principal lacks modify_session)"
keys viewer "b"
wait_for viewer "Bulk refused: read-only"
keys viewer "D"
wait_for viewer "D ^D Del refused: read-only (principal lacks modify_session)"
keys viewer "?"
wait_for viewer "(read-only)"
keys viewer Escape "q"
wait_for viewer "EXITED:0"
no_stderr viewer
start_tui ro 120 20 admin --read-only
wait_for ro "READ-ONLY (--read-only)"
keys ro F8
wait_for ro "Bulk refused: read-only (--read-only)"
keys ro "e"
wait_for ro "Edit refused: read-only (--read-only)"
keys ro "q"
wait_for ro "EXITED:0"
no_stderr ro
[ "$(server_list "Tier is 'platinum'" | wc -l)" = 2 ] || fail "read-only session changed something"
ok "read-only mode refuses every mutating key and says why"

# themes: NO_COLOR gives no colours at all; an 8-colour terminal gets no 256-colour codes; t cycles
TUI_ENV="NO_COLOR=1" start_tui nocolor 100 20 admin --read-only
wait_for nocolor "connected"
$T capture-pane -e -p -t nocolor | grep -E -q '[[;](3[0-8]|4[0-8]|9[0-7]|10[0-7])(;|m)' \
    && fail "colour escapes under NO_COLOR"
keys nocolor "q"
wait_for nocolor "EXITED:0"
TUI_ENV="TERM=xterm" start_tui eight 100 20 admin --read-only
wait_for eight "connected"
$T capture-pane -e -p -t eight | grep -E -q '38;5|48;5' && fail "256-colour escapes on an 8-colour terminal"
$T capture-pane -e -p -t eight | grep -E -q '\[(3[0-7]|4[0-7])m|;(3[0-7]|4[0-7])m' || fail "no colours on an 8-colour terminal"
keys eight "q"
wait_for eight "EXITED:0"
keys main "t"
wait_for main "theme: "
keys main "T"
wait_for main "theme: default"
no_stderr nocolor
no_stderr eight
ok "themes: NO_COLOR, 8-colour fallback, cycling"

# saved settings: used at start, written only after w and y, a broken file is reported
mkdir -p "$WORK/xdg/sessmon"
printf 'sort = Department descending\ncolumns = $SessionId, Department\n' >"$WORK/xdg/sessmon/monitor.conf"
start_tui saved 100 20 admin --read-only
wait_for saved "Sort: Department ▼"
wait_for saved "Payroll"
screen saved | grep -q 'ClientIP' && fail "the saved columns were not used"
keys saved "c" "w"
wait_for saved "Save the monitor settings"
keys saved "y"
wait_for saved "settings saved to"
grep -q "^theme = default$" "$WORK/xdg/sessmon/monitor.conf" || fail "the theme was not saved"
grep -q "^columns = \$SessionId, Department$" "$WORK/xdg/sessmon/monitor.conf" || fail "the columns were not saved"
keys saved Escape "q"
wait_for saved "EXITED:0"
no_stderr saved
printf 'columns = a b\n' >"$WORK/xdg/sessmon/monitor.conf"
start_tui broken 100 20 admin --read-only
wait_for broken "settings ignored"
wait_for broken "line 1"
keys broken "q"
wait_for broken "EXITED:0"
no_stderr broken
rm -f "$WORK/xdg/sessmon/monitor.conf"
ok "saved settings: used at start, saved only when asked, a broken file reported"

# resize at any time, down to 40x10 and below
$T resize-window -t main -x 40 -y 10
wait_for main "sessmon"
wait_for main "F1Help"
$T resize-window -t main -x 30 -y 8
wait_for main "Terminal too small: 30x8"
$T resize-window -t main -x 20 -y 3
sleep 0.3
$T resize-window -t main -x 40 -y 10
wait_for main "LIVE"
$T resize-window -t main -x 120 -y 30
wait_for main "Shown: 4 of 4"
screen main | grep -q "EXITED" && fail "the monitor died while resizing"
ok "resize down to 40x10, too-small message below, no crash"

# the server goes away and comes back: reconnect and resync without ghosts or duplicates
OLD_ID=$PAYROLL_ID
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
wait_for main "reconnecting" 15
wait_for main "STALE"
# while it is down the header says why each attempt failed, which one, and when the next comes
wait_for main "reconnecting: connection refused — attempt " 15
wait_for main ", next in "
screen main | head -n 1 | grep -q -E "attempt [0-9]+, (next in [0-9.]+ s|retrying now)" \
    || fail "no attempt number and countdown in the header"
keys main "l"
wait_for main "connection attempt 1 failed: connection refused; next in "
keys main Escape
wait_gone main "Event log:"
start_server "$PORT"
wait_for main "connected" 20
wait_gone main "$OLD_ID" 20
wait_for main "Shown: 4 of 4" 20
ids=$(screen main | grep -oE '^. [0-9a-f]{8}-[0-9a-f]{8} ' | cut -c3-19)
[ "$(echo "$ids" | sort | uniq -d | wc -w)" = 0 ] || fail "duplicate rows after resync"
[ "$(echo "$ids" | wc -w)" = 4 ] || fail "expected 4 rows after resync"
wait_gone main "connection refused"
ok "server restart: disconnect shown with each failed attempt's reason, reconnect, resync without ghosts or duplicates"

# a server that stops answering without closing anything (SIGSTOP): the header must stop saying
# LIVE once nothing was heard for the heartbeat interval (1.5 s here), and say LIVE again after
"$SESSMOND" --print-config 2>/dev/null | sed 's/"heartbeatIntervalMs":[^,]*,/"heartbeatIntervalMs": 1500,/' \
    >"$WORK/hb.json" || fail "sessmond --print-config"
grep -q '"heartbeatIntervalMs": 1500' "$WORK/hb.json" || fail "could not set the heartbeat interval"
"$SESSMOND" --config "$WORK/hb.json" --port 0 --port-file "$WORK/hb.port" >>"$WORK/server.log" 2>&1 &
HB_PID=$!
i=0
while [ ! -s "$WORK/hb.port" ]; do
    sleep 0.1
    i=$((i + 1))
    [ $i -gt 100 ] && fail "the second sessmond did not start"
done
MAIN_URL=$URL
URL="ws://127.0.0.1:$(cat "$WORK/hb.port")"
start_tui frozen 120 20 admin --read-only
wait_for frozen " LIVE "
kill -STOP "$HB_PID"
wait_for frozen "STALE: nothing heard for" 10
screen frozen | head -n 1 | grep -q " LIVE " && fail "LIVE while the server is frozen"
kill -CONT "$HB_PID"
wait_for frozen " LIVE " 15
keys frozen "q"
wait_for frozen "EXITED:0"
no_stderr frozen
kill "$HB_PID" 2>/dev/null
wait "$HB_PID" 2>/dev/null
HB_PID=
URL=$MAIN_URL
ok "a frozen server: STALE with how long nothing was heard, LIVE again when it answers"

# the terminal goes away under the monitor (window closed): it must exit, not spin on the hang-up.
# setsid: no SIGHUP reaches it (as when a wrapper script or nohup owns the terminal), so only the
# hang-up seen on its input can stop it.
$T new-session -d -s hup -x 80 -y 24 \
    "setsid -w sh -c 'echo \$\$ >$WORK/hup.pid; exec env TERM=tmux-256color LANG=C.UTF-8 SESSMON_PASSWORD=viewer \
     $SESSMON --url $URL --principal viewer 2>$WORK/hup.err'" || fail "tmux new-session hup"
wait_for hup "connected"
HUP_PID=$(cat "$WORK/hup.pid")
$T kill-session -t hup
i=0
while kill -0 "$HUP_PID" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
    [ $i -gt 50 ] && { kill -9 "$HUP_PID" 2>/dev/null; fail "the monitor kept running after its terminal hung up"; }
done
ok "terminal hang-up: the monitor exits"

keys main "q"
wait_for main "EXITED:0"
no_stderr main
ok "quit with exit status 0, nothing on stderr"
echo "1..$N"
exit 0
