#!/bin/sh
# sessmon-load against a real sessmond: achieved property updates/s, the load tool's and sessmond's
# CPU, and the load tool's CPU per update, at 1k, 5k and 15k sessions, each beside its target.
# Usage: run.sh [--seconds S] [--rate R] [--sessions "N1 N2 ..."] [--json FILE]
#   defaults: 10 s of measurement per size, 10,000 updates/s asked, "1000 5000 15000"
# Targets: achieved >= 99 % of the rate asked (a 1 s progress grain), load-tool CPU <= 100 % of one
# core, and the cost per update at the largest size within 1.5x of the cost at the smallest.
# Everything runs on loopback; each size gets a fresh sessmond on a free port, stopped afterwards.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-bench}
SECS=10
RATE=10000
SIZES="1000 5000 15000"
JSON=
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) SECS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --sessions) SIZES=$2; shift 2 ;;
    --json) JSON=$2; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
for v in "$SECS" "$RATE"; do
    case $v in '' | *[!0-9]*) echo "run.sh: --seconds and --rate take whole numbers" >&2; exit 2 ;; esac
done
SERVER=$BUILD/server/sessmond
LOAD=$BUILD/tools/load/sessmon-load
for b in "$SERVER" "$LOAD"; do
    [ -x "$b" ] || { echo "run.sh: $b is missing (bench/run builds it)" >&2; exit 1; }
