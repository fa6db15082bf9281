#!/bin/sh
# Three artemis-server nodes on loopback (ports 8081-8083, zone sha-z1), the `make cluster`
# of docs/cluster.md. Usage: docker/cluster-local.sh start|stop|status
# PIDs and logs live in $DIR (default /tmp/artemis-cluster); stop kills those PIDs only.
set -eu
BIN=${ARTEMIS_SERVER:-build/bin/artemis-server}
DIR=${DIR:-/tmp/artemis-cluster}
PEERS="sha-z1:http://127.0.0.1:8081/,http://127.0.0.1:8082/,http://127.0.0.1:8083/"
case "${1:-}" in
start)
    mkdir -p "$DIR"
    for n in 1 2 3; do
        "$BIN" --listen=127.0.0.1:808$n --node-url=http://127.0.0.1:808$n/ --region=sha \
            --zone=sha-z1 --peers="$PEERS" --data-dir="$DIR/data$n" >"$DIR/node$n.log" 2>&1 &
        echo $! >"$DIR/node$n.pid"
    done
    for n in 1 2 3; do
        i=0
        until curl -fs http://127.0.0.1:808$n/health >/dev/null; do
            i=$((i + 1)); [ $i -lt 100 ] || { echo "node$n not ready"; exit 1; }; sleep 0.1
        done
        echo "node$n ready on http://127.0.0.1:808$n/"
    done ;;
stop)
    for n in 1 2 3; do
        [ -f "$DIR/node$n.pid" ] && kill "$(cat "$DIR/node$n.pid")" 2>/dev/null || true
        rm -f "$DIR/node$n.pid"
    done ;;
status)
    curl -s http://127.0.0.1:8081/api/status/cluster.json; echo ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
