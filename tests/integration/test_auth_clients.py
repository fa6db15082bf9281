"""The clients send access tokens (docs/security.md "Access tokens", issue 14 item 2):
artemisctl (--auth-token, $ARTEMIS_TOKEN), the SDK through its example programs
($ARTEMIS_TOKEN), the sidecar (`token =`), each against a server started with a tokens file,
and refused with one clear line without the token. This module starts its own servers."""

import os
import subprocess

from lib import http, server
from lib.util import Api, check, eq, instance

SERVER = False

OPER = "oper-tok-0123456789abcdef"
CLIENT = "client-tok-0123456789abcdef"
ADMIN = "admin-tok-0123456789abcdef"

TOKENS = """# test_auth_clients tokens
%s operate
%s register,discover
%s admin
""" % (OPER, CLIENT, ADMIN)


def _start(ctx, extra=()):
    srv = server.Server(["--region=default", "--zone=default"] + list(extra), name="authc")
    ctx.defer(srv.cleanup)
    path = os.path.join(srv.tmpdir, "tokens")
    with open(path, "w") as f:
        f.write(TOKENS)
    srv.extra_args.append("--auth.tokens-file=%s" % path)
    srv.start()
    return srv


def _env(**kw):
    e = {k: v for k, v in os.environ.items() if k not in ("ARTEMIS_SERVER", "ARTEMIS_TOKEN")}
    e.update(kw)
    return e


def _ctl(srv, *args, env=None):
    from test_artemisctl import ctl_path
    argv = [ctl_path(), "--server", "http://127.0.0.1:%d" % srv.port] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=15, env=env or _env())


def _one_line(p, want, what):
    lines = p.stderr.strip().splitlines()
    eq(len(lines), 1, "%s: one stderr line (%r)" % (what, p.stderr))
    check(want in lines[0], "%s: %r in %r" % (what, want, lines[0]))


def test_artemisctl_token(ctx):
    srv = _start(ctx)
    c = http.Client(srv.port)
    ctx.defer(c.close)
    a = instance("authc.svc", "a1", region="default", zone="default")
    Api(c).must_register(a)  # register stays open by default
    pull = ("pull-out", "instance", "authc.svc", "a1", "--operator", "it", "--reason", "token test")
    p = _ctl(srv, *pull)
    eq(p.returncode, 1, "pull-out without a token: exit (%r)" % p.stderr)
    _one_line(p, "server said no: a token with scope operate is required", "pull-out without a token")
    p = _ctl(srv, "--auth-token", CLIENT, *pull)
    eq(p.returncode, 1, "pull-out with a token without operate: exit (%r)" % p.stderr)
    _one_line(p, "server said no: the token does not grant scope operate", "pull-out, wrong scope")
    check(CLIENT not in p.stderr, "the token is not printed")
    p = _ctl(srv, "--auth-token", OPER, *pull)
    eq(p.returncode, 0, "pull-out with --auth-token (%r)" % p.stderr)
    p = _ctl(srv, "--json", "service", "authc.svc", env=_env(ARTEMIS_TOKEN=OPER))
    eq(p.returncode, 0, "service with $ARTEMIS_TOKEN (%r)" % p.stderr)
    check('"down"' in p.stdout, "the instance is pulled out: %r" % p.stdout)
    p = _ctl(srv, "pull-in", "instance", "authc.svc", "a1", "--operator", "it", env=_env(ARTEMIS_TOKEN=OPER))
    eq(p.returncode, 0, "pull-in with $ARTEMIS_TOKEN (%r)" % p.stderr)
    # A wrong token is refused even where the scope is open (lookup is open here).
    p = _ctl(srv, "--auth-token", "wrong-0123456789abcdefgh", "cluster")
    eq(p.returncode, 1, "cluster with an unknown token: exit (%r)" % p.stderr)
    eq(len(p.stderr.strip().splitlines()), 1, "one stderr line (%r)" % p.stderr)
    p = _ctl(srv, "--auth-token", "bad token", "services")
    eq(p.returncode, 2, "a token with a space is a usage error (%r)" % p.stderr)
