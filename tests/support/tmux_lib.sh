# Shared helpers of the tmux test scripts (tests/tui/tmux_e2e.sh, tests/e2e/tmux_demo.sh): TAP output,
# reading and waiting on a tmux screen, sending keys. Sourced, not run.
# The sourcing script sets T (its tmux command line), FAILED=0, N=0, WAIT_SECONDS (the default wait)
# and WORK, and defines show_logs (what else to print when a check fails).

fail() {
    FAILED=1
    echo "not ok - $*"
    for w in $($T list-windows -a -F '#{session_name}:#{window_index}' 2>/dev/null); do
        echo "--- screen of $w ---"
        $T capture-pane -p -t "$w" 2>/dev/null
    done
    show_logs
    exit 1
}

ok() {
    N=$((N + 1))
    echo "ok $N - $*"
}

# remove_work: delete WORK unless a check failed and SESSMON_TEST_KEEP asks to keep it for a post-mortem.
remove_work() {
    if [ "$FAILED" = 0 ] || [ -z "${SESSMON_TEST_KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}

screen() { $T capture-pane -p -t "$1" 2>/dev/null; }

# wait_for WINDOW TEXT [SECONDS]: until TEXT is on the screen.
wait_for() {
    i=0
    limit=$(( ${3:-$WAIT_SECONDS} * 10 ))
    while [ $i -lt $limit ]; do
        screen "$1" | grep -F -q -- "$2" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    fail "waited for '$2' on $1"
}

# wait_gone WINDOW TEXT [SECONDS]: until TEXT is no longer on the screen.
wait_gone() {
    i=0
    limit=$(( ${3:-$WAIT_SECONDS} * 10 ))
    while [ $i -lt $limit ]; do
        screen "$1" | grep -F -q -- "$2" || return 0
        sleep 0.1
        i=$((i + 1))
    done
    fail "waited for '$2' to leave $1"
}

keys() { w=$1; shift; $T send-keys -t "$w" "$@"; }
text() { $T send-keys -t "$1" -l -- "$2"; }
