"""The clients send access tokens (docs/security.md "Access tokens", issue 14 item 2):
artemisctl (--auth-token, $ARTEMIS_TOKEN), the SDK through its example programs
($ARTEMIS_TOKEN), the sidecar (`token =`), each against a server started with a tokens file,
and refused with one clear line without the token. This module starts its own servers."""

import os
import subprocess
import time

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


def test_sdk_examples_closed_server(ctx):
    from lib.sdk import Examples, parse_line, sdk_env
    srv = _start(ctx, ["--auth.open-scopes="])  # nothing open: every client needs its token
    ex = Examples(ctx)
    url = "http://127.0.0.1:%d" % srv.port
    # Without the token: never registered, and lookup fails (nothing printed on stdout).
    bare = ex.register("authc.sdk", "s-0", 9100, url=url, env=sdk_env())
    bare.no_line(2.0)
    code, out, err = ex.lookup("authc.sdk", url=url, env=sdk_env(), timeout=15)
    check(code != 0 and not out, "lookup without a token: exit %s, stdout %r" % (code, out))
    check(CLIENT not in err, "no token in the message")
    bare.kill()
    # With it: registered (register scope), heartbeats over the WebSocket, and found.
    reg = ex.register_ok("authc.sdk", "s-1", 9101, url=url, env=sdk_env(ARTEMIS_TOKEN=CLIENT), timeout=10)
    time.sleep(1.5)  # a few heartbeats: the heartbeat WebSocket is refused without the token
    code, out, err = ex.lookup("authc.sdk", url=url, env=sdk_env(ARTEMIS_TOKEN=CLIENT), timeout=15)
    eq(code, 0, "lookup with ARTEMIS_TOKEN (%r)" % err)
    got = parse_line(out)
    eq([i["instanceId"] for i in got["instances"]], ["s-1"], "lookup with ARTEMIS_TOKEN: %r" % out)
    eq(got["instances"][0]["status"], "up", "the instance is up")
    code = reg.terminate()
    eq(code, 0, "register exits 0 after SIGTERM (unregistered with the token)")
    code, out, err = ex.lookup("authc.sdk", url=url, env=sdk_env(ARTEMIS_TOKEN=CLIENT), timeout=15)
    eq(parse_line(out)["instances"], [], "unregistered")
    # The watch example subscribes over the WebSocket with the token.
    w = ex.watch("authc.sdk", url=url, env=sdk_env(ARTEMIS_TOKEN=CLIENT))
    w.next_line(10.0, "watch's first line")
    ex.register_ok("authc.sdk", "s-2", 9102, url=url, env=sdk_env(ARTEMIS_TOKEN=CLIENT), timeout=10)
    w.wait_line(lambda s: "s-2" in s, 5.0, "watch sees s-2")
    # artemisctl watch on the closed server: refused without the token, one line, exit 1.
    p = _ctl(srv, "--region", "default", "--zone", "default", "watch", "authc.sdk")
    eq(p.returncode, 1, "watch without a token (%r)" % p.stderr)
    eq(len(p.stderr.strip().splitlines()), 1, "one stderr line (%r)" % p.stderr)


class _SidecarCtx:
    """What test_sidecar.Sidecar needs of a ctx, pointing at this module's own server."""

    def __init__(self, ctx, port):
        self.port = port
        self.defer = ctx.defer


def test_sidecar_token_closed_server(ctx):
    from test_sidecar import App, Sidecar
    srv = _start(ctx, ["--auth.open-scopes="])
    sctx = _SidecarCtx(ctx, srv.port)  # the Sidecar helper points its config at ctx.port
    app = App()
    ctx.defer(app.close)
    sc = Sidecar(sctx, "authc.side", app.port, extra={"token": CLIENT, "region": "default", "zone": "default"})
    c = http.Client(srv.port)
    ctx.defer(c.close)
    hdr = [("Authorization", "Bearer %s" % CLIENT)]
    body = {"regionId": "default", "zoneId": "default", "discoveryConfigs": [{"serviceId": "authc.side"}]}

    def found():
        r = c.post("/api/discovery/lookup.json", body, headers=hdr)
        svcs = r.json().get("services") or [] if r.status == 200 else []
        return svcs and [i["instanceId"] for i in svcs[0].get("instances") or []] == [sc.instance_id]

    from lib.cluster import wait_until
    wait_until(found, 10.0, 0.1, "the sidecar registered its app with its token")
    check(CLIENT not in sc.log_tail(), "the token is not logged")
    # Without the token the sidecar cannot register (a second app on the same server).
    app2 = App()
    ctx.defer(app2.close)
    sc2 = Sidecar(sctx, "authc.side2", app2.port, extra={"region": "default", "zone": "default"})
    time.sleep(2.0)
    body["discoveryConfigs"] = [{"serviceId": "authc.side2"}]
    r = c.post("/api/discovery/lookup.json", body, headers=hdr)
    svcs = r.json().get("services") or []
    check(not svcs or not svcs[0].get("instances"), "registered without a token: %r" % r.body[:300])
    check(sc2.proc.poll() is None, "the sidecar keeps running (and retrying)")
    # A bad token value is a configuration error that does not echo it.
    p = subprocess.run([__import__("test_sidecar").sidecar_binary(), "--token=bad token value",
                        "--app.service_id=x", "--app.port=1"], capture_output=True, text=True, timeout=10)
    eq(p.returncode, 2, "a token with spaces: exit 2 (%r)" % p.stderr)
    check("token" in p.stderr and "bad token value" not in p.stderr, "names the key, not the value: %r" % p.stderr)
