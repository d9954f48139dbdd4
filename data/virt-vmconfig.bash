# bash completion for virt-vmconfig                      -*- shell-script -*-
#
# Commands and their options come from virt-vmconfig's own --help, so they
# never drift from the program; VM names from `virt-vmconfig list`, asked
# quietly and given at most 2 s (a host that does not answer fast gets no
# names); FILE arguments complete as files.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

_virt_vmconfig()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    local prog=${words[0]}

    # The command is the first word that is not a global option (or its value).
    local i cmd="" cmd_at=0 global=()
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -c|--connect|--accel) global+=("${words[i]}" "${words[i+1]}"); ((i++)) ;;
            --connect=*|--accel=*) global+=("${words[i]}") ;;
            -*) ;;
            *) cmd=${words[i]}; cmd_at=$i; break ;;
        esac
    done

    case $prev in
        -c|--connect) return ;;
        --accel) mapfile -t COMPREPLY < <(compgen -W "kvm qemu" -- "$cur"); return ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "-c --connect --accel -V --version -h --help" -- "$cur")
        else
            local commands
            commands=$("$prog" --help 2>/dev/null |
                sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
            mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
        fi
        return
    fi

    if [[ $cur == -* ]]; then
        local opts
        opts=$("$prog" "$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
        return
    fi

    # What the command's usage line names as its argument.
    local usage
    usage=$("$prog" "$cmd" --help 2>/dev/null | sed -n '2s/.* //p')
    case $usage in
        FILE|FILE...|XMLFILE)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        NAME|DOMAIN)
            ((cword == cmd_at + 1)) || return
            local names
            names=$(timeout 2 "$prog" "${global[@]}" list 2>/dev/null | awk 'NR > 1 { print $1 }')
            mapfile -t COMPREPLY < <(compgen -W "$names" -- "$cur") ;;
    esac
}
complete -F _virt_vmconfig virt-vmconfig
