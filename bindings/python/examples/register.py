"""register SERVER_URL SERVICE_ID INSTANCE_ID PORT

Registers one instance (ip 127.0.0.1 unless ARTEMIS_IP is set), keeps it alive with the SDK's
auto-heartbeat, prints "registered" once a server holds the lease, runs until SIGTERM or
SIGINT, then deregisters and exits 0. Exit 1: the client could not start; 2: wrong arguments.
"""

import os
import signal
import sys

import artemis
from _common import Stop, catch_signals, client


def main(argv):
    if len(argv) != 5:
        print("usage: %s SERVER_URL SERVICE_ID INSTANCE_ID PORT" % argv[0], file=sys.stderr)
        return 2
    catch_signals()
    try:
        c = client("register", argv[1])
        try:
            port = int(argv[4])
        except ValueError:
            port = 0
        try:
            reg = c.register(argv[2], argv[3], os.environ.get("ARTEMIS_IP", "127.0.0.1"), port)
        except artemis.InvalidArgument:
            print("register: bad instance arguments", file=sys.stderr)
            c.close()
            return 2
        while not reg.wait(3600):
            pass
        print("registered", flush=True)
        while True:
            signal.pause()
    except Stop:
        pass
    c.close()  # deregisters, bounded by the request timeout
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
