#!/bin/sh
# Every configuration key server/config.c accepts (its fields[] lists, with the path each is checked
# under) has an entry in sessmond.json(5) and is named in docs/config.md; and every key entry of the
# page is one config.c accepts. So the page, the guide and the parser cannot drift apart.
# usage: check_config_keys.sh CONFIG_C SESSMOND_JSON_5_SCD CONFIG_MD
set -u
CONFIG_C=$1 PAGE=$2 GUIDE=$3
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }

# "PREFIX KEY" per accepted key; PREFIX "-" for the top level, principals.NAME / geo[] for the
# per-item objects (their path is made with snprintf just before check_fields).
keys=$(awk '
    /fields\[\] = \{/ { collecting = 1; list = "" }
    collecting {
        line = $0
        while (match(line, /"[A-Za-z]+"/)) {
            list = list " " substr(line, RSTART + 1, RLENGTH - 2)
            line = substr(line, RSTART + RLENGTH)
        }
        if ($0 ~ /NULL\}/) { collecting = 0; pending = list }
        next
    }
    /snprintf\(path, sizeof path, "/ {
        fmt = $0; sub(/.*sizeof path, "/, "", fmt); sub(/".*/, "", fmt)
        gsub(/%[.0-9]*s/, "NAME", fmt); gsub(/\[%zu\]/, "[]", fmt)
    }
    /[^a-z_]check_fields\(/ && pending != "" {
        arg = $0; sub(/.*check_fields\([a-z]+, /, "", arg); sub(/,.*/, "", arg)
        if (arg == "path") prefix = fmt
        else { gsub(/"/, "", arg); prefix = (arg == "") ? "-" : arg }
        n = split(pending, k, " ")
        for (i = 1; i <= n; i++) print prefix, k[i]
        pending = ""
    }
' "$CONFIG_C")
count=$(printf '%s\n' "$keys" | grep -c .)
[ "$count" -ge 40 ] || fail "found only $count keys in $CONFIG_C: has its layout changed?"

printf '%s\n' "$keys" | while read -r prefix key; do
    if [ "$prefix" = "-" ]; then
        upper=$(printf '%s' "$key" | tr '[:lower:]' '[:upper:]')
        grep -q "^# $upper\$" "$PAGE" || echo "FAIL: $PAGE has no section # $upper for the top-level key $key"
        grep -q "^## \`$key\`" "$GUIDE" || echo "FAIL: $GUIDE has no section ## \`$key\`"
    else
        grep -q -F -- "*$prefix.$key* (" "$PAGE" \
            || echo "FAIL: $PAGE has no entry *$prefix.$key* (type; default)"
        grep -q -F -- "\`$key\`" "$GUIDE" || echo "FAIL: $GUIDE does not name \`$key\` ($prefix)"
    fi
done > "${TMPDIR:-/tmp}/check_config_keys.$$"
if [ -s "${TMPDIR:-/tmp}/check_config_keys.$$" ]; then
    cat "${TMPDIR:-/tmp}/check_config_keys.$$"
    FAILED=1
fi
rm -f "${TMPDIR:-/tmp}/check_config_keys.$$"

# The other way: each "*a.b* (" entry of the page is a key config.c accepts.
grep -o '^\*[A-Za-z]*[.[][][A-Za-z.]*\* (' "$PAGE" | sed 's/^\*//; s/\* ($//' | while read -r entry; do
    prefix=${entry%.*} key=${entry##*.}
    printf '%s\n' "$keys" | grep -q -x -F "$prefix $key" || echo "FAIL: $PAGE describes $entry, which config.c does not accept"
done | grep . && FAILED=1

[ $FAILED -eq 0 ] && echo "configuration keys: $count keys in config.c, sessmond.json(5) and docs/config.md agree"
exit $FAILED