done
TCK=$(getconf CLK_TCK)
DIR=$(mktemp -d "${TMPDIR:-/tmp}/sessmon-bench-load.XXXXXX")
SPID=
LPID=
cleanup() {
    [ -n "$LPID" ] && kill -KILL "$LPID" 2>/dev/null
    [ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# utime + stime of a process and its children (the load tool's worker processes), in ticks.
ticks() {
    total=0
    for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
        t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        total=$((total + t))
    done
    echo "$total"
}
# The last complete progress line, and a numeric field of a line (read a line once, then take its
# fields: the tool may print the next line in between).
last_line() {
    tail -n 2 "$DIR/load.out" 2>/dev/null | grep '^{.*}$' | tail -n 1
}
get() {
    echo "$1" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"
}
field() {
    get "$(last_line)" "$1"
}
now() { date +%s.%N; }

for N in $SIZES; do
    rm -f "$DIR/port"
    "$SERVER" --config "$ROOT/demo/sessmond.json" --port 0 --port-file "$DIR/port" >"$DIR/sessmond.log" 2>&1 &
    SPID=$!
    i=0
    while [ ! -s "$DIR/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    [ -s "$DIR/port" ] || { echo "sessmond did not start"; cat "$DIR/sessmond.log"; exit 1; }
    # Demo-only password of the demo config's admin principal.
    ADMIN_PW="admin" "$LOAD" --url "ws://127.0.0.1:$(cat "$DIR/port")" --sessions "$N" --ramp 5000 \
        --admin admin --admin-password-env ADMIN_PW --update-rate "$RATE" --json-progress \
        --duration $((SECS + 90)) >"$DIR/load.out" 2>"$DIR/load.err" &
    LPID=$!
    i=0
    while [ "$(field open)" != "$N" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    [ "$(field open)" = "$N" ] || { echo "sessmon-load did not open $N sessions"; tail -n 3 "$DIR/load.out" "$DIR/load.err"; exit 1; }
    sleep 3 # the end of the ramp: the server is still busy opening the last sessions
    t0=$(now); l0=$(ticks "$LPID"); s0=$(ticks "$SPID"); line=$(last_line)
    u0=$(get "$line" updates); e0=$(get "$line" elapsed)
    w0=$(get "$line" updatesSkippedWindow); n0=$(get "$line" updatesSkippedNoSession); z0=$(get "$line" updatesLate)
    start_line=$(wc -l <"$DIR/load.out")
    sleep "$SECS"
    sleep 0.5 # a fresh progress line after the window
    t1=$(now); l1=$(ticks "$LPID"); s1=$(ticks "$SPID"); line=$(last_line)
    u1=$(get "$line" updates); e1=$(get "$line" elapsed)
    w1=$(get "$line" updatesSkippedWindow); n1=$(get "$line" updatesSkippedNoSession); z1=$(get "$line" updatesLate)
    # Not sent in the window: the in-flight window full (the server answers late), no session to
    # send through, the loop stalled (late); and the reasons the tool gave for being behind (all
    # empty before it had them).
    skipped=$(( ${w1:-0} - ${w0:-0} ))
    errors=$(( ${n1:-0} - ${n0:-0} ))
    late=$(( ${z1:-0} - ${z0:-0} ))
    reasons=$(tail -n +"$((start_line + 1))" "$DIR/load.out" | sed -n 's/.*"updatesBehind":"\([^"]*\)".*/\1/p' |
        sort | uniq -c | sed 's/^ *//' | tr '\n' ';' | tr ' ' '_')
    kill -TERM "$LPID"; sleep 0.2; kill -TERM "$LPID" 2>/dev/null || true # the second one cuts at once
    wait "$LPID" 2>/dev/null || true
    LPID=
    kill -TERM "$SPID"; wait "$SPID" 2>/dev/null || true
    SPID=
    row=$(awk -v n="$N" -v t0="$t0" -v t1="$t1" -v l0="$l0" -v l1="$l1" -v s0="$s0" -v s1="$s1" \
        -v u0="$u0" -v u1="$u1" -v e0="$e0" -v e1="$e1" -v tck="$TCK" -v sk="$skipped" -v ns="$errors" -v late="$late" \
        -v why="${reasons:-none}" 'BEGIN {
        wall = t1 - t0; rate = (e1 > e0) ? (u1 - u0) / (e1 - e0) : 0
        lcpu = (l1 - l0) / tck; scpu = (s1 - s0) / tck
        cost = rate > 0 ? lcpu * 1e6 / (rate * wall) : 0
        printf "%d %.0f %.1f %.1f %.2f %d %d %d %s\n", n, rate, 100 * lcpu / wall, 100 * scpu / wall, cost, sk, ns, late, why }')
    echo "$row" >>"$DIR/results"
done

awk -v rate="$RATE" -v json="$JSON" -v secs="$SECS" '
NF == 9 { n[++k] = $1; ach[k] = $2; lcpu[k] = $3; scpu[k] = $4; cost[k] = $5; sw[k] = $6; sn[k] = $7; sl[k] = $8; why[k] = $9 }
END {
    ok = 1
    printf "sessmon-load, %d property updates/s asked, %d s per size (a real sessmond on loopback)\n", rate, secs
    printf "%-9s %-27s %-26s %-10s %-33s %s\n", "sessions", "updates/s (>= 99 % asked)", "load CPU (<= 100 % core)", "sessmond", "cost us/update (15k <= 1.5x 1k)", "not sent: window full / no session / late; behind: reasons (lines)"
    cr = (k > 1 && cost[1] > 0) ? cost[k] / cost[1] : 1
    for (i = 1; i <= k; i++) {
        pr = ach[i] >= 0.99 * rate ? "PASS" : "FAIL"
        pc = lcpu[i] <= 100 ? "PASS" : "FAIL"
        if (pr == "FAIL" || pc == "FAIL") ok = 0
        tgt = ""
        if (i == k && k > 1) {
            pk = (cost[1] > 0 && cr <= 1.5) ? "PASS" : "FAIL"
            if (pk == "FAIL") ok = 0
            tgt = sprintf(" %.2fx %s", cr, pk)
        }
        w = why[i]; gsub(/_/, " ", w)
        printf "%-9d %8.0f %-18s %6.1f %% %-17s %6.1f %%  %8.2f%-24s %d / %d / %d; %s\n", n[i], ach[i], pr, lcpu[i], pc, scpu[i], cost[i], tgt, sw[i], sn[i], sl[i], w
    }
    printf "overall: %s\n", ok ? "PASS" : "FAIL"
    if (json != "") {
        printf("{\"rate\":%d,\"seconds\":%d,\"runs\":[", rate, secs) > json
        for (i = 1; i <= k; i++) {
            w = why[i]; gsub(/_/, " ", w)
            printf("%s{\"sessions\":%d,\"updatesPerSec\":%.0f,\"loadCpuPct\":%.1f,\"serverCpuPct\":%.1f,\"costUsPerUpdate\":%.2f,\"skippedWindowFull\":%d,\"skippedNoSession\":%d,\"late\":%d,\"behind\":\"%s\",\"ratePass\":%s,\"cpuPass\":%s}", (i > 1 ? "," : ""), n[i], ach[i], lcpu[i], scpu[i], cost[i], sw[i], sn[i], sl[i], w, (ach[i] >= 0.99 * rate ? "true" : "false"), (lcpu[i] <= 100 ? "true" : "false")) >> json
        }
        printf("],\"costRatio\":%.3f,\"costPass\":%s,\"pass\":%s}\n", cr, (cr <= 1.5 ? "true" : "false"), (ok ? "true" : "false")) >> json
    }
    exit ok ? 0 : 1
}' "$DIR/results"
