#!/usr/bin/env bash
# A cluster of artemis-server nodes on this host (docs/cluster.md), for trying things out.
#
#   docker/cluster-local.sh start [N] [BASE_PORT]   N nodes (1..9, default 3); node i listens on
#                                                   BASE_PORT+i-1 (default 8080); waits for /health
#   docker/cluster-local.sh status                  table: node, URL, pid, status, instances,
#                                                   peers up, replication lag (p99, worst peer)
#   docker/cluster-local.sh logs [NODE]             the last $LOG_LINES lines of every node's log,
#                                                   or of node NODE (1..N)
#   docker/cluster-local.sh stop                    SIGTERM to the nodes it started, SIGKILL after
#                                                   $STOP_TIMEOUT s
#   docker/cluster-local.sh clean                   stop, then remove $DIR
#
# Environment:
#   DIR                  state folder: cluster.env, nodeI.pid, nodeI.log, data/nodeI/
#                        (default ./build/cluster-local)
#   ARTEMIS_SERVER_BIN   the server binary (default build/bin/artemis-server). Not
#                        $ARTEMIS_SERVER: that is the URL artemisctl reads.
#   ARTEMIS_SERVER_ARGS  extra options for every node, split on blanks
#   HOST                 listen address (default 127.0.0.1)
#   REGION, ZONE         (default sha, sha-z1)
#   START_TIMEOUT        seconds start waits for every /health to answer 200 (default 45)
#   STOP_TIMEOUT         seconds stop waits after SIGTERM before SIGKILL (default 10)
#   LOG_LINES            lines shown by logs (default 50)
#
# Exit status: 0 ok; 1 failure (a node did not start, status found a node not up, ...);
# 2 bad arguments (usage on stderr). Only the PIDs in $DIR's pid files are ever signalled,
# and only while they still are an artemis-server process.
set -eu

DIR=${DIR:-./build/cluster-local}
BIN=${ARTEMIS_SERVER_BIN:-build/bin/artemis-server}
HOST=${HOST:-127.0.0.1}
REGION=${REGION:-sha}
ZONE=${ZONE:-sha-z1}
START_TIMEOUT=${START_TIMEOUT:-45}
STOP_TIMEOUT=${STOP_TIMEOUT:-10}
LOG_LINES=${LOG_LINES:-50}
PROG=${0##*/}

usage() {
    cat <<EOF
usage: $PROG start [N] [BASE_PORT]   start N nodes (1..9, default 3) on BASE_PORT.. (default 8080)
       $PROG status                  node, URL, status, instances, peers, replication lag
       $PROG logs [NODE]             last \$LOG_LINES (50) lines of each node's log, or of NODE
       $PROG stop                    stop the nodes started from \$DIR
       $PROG clean                   stop, then remove \$DIR
state folder DIR=$DIR, binary ARTEMIS_SERVER_BIN=$BIN
EOF
}

bad_usage() {
    usage >&2
    exit 2
}

die() {
    echo "$PROG: $*" >&2
    exit 1
}

is_uint() {
    case "$1" in '' | *[!0-9]*) return 1 ;; *) [ ${#1} -le 9 ] ;; esac
}

in_range() { # VALUE LOW HIGH
    is_uint "$1" && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# Reads N and BASE_PORT of the cluster in $DIR; fails when there is none.
load_env() {
    [ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (run: $PROG start)"
    N=$(sed -n 's/^N=//p' "$DIR/cluster.env")
    BASE_PORT=$(sed -n 's/^BASE_PORT=//p' "$DIR/cluster.env")
    if ! is_uint "$N" || ! is_uint "$BASE_PORT"; then die "$DIR/cluster.env is damaged"; fi
}

# True while PID $1 is a live (not zombie) artemis-server process.
is_server() {
    local st
    st=$(ps -p "$1" -o stat=,comm= 2>/dev/null || true)
    case "$st" in Z*) return 1 ;; *" artemis-server") return 0 ;; *) return 1 ;; esac
}

