# bash completion for sessmon (the monitor and its list/get/set/watch/close subcommands); installed
# as share/bash-completion/completions/sessmon. Session IDs and property keys come from the server
# of $SESSMON_URL (or --url on the line) through `sessmon __complete`, bounded to about a second.

# The option lists; tests/completion/test_bash.sh checks them against each --help.
_sessmon_monitor_opts=(--url --principal --ca-file --read-only --theme --filter --no-mouse --no-settings --list-themes --version --help)
_sessmon_common_opts=(--url --principal --ca-file --json --timeout --insecure --help)
_sessmon_subcommands=(list get set watch close help)

# Options of one subcommand, one a line: the common ones and its own.
_sessmon_sub_opts() {
    printf '%s\n' "${_sessmon_common_opts[@]}"
    case $1 in
    list) printf '%s\n' --filter --keys ;;
    set) printf '%s\n' --filter --delete ;;
    watch) printf '%s\n' --filter --keys --after ;;
    close) printf '%s\n' --filter ;;
    esac
}

# Options that take a value (the next word is not a positional argument).
_sessmon_takes_value() {
    case $1 in
    --url | --principal | --ca-file | --theme | --filter | --timeout | --keys | --after | --delete) return 0 ;;
    esac
    return 1
}

# _sessmon_words: COMP_WORDS with the pieces bash splits at ':' and '=' glued back (a URL, KEY=VALUE),
# into _sessmon_w, and the index of the word under the cursor into _sessmon_cw.
_sessmon_words() {
    _sessmon_w=()
    _sessmon_cw=0
    local i w glue=0 n=-1
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        if ((n >= 0)) && [[ $w == ':' || $w == '=' || $glue == 1 ]]; then
            _sessmon_w[n]+=$w
            [[ $w == ':' || $w == '=' ]] && glue=1 || glue=0
        else
            _sessmon_w[++n]=$w
            glue=0
        fi
        ((i == COMP_CWORD)) && _sessmon_cw=$n
    done
    return 0
}

# _sessmon_query BIN WHAT [ARG]: words from `BIN __complete WHAT ARG`. Server words (ids, keys) only
# when a server is named ($SESSMON_URL or --url); --timeout and timeout(1) keep it to about a second.
_sessmon_query() {
    local bin=$1 what=$2 arg=${3-} i url=${SESSMON_URL-}
    local -a conn=()
    for ((i = 1; i < ${#_sessmon_w[@]}; i++)); do
        ((i == _sessmon_cw)) && continue
        case ${_sessmon_w[i]} in
        --url | --principal | --ca-file)
            conn+=("${_sessmon_w[i]}" "$(_sessmon_unquote "${_sessmon_w[i + 1]-}")")
            [[ ${_sessmon_w[i]} == --url ]] && url=${_sessmon_w[i + 1]-} ;;
        --insecure) conn+=(--insecure) ;;
        esac
    done
    [[ $what != themes && -z $url ]] && return 0
    local -a limit=()
    type timeout >/dev/null 2>&1 && limit=(timeout 1)
    "${limit[@]}" "$bin" __complete "$what" ${arg:+"$arg"} "${conn[@]}" --timeout 800 </dev/null 2>/dev/null
}

# _sessmon_add PREFIX SUFFIX WORD...: COMPREPLY gets each WORD starting with PREFIX, plus SUFFIX,
# with '$' escaped (fixed keys such as $Principal must reach sessmon as they are). No compgen -W:
# it would expand the '$' words.
_sessmon_add() {
    local prefix=$1 suffix=$2 w
    shift 2
    for w in "$@"; do
        [[ $w == "$prefix"* ]] && COMPREPLY+=("${w//\$/\\\$}$suffix")
    done
}

# The word under the cursor as the user means it: quotes and backslashes taken off.
_sessmon_unquote() {
    local s=$1
    s=${s#[\'\"]}
    s=${s%[\'\"]}
    printf '%s' "${s//\\/}"
}

_sessmon() {
    local bin=sessmon
    [[ ${1-} == */* && -x ${1-} ]] && bin=$1
    COMPREPLY=()
    _sessmon_words
    local cur prev sub="" i npos=0 first="" has_filter=0
    cur=$(_sessmon_unquote "${_sessmon_w[_sessmon_cw]-}")
    prev=${_sessmon_w[_sessmon_cw - 1]-}
    # the subcommand, the positional arguments before the cursor, the first of them
    for ((i = 1; i < _sessmon_cw; i++)); do
        local w=${_sessmon_w[i]}
        if [[ -z $sub && $i == 1 && " ${_sessmon_subcommands[*]} " == *" $w "* ]]; then
            sub=$w
        elif _sessmon_takes_value "$w"; then
            [[ $w == --filter ]] && has_filter=1
            ((i++))
        elif [[ $w != -* ]]; then
            ((npos++ == 0)) && first=$w
        fi
    done

    case $prev in
    --theme)
        local IFS=$'\n'
        _sessmon_add "$cur" "" $(_sessmon_query "$bin" themes)
        return 0 ;;
    --ca-file)
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null
        return 0 ;;
    --after)
        _sessmon_add "$cur" "" now
        return 0 ;;
    --delete)
        local IFS=$'\n'
        _sessmon_add "$cur" "" $(_sessmon_query "$bin" keys)
        return 0 ;;
    --keys)
        # a comma list: complete the last item
        local head="" item=$cur k
        [[ $cur == *,* ]] && head=${cur%,*}, && item=${cur##*,}
        local IFS=$'\n'
        for k in '*F' '*U' $(_sessmon_query "$bin" keys); do
            [[ $k == "$item"* ]] && COMPREPLY+=("$(printf '%q' "$head$k")")
        done
        type compopt >/dev/null 2>&1 && compopt -o nospace 2>/dev/null
        return 0 ;;
    --url | --principal | --filter | --timeout)
        return 0 ;;
    esac

    local IFS=$'\n'
    if [[ $cur == -* ]]; then
        if [[ -z $sub ]]; then
            _sessmon_add "$cur" "" "${_sessmon_monitor_opts[@]}"
        else
            _sessmon_add "$cur" "" $(_sessmon_sub_opts "$sub")
        fi
        return 0
    fi

    case $sub in
    "") [[ $_sessmon_cw == 1 ]] && _sessmon_add "$cur" "" "${_sessmon_subcommands[@]}" ;;
    help) ((npos == 0)) && _sessmon_add "$cur" "" list get set watch close ;;
    get)
        if ((npos == 0)); then
            _sessmon_add "$cur" "" $(_sessmon_query "$bin" ids "$cur")
        else
            _sessmon_add "$cur" "" $(_sessmon_query "$bin" keys "$first")
        fi ;;
    set)
        [[ $cur == *=* ]] && return 0 # a value: nothing to offer
        if ((npos == 0 && !has_filter)); then
            _sessmon_add "$cur" "" $(_sessmon_query "$bin" ids "$cur")
        else
            local id=$first
            ((has_filter)) && id=""
            _sessmon_add "$cur" "=" $(_sessmon_query "$bin" keys $id)
            type compopt >/dev/null 2>&1 && compopt -o nospace 2>/dev/null
        fi ;;
    close) ((npos == 0 && !has_filter)) && _sessmon_add "$cur" "" $(_sessmon_query "$bin" ids "$cur") ;;
    esac
    return 0
}

complete -F _sessmon sessmon
