"""lookup SERVER_URL SERVICE_ID

Prints the service's instances as one JSON line
  {"serviceId":"...","instances":[{"instanceId":"...","ip":"...","port":N,"status":"..."},...]}
and exits 0; exits 1 with a message on stderr when no server can be reached (unless a disk
snapshot in ARTEMIS_CACHE_DIR still has the service: then that view is printed).
"""

import sys

import artemis
from _common import client


def main(argv):
    if len(argv) != 3:
        print("usage: %s SERVER_URL SERVICE_ID" % argv[0], file=sys.stderr)
        return 2
    c = client("lookup", argv[1], cache=True)
    with c:
        try:
            svc = c.lookup(argv[2], timeout=3.0)
        except artemis.ArtemisError as e:
            print("lookup: cannot reach %s: %s" % (argv[1], e.detail), file=sys.stderr)
            return 1
        if svc.stale:
            print("lookup: server unreachable; cached view %d ms old" % svc.age_ms, file=sys.stderr)
        print(svc.to_json(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
