"""Start-up refusals of artemis-server and artemis-sidecar (docs/operations.md "Exit status",
docs/sidecar.md): a config path that is not a regular file or is too big, a listen address
that is a host name, a data-dir that is a file, an unknown ARTEMIS_SIDECAR_* variable. Each
must stop the start at once with exactly one line on stderr naming the culprit and exit
status 2. Every process is run to completion with a timeout, so a regression that reads
/dev/zero for ever or blocks on a FIFO fails here instead of hanging. This module starts its
own processes."""

import os
import resource
import shutil
import subprocess
import tempfile

from lib import http, server
from lib.util import check

SERVER = False

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MAX_CONFIG_BYTES = 1 << 20  # the config-file cap of both programs


def sidecar_binary():
    path = os.environ.get("ARTEMIS_SIDECAR") or os.path.join(ROOT, "build", "bin", "artemis-sidecar")
    if not os.access(path, os.X_OK):
        raise AssertionError("sidecar %s does not exist (run `make`, or set ARTEMIS_SIDECAR)" % path)
    return path


def _sanitized(binary):
    """ASan/TSan reserve terabytes of address space, so no RLIMIT_AS can be put on them."""
    with open(binary, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


def _run(argv, env=None, timeout=8.0):
    """Run to completion; (exit status, stderr lines). A plain binary gets a 1 GiB address-space
    cap so that a regression reading /dev/zero without bound fails fast instead of eating the
    machine's memory; the timeout (the child is killed) turns a hang into a failure."""
    cap = None if _sanitized(argv[0]) else (lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)))
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARTEMIS_SIDECAR_")}
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=env, preexec_fn=cap)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s did not exit within %.0f s" % (" ".join(argv[1:]), timeout))
    err = p.stderr.decode("utf-8", "replace")
    return p.returncode, [l for l in err.splitlines() if l.strip()]


def _refused(argv, names, env=None):
    """argv must exit 2 with exactly one stderr line that contains every string in names."""
    code, lines = _run(argv, env=env)
    what = " ".join(argv[1:])
    check(code == 2, "%s: exit status %s (want 2); stderr %r" % (what, code, lines[:5]))
    check(len(lines) == 1, "%s: want exactly one line on stderr, got %d: %r" % (what, len(lines), lines[:5]))
    for n in names:
        check(n in lines[0], "%s: the error line should name %r: %r" % (what, n, lines[0]))
    check("Success" not in lines[0], "%s: an error reported as 'Success': %r" % (what, lines[0]))
    return lines[0]


def _tmpdir(ctx):
    d = tempfile.mkdtemp(prefix="artemis-it-startup-")
    ctx.defer(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def _server(args):
    return [server.binary_path(), "--listen=127.0.0.1:%d" % server.free_port()] + list(args)


def _sidecar(args):
    return [sidecar_binary(), "--app.service_id=startup.svc", "--app.port=1",
            "--dns.listen=127.0.0.1:%d" % server.free_port(),
            "--http.listen=127.0.0.1:%d" % server.free_port()] + list(args)


def _special_configs(ctx):
    """(path, words the error must contain) for config paths that are not a regular file or are
    too big to be one."""
    d = _tmpdir(ctx)
    fifo = os.path.join(d, "fifo.conf")
    os.mkfifo(fifo)
    big = os.path.join(d, "big.conf")
    with open(big, "w") as f:  # valid comment lines, one byte over the cap
        line = "#" + "x" * 1022 + "\n"
        f.write(line * (MAX_CONFIG_BYTES // len(line)) + "\n")
    return [("/dev/zero", ["/dev/zero", "not a regular file"]),
            (fifo, [fifo, "not a regular file"]),
            (d, [d, "not a regular file"]),
            (big, [big, "larger than %d bytes" % MAX_CONFIG_BYTES])]


# ---- artemis-server ------------------------------------------------------------------------

def test_server_config_not_a_regular_file(ctx):
    for path, words in _special_configs(ctx):
        _refused(_server(["--config=%s" % path]), words)


def test_server_listen_host_name(ctx):
    """Only an address literal is bound; a host name used to fail after the start looked fine,
    with a second line ending in ": Success" and exit status 1."""
    for addr in ("localhost:%d" % server.free_port(), "no-such-host.invalid:80", "[fe80::1%lo]:80"):
        _refused(_server(["--listen=%s" % addr]), ["--listen", addr, "not a host name"])
    d = _tmpdir(ctx)
    conf = os.path.join(d, "artemis.conf")
    with open(conf, "w") as f:
        f.write("listen = localhost:8080\n")
    _refused([server.binary_path(), "--config=%s" % conf], ["%s:1" % conf, "listen", "not a host name"])


def test_server_data_dir(ctx):
    d = _tmpdir(ctx)
    f = os.path.join(d, "a-file")
    with open(f, "w") as fh:
        fh.write("not a directory\n")
    _refused(_server(["--data-dir=%s" % f]), ["data-dir", f, "is not a directory"])
    _refused(_server(["--data-dir=%s/sub" % f]), ["data-dir", f, "is not a directory"])
    # A data-dir that does not exist yet is fine: it is created when first needed.
    srv = server.Server(["--data-dir=%s" % os.path.join(d, "not", "yet")], name="startup")
    ctx.defer(srv.cleanup)
    srv.start()
    ctx.server = srv
    http.wait_http_ok(srv.port, "/health", timeout=3.0)
    code = srv.stop(5.0)
    check(code == 0, "exit status after SIGTERM: %s" % code)


# ---- artemis-sidecar -----------------------------------------------------------------------

def test_sidecar_config_not_a_regular_file(ctx):
    for path, words in _special_configs(ctx):
        _refused(_sidecar(["--config", path]), words)


def test_sidecar_unknown_env_variable(ctx):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTEMIS_SIDECAR_")}
    for name in ("ARTEMIS_SIDECAR_APP_SERVICEID", "ARTEMIS_SIDECAR_APP_METADATA_OWNER", "ARTEMIS_SIDECAR_"):
        e = dict(env, **{name: "x"})
        _refused(_sidecar([]), [name + ":", "unknown environment variable"], env=e)
    # Every documented variable is known: with all of them set (and a bad port so the sidecar
    # stops before binding), the error is about the port, not about a variable name.
    known = {
        "SERVER": "http://127.0.0.1:1", "REGION": "r", "ZONE": "z", "APP_SERVICE_ID": "env.svc",
        "APP_INSTANCE_ID": "i1", "APP_IP": "127.0.0.1", "APP_PORT": "bad", "APP_PROTOCOL": "http",
        "APP_URL": "http://127.0.0.1:1/", "APP_HEALTH_CHECK_URL": "", "APP_HEALTH_CHECK_INTERVAL_MS": "1000",
        "APP_METADATA": "k=v", "DNS_LISTEN": "127.0.0.1:1", "DNS_DOMAIN": "artemis", "DNS_TTL": "5",
        "HTTP_LISTEN": "127.0.0.1:1",
    }
    e = dict(env, **{"ARTEMIS_SIDECAR_" + k: v for k, v in known.items()})
    _refused([sidecar_binary()], ["app.port", "ARTEMIS_SIDECAR_APP_PORT"], env=e)
    # ARTEMIS_SIDECAR (no underscore: the test harness's binary path) is not in the namespace.
    e = dict(env, ARTEMIS_SIDECAR="/nowhere", ARTEMIS_SIDECAR_APP_SERVICE_ID="x", ARTEMIS_SIDECAR_APP_PORT="0")
    _refused([sidecar_binary()], ["app.port"], env=e)
