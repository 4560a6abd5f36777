# Runs zsh's real completion on one command line through zsh/zpty and prints the words offered,
# one a line: an interactive zsh with compinit and the completion/ scripts first in fpath, whose
# compadd also prints what it adds. For tests/completion/test_completion.sh.
# usage: zsh -f zsh_complete.zsh COMPLETION_DIR BIN_DIR 'COMMAND LINE'
zmodload zsh/zpty || exit 77
compdir=$1 bindir=$2 line=$3
zpty z zsh -f -i
zpty -w z "PS1='%% '; fpath=(${(q)compdir} \$fpath); path=(${(q)bindir} \$path); autoload -Uz compinit; compinit -u -D"
zpty -w z 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
# The marker is built at run time so the echo of this line never matches it.
zpty -w z 'compadd() { if [[ " $* " == *" -"[OAD]" "* ]]; then builtin compadd "$@"; return; fi; local -a h; builtin compadd -O h "$@"; local w m="<""HIT>"; for w in $h; do print -r -- "$m$w</HIT>"; done; builtin compadd "$@"; }'
zpty -w z 'print "<""READY>"'
# zle drops what was typed before its prompt: wait for the prompt after READY, then type
out=""
for (( i = 0; i < 200; i++ )); do
  while zpty -r -t z chunk; do out+=$chunk; done
  [[ $out == *"<READY>"*"% "* ]] && break
  sleep 0.05
done
sleep 0.2
zpty -w -n z "$line"$'\t'
# zle finishes the Tab (server query included) before it reads Ctrl-U, which empties the line;
# then a sentinel says the output is complete
zpty -w -n z $'\C-u'
zpty -w z 'print "<""END>"'
out=""
for (( i = 0; i < 200; i++ )); do
  while zpty -r -t z chunk; do out+=$chunk; done
  [[ $out == *"<END>"* ]] && break
  sleep 0.05
done
[[ $out == *"<END>"* ]] || print -u2 "zsh_complete: no end marker within 10 s"
zpty -d z
print -r -- $out | grep -o '<HIT>[^<]*</HIT>' | sed 's/<HIT>//; s/<\/HIT>//' | sort -u
