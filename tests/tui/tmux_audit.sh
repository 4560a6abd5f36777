#!/bin/sh
# End-to-end test in tmux: with a server that writes an audit log, sessmon's edit, bulk and close
# confirmations say "This change is audited"; with one that does not, they do not. Exits 77 (CTest
# skip) when tmux is missing.
# usage: tmux_audit.sh SESSMOND SESSMON TUI_SESSIONS
set -u
SESSMOND=$1
SESSMON=$2
HELPER=$3
command -v tmux >/dev/null 2>&1 || { echo "tmux not installed: skipped"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessmon-tmux-audit.XXXXXX")
SOCK="sessmon-audit-$$"
SERVER_PID=
HELPER_PID=
T="tmux -L $SOCK -f /dev/null"
FAILED=0
N=0
WAIT_SECONDS=10
NOTE="This change is audited"
. "$(dirname "$0")/../support/tmux_lib.sh"

stop_all() {
    # The monitor quits by itself first: killed by the hang-up of kill-server, a sanitizer build's
    # exit-time leak check could be cut short and leave the process spinning.
    if $T has-session -t main 2>/dev/null; then
        keys main Escape Escape q
        i=0
        until screen main | grep -q -F "EXITED:" || [ $i -ge 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
    fi
    $T kill-server >/dev/null 2>&1
    [ -n "$HELPER_PID" ] && kill "$HELPER_PID" 2>/dev/null && wait "$HELPER_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    HELPER_PID=
    SERVER_PID=
}
cleanup() {
    stop_all
    remove_work
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

show_logs() {
    echo "--- sessmond log (tail) ---"
    tail -n 20 "$WORK/server.log" 2>/dev/null
}

# start_server CONFIG: sessmond on a free port with that config file, and one helper session.
start_server() {
    rm -f "$WORK/port" "$WORK/ready"
    "$SESSMOND" --config "$1" --port 0 --port-file "$WORK/port" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    i=0
    while [ ! -s "$WORK/port" ]; do
        sleep 0.1
        i=$((i + 1))
        [ $i -gt 100 ] && fail "sessmond did not start"
    done
    URL="ws://127.0.0.1:$(cat "$WORK/port")"
    "$HELPER" --url "$URL" --ready "$WORK/ready" "Department=Audit" >"$WORK/helper.log" 2>&1 &
    HELPER_PID=$!
    i=0
    until [ "$(cat "$WORK/ready" 2>/dev/null)" = 1 ]; do
        sleep 0.1
        i=$((i + 1))
        [ $i -gt 100 ] && fail "the helper session did not open"
    done
    $T new-session -d -s main -x 120 -y 30 \
        "env TERM=tmux-256color LANG=C.UTF-8 SESSMON_PASSWORD=admin XDG_CONFIG_HOME=$WORK/xdg XDG_STATE_HOME=$WORK/state \
         '$SESSMON' --url '$URL' --principal admin 2>'$WORK/main.err'; echo EXITED:\$?; sleep 600" \
        || fail "tmux new-session"
    wait_for main "connected"
    wait_for main "Shown: 2 of 2"
}

# check_dialogs yes|no: the add dialog, the bulk confirmation and the close confirmation. The note
# starts a line of its own ("│ This change…"), not the tail of the dialog's last line.
check_dialogs() {
    keys main "f"
    text main "Department is 'Audit'"
    keys main Enter
    wait_for main "Shown: 1 of 2"
    keys main "e"
    wait_for main "Edit "
    keys main "a"
    wait_for main "Add a user property"
    if [ "$1" = yes ]; then wait_for main "$NOTE"; else screen main | grep -q -F "$NOTE" && fail "edit: '$NOTE' without an audit log"; fi
    keys main Escape Escape
    wait_gone main "Add a user property"
    keys main "b"
    wait_for main "Bulk filter>"
    keys main C-u
    text main "Department is 'Audit'"
    keys main Enter "a"
    text main "Tier"
    keys main Tab
    text main "gold"
    keys main Enter
    wait_for main "matches 1 open session"
    keys main "A"
    wait_for main "Apply 1 change to 1 session matching:"
    if [ "$1" = yes ]; then wait_for main "│ $NOTE"; else screen main | grep -q -F "$NOTE" && fail "bulk: '$NOTE' without an audit log"; fi
    keys main "n"
    keys main Escape
    keys main Space
    wait_for main "1 session tagged"
    keys main "D"
    wait_for main "Closing the tagged sessions:"
    wait_for main "matches 1 open session here"
    keys main "A"
    wait_for main "There is no undo"
    if [ "$1" = yes ]; then wait_for main "│ $NOTE"; else screen main | grep -q -F "$NOTE" && fail "close: '$NOTE' without an audit log"; fi
    keys main "n"
}

"$SESSMOND" --print-config >"$WORK/plain.json" || fail "sessmond --print-config"
sed "1a\\    \"audit\": {\"file\": \"$WORK/audit.log\"}," "$WORK/plain.json" >"$WORK/audited.json"

start_server "$WORK/audited.json"
check_dialogs yes
ok "audited server: edit, bulk and close confirmations say the change is audited"
[ -s "$WORK/audit.log" ] && fail "nothing was confirmed, yet the audit log has records"
stop_all

start_server "$WORK/plain.json"
check_dialogs no
ok "server without an audit log: no such note"
stop_all
echo "1..$N"
exit 0