# The PID of node $1 if its pid file names a live artemis-server process; else empty.
node_pid() {
    local f="$DIR/node$1.pid" pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if is_uint "$pid" && is_server "$pid"; then echo "$pid"; fi
    return 0
}

http_get() { # URL -> the body in $BODY, the status in $HTTP_CODE (000: no answer)
    local out
    out=$(curl -s --max-time 2 -w '\n%{http_code}' "$1" 2>/dev/null || true)
    HTTP_CODE=${out##*$'\n'}
    BODY=${out%$'\n'*}
}

cmd_start() {
    N=${1:-3}
    BASE_PORT=${2:-8080}
    in_range "$N" 1 9 || bad_usage
    in_range "$BASE_PORT" 1 $((65536 - N)) || bad_usage
    [ -x "$BIN" ] || die "no server binary at $BIN (run make, or set ARTEMIS_SERVER_BIN)"
    if [ -f "$DIR/cluster.env" ]; then
        local old_n i
        old_n=$(sed -n 's/^N=//p' "$DIR/cluster.env")
        is_uint "$old_n" || old_n=9
        for i in $(seq 1 "$old_n"); do
            [ -z "$(node_pid "$i")" ] || die "a cluster is already running from $DIR (run: $PROG stop)"
        done
    fi
    local i port peers="" extra=()
    for i in $(seq 1 "$N"); do
        port=$((BASE_PORT + i - 1))
        if (: <>"/dev/tcp/$HOST/$port") 2>/dev/null; then
            die "port $port on $HOST is already in use"
        fi
        peers="$peers${peers:+,}http://$HOST:$port/"
    done
    peers="$ZONE:$peers"
    if [ -n "${ARTEMIS_SERVER_ARGS:-}" ]; then
        read -r -a extra <<<"$ARTEMIS_SERVER_ARGS"
    fi
    mkdir -p "$DIR/data"
    printf 'N=%s\nBASE_PORT=%s\nHOST=%s\n' "$N" "$BASE_PORT" "$HOST" >"$DIR/cluster.env"
    for i in $(seq 1 "$N"); do
        port=$((BASE_PORT + i - 1))
        mkdir -p "$DIR/data/node$i"
        "$BIN" --listen="$HOST:$port" --node-url="http://$HOST:$port/" --region="$REGION" \
            --zone="$ZONE" --peers="$peers" --data-dir="$DIR/data/node$i" ${extra[@]+"${extra[@]}"} \
            </dev/null >>"$DIR/node$i.log" 2>&1 &
        echo $! >"$DIR/node$i.pid"
    done
    local deadline=$((SECONDS + START_TIMEOUT)) ready
    for i in $(seq 1 "$N"); do
        port=$((BASE_PORT + i - 1))
        while :; do
            if [ -z "$(node_pid "$i")" ]; then
                echo "$PROG: node$i exited; the end of $DIR/node$i.log:" >&2
                tail -n 15 "$DIR/node$i.log" >&2 || true
                cmd_stop >/dev/null
                exit 1
            fi
            ready=$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://$HOST:$port/health" || true)
            [ "$ready" = 200 ] && break
            if [ "$SECONDS" -ge "$deadline" ]; then
                echo "$PROG: node$i not ready after ${START_TIMEOUT} s (see $DIR/node$i.log); stopping" >&2
                cmd_stop >/dev/null
                exit 1
            fi
            sleep 0.2
        done
        echo "node$i ready on http://$HOST:$port/ (pid $(cat "$DIR/node$i.pid"))"
    done
}

cmd_status() {
    load_env
    HOST=$(sed -n 's/^HOST=//p' "$DIR/cluster.env")
    local i port url pid health metrics status inst peers lag all_up=0
    printf '%-6s %-26s %-8s %-9s %-9s %-6s %s\n' NODE URL PID STATUS INSTANCES PEERS 'LAG(p99)'
    for i in $(seq 1 "$N"); do
        port=$((BASE_PORT + i - 1))
        url="http://$HOST:$port/"
        pid=$(node_pid "$i")
        status=stopped inst=- peers=- lag=-
        if [ -n "$pid" ]; then
            http_get "${url}health"
            health=$BODY
            if [ "$HTTP_CODE" = 000 ]; then
                status=no-answer
            else
                status=$(printf '%s' "$health" | sed -n 's/.*"nodeStatus":"\([a-z]*\)".*/\1/p')
                inst=$(printf '%s' "$health" | sed -n 's/.*"instances":\([0-9]*\).*/\1/p')
                [ -n "$status" ] || status="http-$HTTP_CODE"
                [ -n "$inst" ] || inst=-
                http_get "${url}metrics"
                metrics=$BODY
                # peers up / peers, from artemis_cluster_peer_status{...,status="up"} 1
                peers=$(printf '%s\n' "$metrics" | awk '
                    /^artemis_cluster_peer_status\{/ && /status="up"/ { n++; if ($NF == 1) u++ }
                    END { printf "%d/%d", u, n }')
                # worst p99 over the peers of artemis_replication_lag_seconds, in ms
                lag=$(printf '%s\n' "$metrics" | awk '
                    /^artemis_replication_lag_seconds\{/ && /quantile="0.99"/ { if (!s || $NF > m) m = $NF; s = 1 }
                    END { if (s) printf "%.1fms", m * 1000; else printf "-" }')
            fi
        fi
        [ "$status" = up ] || all_up=1
        printf '%-6s %-26s %-8s %-9s %-9s %-6s %s\n' "node$i" "$url" "${pid:--}" "$status" "$inst" "$peers" "$lag"
    done
    return "$all_up"
}

cmd_logs() {
    load_env
    local i
    if [ $# -eq 1 ]; then
        in_range "$1" 1 "$N" || bad_usage
        [ -f "$DIR/node$1.log" ] || die "no log for node$1"
        tail -n "$LOG_LINES" "$DIR/node$1.log"
        return 0
    fi
    for i in $(seq 1 "$N"); do
        [ -f "$DIR/node$i.log" ] || continue
        tail -n "$LOG_LINES" "$DIR/node$i.log" | sed "s/^/node$i | /"
    done
}

cmd_stop() {
    [ -d "$DIR" ] || return 0
    local f i pid pids=() left deadline
    for f in "$DIR"/node[1-9].pid; do
        [ -f "$f" ] || continue
        i=${f##*/node}
        i=${i%.pid}
        pid=$(node_pid "$i")
        if [ -n "$pid" ]; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            echo "node$i: SIGTERM to pid $pid"
        fi
    done
    deadline=$((SECONDS + STOP_TIMEOUT))
    while [ ${#pids[@]} -gt 0 ]; do
        left=()
        for pid in "${pids[@]}"; do
            if is_server "$pid"; then
                left+=("$pid")
            fi
        done
        pids=(${left[@]+"${left[@]}"})
        [ ${#pids[@]} -gt 0 ] || break
        if [ "$SECONDS" -ge "$deadline" ]; then
            for pid in "${pids[@]}"; do
                echo "pid $pid still running after ${STOP_TIMEOUT} s: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            done
            break
        fi
        sleep 0.1
    done
    rm -f "$DIR"/node[1-9].pid
}

cmd_clean() {
    [ -e "$DIR" ] || return 0
    # Only a folder this script made: it has cluster.env, or nothing but our files.
    if [ ! -f "$DIR/cluster.env" ] && [ -n "$(ls -A "$DIR")" ]; then
        die "$DIR was not made by $PROG (no cluster.env): not removing it"
    fi
    cmd_stop
    rm -rf -- "$DIR"
    echo "removed $DIR"
}

[ $# -ge 1 ] || bad_usage
cmd=$1
shift
case "$cmd" in
start) [ $# -le 2 ] || bad_usage; cmd_start "$@" ;;
status) [ $# -eq 0 ] || bad_usage; cmd_status ;;
logs) [ $# -le 1 ] || bad_usage; cmd_logs "$@" ;;
stop) [ $# -eq 0 ] || bad_usage; cmd_stop ;;
clean) [ $# -eq 0 ] || bad_usage; cmd_clean ;;
-h | --help | help) usage ;;
*) bad_usage ;;
esac
