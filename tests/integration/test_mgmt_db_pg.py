"""The management store's PostgreSQL driver (server/mgmt_db_pg.c) against a real PostgreSQL:
a throwaway cluster (lib/pg.py) and the C test program tests/pg/test_mgmt_db_pg.c, found under
ARTEMIS_TEST_BIN_DIR (make check-integration sets it).

- the scenarios the SQLite unit test runs, plus notification between connections and wake_fd;
- an outage: the program holds a connection while the cluster is stopped (fast shutdown) and
  started again on the same port; exec fails, srv_mg_db_ok turns 0, wait returns -1, and
  srv_mg_db_reconnect succeeds once the server is back. The URI carries a password (trust
  authentication ignores it) that no error text may show.

No artemis-server here (SERVER = False).
"""

import os
import subprocess

from lib import pg

SERVER = False


def _binary():
    d = os.environ.get("ARTEMIS_TEST_BIN_DIR")
    if not d:
        raise AssertionError("ARTEMIS_TEST_BIN_DIR is not set (make check-integration sets it to "
                             "$(BUILD)/tests)")
    path = os.path.join(d, "pg", "test_mgmt_db_pg")
    if not os.access(path, os.X_OK):
        raise AssertionError("%s is missing: make BUILD=... %s" % (path, path))
    return path


def _cluster(ctx, name):
    c = pg.Cluster(name=name)
    ctx.defer(c.cleanup)
    c.start()
    return c


def _env(uri, password=None):
    env = dict(os.environ)
    env["ARTEMIS_TEST_PG_URI"] = uri
    if password:
        env["ARTEMIS_TEST_PG_PASSWORD"] = password
    return env


def _tail(text, n=40):
    return "\n".join(text.splitlines()[-n:])


def test_driver_scenarios(ctx):
    binary = _binary()
    c = _cluster(ctx, "mgdb")
    p = subprocess.run([binary], env=_env(c.uri), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=100)
    out = p.stdout.decode("utf-8", "replace")
    for line in out.splitlines():
        if line.startswith("timing") or line.startswith("notify"):
            print("    " + line, flush=True)
    if p.returncode != 0:
        raise AssertionError("test_mgmt_db_pg exited %d:\n%s\npostgres log:\n%s"
                             % (p.returncode, _tail(out), c.log_tail()))


test_driver_scenarios.timeout = 120


def test_without_uri_fails_loudly(ctx):
    env = dict(os.environ)
    env.pop("ARTEMIS_TEST_PG_URI", None)
    p = subprocess.run([_binary()], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=10)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode == 0 or "ARTEMIS_TEST_PG_URI" not in out:
        raise AssertionError("expected a failure naming ARTEMIS_TEST_PG_URI, got %d: %s"
                             % (p.returncode, out))


def test_outage_and_reconnect(ctx):
    binary = _binary()
    c = _cluster(ctx, "mgdb-outage")
    password = "s3cret-Pw"
    uri = "postgresql://%s:%s@127.0.0.1:%d/%s" % (pg.USER, password, c.port, pg.DB_NAME)
    proc = subprocess.Popen([binary, "outage"], env=_env(uri, password), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ctx.defer(lambda: proc.poll() is None and proc.kill())
    lines = []

    def expect(token):
        while True:
            raw = proc.stdout.readline()
            if not raw:
                raise AssertionError("test_mgmt_db_pg outage ended before %s (exit %s):\n%s"
                                     % (token, proc.wait(5), "\n".join(lines[-40:])))
            line = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(line)
            if line == token:
                return

    def say(text):
        proc.stdin.write((text + "\n").encode())
        proc.stdin.flush()

    expect("READY")
    c.stop()
    say("stopped")
    expect("DOWN")
    c.start()
    say("started")
    expect("DONE")
    rest = proc.stdout.read().decode("utf-8", "replace")
    lines.extend(rest.splitlines())
    code = proc.wait(10)
    text = "\n".join(lines)
    for line in lines:
        if "while down" in line:
            print("    " + line, flush=True)
    if code != 0:
        raise AssertionError("outage program exited %d:\n%s" % (code, _tail(text)))
    if password in text:
        raise AssertionError("the password shows in the output:\n%s" % _tail(text))


test_outage_and_reconnect.timeout = 60
