"""What the three examples share: the client from the command line and the environment, and
SIGTERM/SIGINT as an exception in the main thread (the same contract as examples/*.c)."""

import os
import signal
import sys

import artemis


class Stop(Exception):
    """SIGTERM or SIGINT arrived."""


def _on_signal(sig, frame):
    # Once is enough: a second signal during the shutdown must not interrupt it.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Stop()


def catch_signals():
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def client(prog, url, cache=False):
    """A started client for url, configured from ARTEMIS_* like the C examples; exits 2 for a
    bad URL or bad TLS/token settings, 1 when the client cannot start."""
    env = os.environ
    hb = env.get("ARTEMIS_HEARTBEAT_MS")
    try:
        return artemis.Client(
            url,
            heartbeat_interval=int(hb) / 1000 if hb else None,
            cache_dir=env.get("ARTEMIS_CACHE_DIR") if cache else None,
            # The token from the environment, not argv: `ps` shows every argument.
            token=env.get("ARTEMIS_TOKEN"),
            ca_file=env.get("ARTEMIS_CA_FILE"),
            cert_file=env.get("ARTEMIS_CERT_FILE"),
            key_file=env.get("ARTEMIS_KEY_FILE"),
        )
    except (artemis.InvalidArgument, ValueError) as e:
        print("%s: bad server URL '%s' or ARTEMIS_* setting: %s" % (prog, url, e), file=sys.stderr)
        sys.exit(2)
    except artemis.ArtemisError as e:
        print("%s: %s" % (prog, e.detail), file=sys.stderr)
        sys.exit(1)
