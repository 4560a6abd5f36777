# bash completion for sessmon-load, the load generator of sessmon; installed as
# share/bash-completion/completions/sessmon-load.

# The options; tests/completion/test_completion.sh checks them against sessmon-load --help.
_sessmon_load_opts='--url --sessions --sources --source-count --principal --password-env --weight --anonymous-weight --admin --admin-password-env --ramp --close-rate --update-rate --drop-rate --duration --from --seed --per-process --stop-timeout --quiet --json-progress --help'

_sessmon_load() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]-}
    COMPREPLY=()
    case $prev in
    --from)
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null
        return 0 ;;
    --password-env | --admin-password-env)
        COMPREPLY=($(compgen -e -- "$cur"))
        return 0 ;;
    --sources)
        COMPREPLY=($(compgen -W '127.0.0.2-127.0.0.9 none' -- "$cur"))
        return 0 ;;
    --url | --sessions | --source-count | --principal | --weight | --anonymous-weight | --admin | --ramp | \
        --close-rate | --update-rate | --drop-rate | --duration | --seed | --per-process | --stop-timeout)
        return 0 ;;
    esac
    COMPREPLY=($(compgen -W "$_sessmon_load_opts" -- "$cur"))
    return 0
}

complete -F _sessmon_load sessmon-load
