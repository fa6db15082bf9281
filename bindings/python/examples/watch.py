"""watch SERVER_URL SERVICE_ID

Prints the lookup example's JSON line at start and again every time the SDK's cached view of
the service changes, until SIGTERM or SIGINT; then exits 0.
"""

import sys

import artemis
from _common import Stop, catch_signals, client


def main(argv):
    if len(argv) != 3:
        print("usage: %s SERVER_URL SERVICE_ID" % argv[0], file=sys.stderr)
        return 2
    catch_signals()
    try:
        c = client("watch", argv[1], cache=True)
        try:
            views = c.watch(argv[2])
        except artemis.ArtemisError as e:
            print("watch: %s" % e.detail, file=sys.stderr)
            c.close()
            return 1
        # A slow reader skips intermediate views, never the latest one.
        for view in views:
            print(view.to_json(), flush=True)
    except Stop:
        pass
    c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
