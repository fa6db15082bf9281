# bash completion for artemisctl (installed as share/bash-completion/completions/artemisctl).
# Completes global options, subcommands, each subcommand's flags, pull-out/pull-in targets,
# and service ids from `artemisctl services --json` for the commands that take one.

_artemisctl_services() {
    local srv=()
    local i
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        case "${COMP_WORDS[i]}" in
            --server) srv=(--server "${COMP_WORDS[i+1]}") ;;
            --server=*) srv=("${COMP_WORDS[i]}") ;;
        esac
    done
    artemisctl "${srv[@]}" services --json 2>/dev/null |
        sed -n 's/.*"serviceId":"\([^"]*\)".*/\1/p'
}

_artemisctl() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
        prev="${COMP_WORDS[COMP_CWORD-1]}"
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    local globals="--server --ca --auth-token --region --zone --token --json --help --version"
    local commands="services service register unregister watch pull-out pull-in groups
        route-rules weights release canary logs cluster health"

    case "$prev" in
        --server | --auth-token | --region | --zone | --token | --operator | --reason | --operation | \
            --app | \
            --rule | --limit | --port | --ip | --instance | --url | --group | --protocol | \
            --meta | --interval)
            return
            ;;
        --service)
            COMPREPLY=($(compgen -W "$(_artemisctl_services)" -- "$cur"))
            return
            ;;
        --ca)
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
    esac

    # Find the subcommand and how many positionals follow it.
    local cmd="" i npos=0
    for ((i = 1; i < cword; i++)); do
        local w="${words[i]}"
        case "$w" in
            --server | --auth-token | --region | --zone | --token | --operator | --reason | \
                --operation | \
                --app | --rule | --limit | --port | --ip | --instance | --url | --group | \
                --protocol | --meta | --interval | --service)
                ((i++))
                continue
                ;;
            -*) continue ;;
        esac
        if [[ -z $cmd ]]; then cmd="$w"; else ((npos++)); fi
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$globals" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    local flags="--help --json"
    case "$cmd" in
        register) flags+=" --service --port --instance --ip --url --group --protocol --meta --interval --once" ;;
        unregister) flags+=" --service --instance --port --ip" ;;
        pull-out | pull-in) flags+=" --operator --reason --operation --app" ;;
        weights | release) flags+=" --operator --reason --operation --rule" ;;
        canary) flags+=" --operator --reason --operation --app" ;;
        logs) flags+=" --operator --service --limit" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    case "$cmd" in
        service | watch | groups | route-rules | weights | release | canary)
            if ((npos == 0)); then
                COMPREPLY=($(compgen -W "$(_artemisctl_services)" -- "$cur"))
            fi
            ;;
        pull-out | pull-in)
            if ((npos == 0)); then
                COMPREPLY=($(compgen -W "instance server zone group" -- "$cur"))
            elif ((npos == 1)) && [[ ${words[*]} != *" server "* ]]; then
                COMPREPLY=($(compgen -W "$(_artemisctl_services)" -- "$cur"))
            fi
            ;;
    esac
}
complete -F _artemisctl artemisctl
