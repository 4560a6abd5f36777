# bash completion for sessmond, the sessmon session server; installed as
# share/bash-completion/completions/sessmond.

# The options; tests/completion/test_completion.sh checks them against sessmond --help.
_sessmond_opts='--config --port --bind --port-file --verbose --cluster-redis --node --check-config --print-config --hash-password --iterations --version --help'

_sessmond() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]-}
    COMPREPLY=()
    case $prev in
    --config)
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
        type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null
        return 0 ;;
    --port-file)
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null
        return 0 ;;
    --port | --bind | --cluster-redis | --node | --iterations)
        return 0 ;;
    esac
    COMPREPLY=($(compgen -W "$_sessmond_opts" -- "$cur"))
    return 0
}

complete -F _sessmond sessmond
