#!/bin/bash
# The shell completion of sessmon, sessmond and sessmon-load: bash driven without a terminal
# (COMP_WORDS/COMP_CWORD set, the function called, COMPREPLY checked) against the programs' --help,
# the themes and a real sessmond holding sessions from sessmon-load --from; its time with the
# server dead or frozen; zsh syntax and, through zpty, real zsh completion.
# usage: test_completion.sh SRCDIR SESSMOND SESSMON SESSMON_LOAD
set -u
SRC=$1 SESSMOND=$2 SESSMON=$3 LOAD=$4
FAILED=0
CHECKS=0
fail() { echo "FAIL: $*"; FAILED=1; }
check() { # check WHAT GOT WANT
    CHECKS=$((CHECKS + 1))
    [[ $2 == "$3" ]] || fail "$1: got '$2', want '$3'"
}
contains() { # contains WHAT LIST WORD
    CHECKS=$((CHECKS + 1))
    [[ " $2 " == *" $3 "* ]] || fail "$1: '$3' missing from '$2'"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessmon-completion.XXXXXX")
SERVER_PID=
LOAD_PID=
cleanup() {
    [[ -n $LOAD_PID ]] && kill "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
    [[ -n $SERVER_PID ]] && kill -CONT "$SERVER_PID" 2>/dev/null
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

export XDG_CONFIG_HOME=$WORK/xdg HOME=$WORK
unset SESSMON_URL SESSMON_PRINCIPAL SESSMON_PASSWORD
mkdir -p "$XDG_CONFIG_HOME/sessmon/themes"
printf '# a user theme\n' >"$XDG_CONFIG_HOME/sessmon/themes/zz-mine.theme"

. "$SRC/completion/sessmon.bash"
. "$SRC/completion/sessmond.bash"
. "$SRC/completion/sessmon-load.bash"

# comp FUNCTION WORD...: runs FUNCTION on the command line WORD... (cursor in the last word) the
# way bash does; the words it offers are in REPLY, sorted, one space apart; its time in MS.
comp() {
    local fn=$1
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    local t0 t1
    t0=$(date +%s%N)
    "$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]-}"
    t1=$(date +%s%N)
    MS=$(((t1 - t0) / 1000000))
    REPLY=$(printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ')
    REPLY=${REPLY% }
}

# comp_live: comp against the live server, again (up to 3 times) while it offers nothing: on a
# loaded machine one 800 ms try may not be enough, and a user would press Tab again too.
comp_live() {
    local try
    for try in 1 2 3; do
        comp "$@"
        [[ -n $REPLY ]] && return 0
    done
}

# The --options in a help text, sorted, one space apart.
help_opts() { grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
# The words of a list, sorted and unique, one space apart.
sorted() { tr ' ' '\n' | grep . | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# ---- options and subcommands agree with --help (which does not list --help itself) ----
comp _sessmon "$SESSMON" --
check "sessmon --<Tab>" "$REPLY" "$( ("$SESSMON" --help; echo --help) | help_opts)"
subs=$("$SESSMON" help | sed -n 's/^ *\(usage: \)\{0,1\}sessmon \([a-z][a-z]*\).*/\2/p' | sorted)
comp _sessmon "$SESSMON" ""
check "sessmon <Tab>" "$REPLY" "$subs"
for sub in $subs; do
    [[ $sub == help ]] && continue
    comp _sessmon "$SESSMON" "$sub" --
    check "sessmon $sub --<Tab>" "$REPLY" "$( ("$SESSMON" "$sub" --help; echo --help) | help_opts)"
done
comp _sessmon "$SESSMON" help ""
check "sessmon help <Tab>" "$REPLY" "$(echo "$subs" | tr ' ' '\n' | grep -v '^help$' | sorted)"
comp _sessmond "$SESSMOND" --
check "sessmond --<Tab>" "$REPLY" "$( ("$SESSMOND" --help; echo --help) | help_opts)"
comp _sessmon_load "$LOAD" --
check "sessmon-load --<Tab>" "$REPLY" "$("$LOAD" --help | help_opts)"
comp _sessmond "$SESSMOND" --check
check "sessmond --check<Tab>" "$REPLY" "--check-config"

# ---- themes: the installed ones and the user's ----
comp _sessmon "$SESSMON" --theme ""
check "sessmon --theme <Tab>" "$REPLY" "$("$SESSMON" __complete themes | sorted)"
contains "sessmon --theme <Tab>" "$REPLY" default
contains "sessmon --theme <Tab> (user theme dir)" "$REPLY" zz-mine
comp _sessmon "$SESSMON" --theme zz
check "sessmon --theme zz<Tab>" "$REPLY" "zz-mine"

# ---- the hidden helper itself: not in the help, refuses what it does not know ----
"$SESSMON" help | grep -q __complete && fail "sessmon help shows __complete"
"$SESSMON" __complete bogus >/dev/null 2>&1
check "sessmon __complete bogus: exit status" "$?" 2
"$SESSMON" __complete themes a b >/dev/null 2>&1
check "sessmon __complete themes a b: exit status" "$?" 2

# ---- no server named: nothing asked, nothing offered ----
comp _sessmon "$SESSMON" get ""
check "sessmon get <Tab> without SESSMON_URL" "$REPLY" ""
comp _sessmon "$SESSMON" list --after ""
check "sessmon list --after <Tab>" "$REPLY" "now"

# ---- a real server with three sessions ----
"$SESSMOND" --port 0 --port-file "$WORK/port" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for ((i = 0; i < 100; i++)); do [[ -s $WORK/port ]] && break; sleep 0.1; done
[[ -s $WORK/port ]] || { cat "$WORK/server.log"; fail "sessmond did not start"; exit 1; }
URL=ws://127.0.0.1:$(cat "$WORK/port")
cat >"$WORK/sessions.ndjson" <<'EOF'
{"properties":{"Department":"Sales","Tier":"gold"}}
{"properties":{"Department":"Support"}}
{"properties":{"Region":"EU"}}
EOF
"$LOAD" --url "$URL" --from "$WORK/sessions.ndjson" --quiet >"$WORK/load.log" 2>&1 &
LOAD_PID=$!
export SESSMON_PRINCIPAL=admin SESSMON_PASSWORD=admin
ids=""
for ((i = 0; i < 100; i++)); do
    ids=$("$SESSMON" list --url "$URL" --json | sed -n 's/^{"session":"\([^"]*\)".*/\1/p' | sorted)
    [[ $(echo "$ids" | wc -w) -ge 3 ]] && break
    sleep 0.1
done
[[ $(echo "$ids" | wc -w) -eq 3 ]] || fail "the three sessions did not open: '$ids'"
first=${ids%% *}
# the session with Department and Tier (the load opens them in any order)
sales=$("$SESSMON" list --url "$URL" --json --filter "Department is 'Sales'" | sed -n 's/^{"session":"\([^"]*\)".*/\1/p')

export SESSMON_URL=$URL
comp_live _sessmon "$SESSMON" get ""
check "sessmon get <Tab>" "$REPLY" "$ids"
echo "sessmon get <Tab> with a live server: $MS ms"
comp_live _sessmon "$SESSMON" close "${first:0:12}"
contains "sessmon close PREFIX<Tab>" "$REPLY" "$first"
comp_live _sessmon "$SESSMON" get "$sales" ""
contains "sessmon get ID <Tab>" "$REPLY" '\$Principal'
contains "sessmon get ID <Tab>" "$REPLY" '\$ClientIP'
comp_live _sessmon "$SESSMON" set "$sales" Dep
check "sessmon set ID Dep<Tab>" "$REPLY" "Department="
comp_live _sessmon "$SESSMON" set --filter "Tier is 'gold'" Re
check "sessmon set --filter F Re<Tab> (keys of every session)" "$REPLY" "Region="
comp _sessmon "$SESSMON" set "$sales" Department = Sa
check "sessmon set ID Department=Sa<Tab> (a value)" "$REPLY" ""
comp_live _sessmon "$SESSMON" set "$sales" --delete T
check "sessmon set ID --delete T<Tab>" "$REPLY" "Tier"
comp_live _sessmon "$SESSMON" list --keys 'Department,$Cou'
check "sessmon list --keys Department,\$Cou<Tab>" "$REPLY" 'Department\,\$Country'
comp_live _sessmon "$SESSMON" watch --keys '*'
check "sessmon watch --keys *<Tab>" "$REPLY" '\*F \*U'
# --url on the line is used (a URL split by bash at ':' too)
unset SESSMON_URL
port=${URL##*:}
comp_live _sessmon "$SESSMON" get --url ws : //127.0.0.1 : "$port" ""
check "sessmon get --url URL <Tab>" "$REPLY" "$ids"
export SESSMON_URL=$URL
# a principal without SESSMON_PASSWORD: no prompt, nothing offered
SESSMON_PASSWORD_SAVED=$SESSMON_PASSWORD
unset SESSMON_PASSWORD
comp _sessmon "$SESSMON" get ""
check "sessmon get <Tab> without a password" "$REPLY" ""
[[ $MS -lt 1000 ]] || fail "without a password the completion took $MS ms"
export SESSMON_PASSWORD=$SESSMON_PASSWORD_SAVED

# ---- zsh: syntax, and the real completion system through zpty ----
if command -v zsh >/dev/null 2>&1; then
    for f in _sessmon _sessmond _sessmon-load; do
        zsh -n "$SRC/completion/$f" || fail "zsh -n $f"
        CHECKS=$((CHECKS + 1))
    done
    # zc WORD...: what zsh offers for the line (up to 3 tries while it offers nothing, as above)
    zc() {
        local try out
        for try in 1 2 3; do
            out=$(zsh -f "$SRC/tests/completion/zsh_complete.zsh" "$SRC/completion" "$(dirname "$SESSMON")" "$*" | sorted)
            [[ -n $out ]] && break
        done
        echo "$out"
    }
    if zsh -f -c 'zmodload zsh/zpty' 2>/dev/null; then
        PATH=$(dirname "$SESSMOND"):$(dirname "$LOAD"):$PATH
        export PATH
        check "zsh: sessmon --theme zz<Tab>" "$(zc sessmon --theme zz)" "zz-mine"
        got=$(zc sessmon '')
        for sub in list get set watch close help; do contains "zsh: sessmon <Tab>" "$got" "$sub"; done
        check "zsh: sessmon get <Tab>" "$(zc sessmon get '')" "$ids"
        got=$(zc sessmon get "$sales" '')
        contains "zsh: sessmon get ID <Tab>" "$got" Department
        contains "zsh: sessmon get ID <Tab>" "$got" '$Principal'
        contains "zsh: sessmon list --<Tab>" "$(zc sessmon list --)" --keys
        contains "zsh: sessmond --<Tab>" "$(zc sessmond --)" --check-config
        contains "zsh: sessmon-load --<Tab>" "$(zc sessmon-load --)" --json-progress
    else
        echo "zsh has no zpty module: only the syntax of the zsh scripts was checked"
    fi
else
    echo "zsh not installed: zsh completion not checked"
fi

# ---- a dead port and a frozen server: the shell gets its prompt back within about 1 s ----
kill -STOP "$SERVER_PID"
comp _sessmon "$SESSMON" get ""
check "sessmon get <Tab> with the server frozen" "$REPLY" ""
echo "sessmon get <Tab> with the server frozen: $MS ms"
[[ $MS -le 1500 ]] || fail "completion against a frozen server took $MS ms"
kill -CONT "$SERVER_PID"
kill "$LOAD_PID" 2>/dev/null
wait "$LOAD_PID" 2>/dev/null
LOAD_PID=
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
comp _sessmon "$SESSMON" get ""
check "sessmon get <Tab> with the server gone" "$REPLY" ""
echo "sessmon get <Tab> with the port dead: $MS ms"
[[ $MS -le 1000 ]] || fail "completion against a dead port took $MS ms"

[[ $FAILED -eq 0 ]] && echo "completion: all $CHECKS checks passed"
exit $FAILED
