#!/bin/sh
# The man pages render without a warning and name every subcommand and option the programs' --help
# prints, so a page cannot fall behind the code. Exits 77 (CTest skip) when the pages were not built.
# usage: check_pages.sh MANDIR SESSMON SESSMOND SESSMON_LOAD
set -u
MANDIR=$1 SESSMON=$2 SESSMOND=$3 LOAD=$4
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }

[ -f "$MANDIR/sessmon.1" ] || { echo "man pages not built (no scdoc): skipped"; exit 77; }

for page in sessmon.1 sessmon-load.1 sessmond.8 sessmond.json.5; do
    f=$MANDIR/$page
    [ -s "$f" ] || { fail "$page was not built"; continue; }
    [ -s "$f.gz" ] && gzip -t "$f.gz" || fail "$page.gz missing or broken"
    warnings=$(groff -ww -man -z "$f" 2>&1)
    [ -z "$warnings" ] || fail "groff warns about $page: $warnings"
    if command -v man >/dev/null 2>&1; then
        # as lintian checks a packaged page
        warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f.gz" 2>&1 >/dev/null)
        [ -z "$warnings" ] || fail "man warns about $page: $warnings"
        lines=$(MANWIDTH=80 man -l "$f" 2>/dev/null | wc -l)
        [ "$lines" -gt 20 ] || fail "$page renders to $lines lines only"
        # a $Key inside double quotes is expanded by the shell of whoever copies the example
        # (scdoc eats one backslash: the source needs "\\$Key" to show "\$Key")
        quoted=$(MANWIDTH=200 man -l "$f" 2>/dev/null | grep -o '"[^"]*"' | grep '\(^"\|[^\\]\)\$[A-Z][a-z]')
        [ -z "$quoted" ] || fail "$page shows a \$Key inside double quotes without a backslash: $quoted"
    fi
done

# The pages' sources: docs/man/*.scd beside this script's tests/ tree.
SRC=$(cd "$(dirname "$0")/../../docs/man" && pwd)

# every_option PAGE HELP_TEXT: each --option in HELP_TEXT is in PAGE's source as a bold *--option*.
# (An argument, not a pipe: a function at the end of a pipe runs in a subshell, and its fail
# would not reach FAILED.)
every_option() {
    opts=$(printf '%s\n' "$2" | grep -o -- '--[a-z][a-z-]*' | sort -u)
    [ -n "$opts" ] || fail "no option found in the --help text for $1"
    for opt in $opts; do
        grep -q -F -- "*$opt*" "$SRC/$1.scd" || fail "$1 does not describe $opt"
    done
}

every_option sessmon.1 "$("$SESSMON" --help)"
subs=$("$SESSMON" help | sed -n 's/^ *\(usage: \)\{0,1\}sessmon \([a-z][a-z]*\).*/\2/p' | sort -u)
[ -n "$subs" ] || fail "sessmon help lists no subcommand"
for sub in $subs; do
    grep -q "^\*$sub\*" "$SRC/sessmon.1.scd" || fail "sessmon.1 has no entry for the subcommand $sub"
    [ "$sub" = help ] && continue
    every_option sessmon.1 "$("$SESSMON" "$sub" --help)"
done
# the monitor's usage names the same subcommands as sessmon help
monitor_subs=$("$SESSMON" --help | sed -n 's/^ *sessmon \([a-z|]*\) .*/\1/p' | tr '|' '\n' | sort -u)
[ "$monitor_subs" = "$(printf '%s\n' $subs | grep -v '^help$')" ] \
    || fail "sessmon --help names '$monitor_subs', sessmon help '$subs'"
every_option sessmond.8 "$("$SESSMOND" --help)"
every_option sessmon-load.1 "$("$LOAD" --help)"

[ $FAILED -eq 0 ] && echo "man pages: all checks passed"
exit $FAILED
