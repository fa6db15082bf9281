"""Access tokens (docs/security.md): --auth.tokens-file, --auth.open-scopes, the scope of each
path, 401/403 with an Artemis responseStatus body, SIGHUP reload, a bad file at start, and
replication only from peers (--cluster.token). This module starts its own servers."""

import os
import signal
import time

from lib import http, server, ws
from lib.cluster import Cluster, wait_until
from lib.util import Api, check, eq, instance, instances_req

SERVER = False

ADMIN = "admin-tok-0123456789abcdef"
OPER = "oper-tok-0123456789abcdef"
DISC = "disc-tok-0123456789abcdef"
PEER = "peer-tok-0123456789abcdef"
LATER = "later-tok-0123456789abcdef"

TOKENS = """# integration test tokens
%s admin
%s operate
%s discover

%s replicate
""" % (ADMIN, OPER, DISC, PEER)


def _tokens_file(ctx, text, name="tok"):
    tmp = server.Server([], name=name)  # only for a temporary directory
    ctx.defer(tmp.cleanup)
    path = os.path.join(tmp.tmpdir, "tokens")
    with open(path, "w") as f:
        f.write(text)
    return path


def _start(ctx, extra):
    srv = server.Server(extra, name="auth")
    ctx.defer(srv.cleanup)
    srv.start()
    ctx.server = srv
    return srv


def _bearer(tok):
    return [("Authorization", "Bearer %s" % tok)]


def _refused(r, status, what):
    eq(r.status, status, "%s: HTTP status (%r)" % (what, r.body[:200]))
    rs = r.json().get("responseStatus") or {}
    eq(rs.get("errorCode"), "no-permission", "%s: errorCode" % what)
    eq(rs.get("status"), "fail", "%s: status" % what)
    if status == 401:
        check((r.header("WWW-Authenticate") or "").startswith("Bearer"), "%s: WWW-Authenticate" % what)


OP_BODY = {"operation": "pullout", "operationComplete": True, "instanceKey": None, "operatorId": "it", "token": None}


def test_scopes_of_paths(ctx):
    path = _tokens_file(ctx, TOKENS)
    srv = _start(ctx, ["--auth.tokens-file=%s" % path])
    c = http.Client(srv.port)
    ctx.defer(c.close)
    api = Api(c)
    # Java-style register and lookup without a token: register and discover are open.
    a = instance("auth.svc", "a1")
    api.must_register(a)
    eq(api.lookup("auth.svc"), [a], "lookup without a token")
    r = c.post("/api/registry/unregister.json", instances_req(a))
    eq(r.status, 200, "unregister without a token (register scope open)")
    # A wrong token is refused even on an open path: misconfiguration shows.
    _refused(c.post("/api/registry/register.json", instances_req(a), headers=_bearer("wrong-0123456789abcdefg")),
             401, "register with an unknown token")
    # Management needs operate.
    mg = "/api/management/operate-instance.json"
    _refused(c.post(mg, OP_BODY), 401, "management without a token")
    _refused(c.post(mg, OP_BODY, headers=_bearer(DISC)), 403, "management with a discover token")
    r = c.post(mg, OP_BODY, headers=_bearer(OPER))
    check(r.status not in (401, 403), "management with operate: %d %r" % (r.status, r.body[:200]))
    r = c.post(mg, OP_BODY, headers=_bearer(ADMIN))
    check(r.status not in (401, 403), "admin implies operate: %d" % r.status)
    # Replication needs replicate: a plain client cannot write as a peer.
    rp = "/api/replication/registry/register.json"
    _refused(c.post(rp, instances_req(a)), 401, "replication without a token")
    _refused(c.post(rp, instances_req(a), headers=_bearer(OPER)), 403, "replication with operate")
    eq(api.lookup("auth.svc"), [], "the refused replication wrote nothing")
    # Status needs admin, node.json replicate.
    _refused(c.get("/api/status/config.json"), 401, "config.json without a token")
    _refused(c.get("/api/status/config.json", headers=_bearer(PEER)), 403, "config.json with replicate")
    r = c.get("/api/status/config.json", headers=_bearer(ADMIN))
    eq(r.status, 200, "config.json with admin")
    body = r.text()
    for tok in (ADMIN, OPER, DISC, PEER):
        check(tok not in body, "config.json shows a token")
    eq(c.get("/api/status/node.json", headers=_bearer(PEER)).status, 200, "node.json with replicate")
    # Open paths.
    eq(c.get("/health").status, 200, "/health open")
    m = c.get("/metrics")
    eq(m.status, 200, "/metrics open")
    text = m.text()
    check('artemis_auth_refused_total{reason="missing"}' in text, "refusal counter")
    for line in text.splitlines():
        if line.startswith('artemis_auth_refused_total{reason="scope"}'):
            check(int(line.split()[-1]) >= 3, "scope refusals counted: %s" % line)
    logs = open(srv.log_path, "rb").read().decode("utf-8", "replace")
    for tok in (ADMIN, OPER, DISC, PEER):
        check(tok not in logs, "a token appears in the log")


def test_websocket_honours_discover(ctx):
    path = _tokens_file(ctx, TOKENS)
    srv = _start(ctx, ["--auth.tokens-file=%s" % path, "--auth.open-scopes=register"])
    c = http.Client(srv.port)
    ctx.defer(c.close)
    _refused(c.post("/api/discovery/lookup.json", {"discoveryConfigs": []}), 401, "lookup with discover closed")
    try:
        w = ws.WebSocket(srv.port, "/ws/discovery/instance-change")
        w.abort()
        check(False, "WebSocket upgrade without a token was accepted")
    except ws.WsError as e:
        check("401" in str(e), "upgrade refused with 401: %s" % e)
    w = ws.WebSocket(srv.port, "/ws/discovery/instance-change", extra_headers=[("Authorization", "Bearer " + DISC)])
    ctx.defer(w.abort)
    w.send_json({"serviceId": "auth.ws"})
    # Browsers cannot set headers on a WebSocket: access_token= on upgrades only.
    w2 = ws.WebSocket(srv.port, "/ws/discovery/instance-change?access_token=" + DISC)
    ctx.defer(w2.abort)
    try:
        w3 = ws.WebSocket(srv.port, "/ws/discovery/instance-change", extra_headers=[("Authorization", "Bearer " + OPER)])
        w3.abort()
        check(False, "upgrade with an operate-only token was accepted")
    except ws.WsError as e:
        check("403" in str(e), "upgrade with the wrong scope refused with 403: %s" % e)
    # register stays open: the heartbeat session needs no token.
    w4 = ws.WebSocket(srv.port, "/ws/registry/heartbeat")
    ctx.defer(w4.abort)


def test_sighup_reloads_tokens(ctx):
    path = _tokens_file(ctx, TOKENS)
    srv = _start(ctx, ["--auth.tokens-file=%s" % path])
    c = http.Client(srv.port)
    ctx.defer(c.close)
    cfg = "/api/status/config.json"
    _refused(c.get(cfg, headers=_bearer(LATER)), 401, "a token not yet in the file")
    eq(c.get(cfg, headers=_bearer(ADMIN)).status, 200, "admin before reload")
    with open(path, "w") as f:
        f.write("%s admin\n" % LATER)
    srv.signal(signal.SIGHUP)
    wait_until(lambda: c.get(cfg, headers=_bearer(LATER)).status == 200, 3.0, what="the new token works")
    _refused(c.get(cfg, headers=_bearer(ADMIN)), 401, "a removed token")
    # A bad file on reload keeps the old tokens and the server.
    with open(path, "w") as f:
        f.write("%s no-such-scope\n" % ADMIN)
    srv.signal(signal.SIGHUP)
    time.sleep(0.3)
    check(srv.alive(), "server exited after a bad tokens file on reload")
    eq(c.get(cfg, headers=_bearer(LATER)).status, 200, "old tokens kept after a bad reload")
    logs = open(srv.log_path, "rb").read().decode("utf-8", "replace")
    check("auth.tokens-file" in logs and "line 1" in logs, "the failed reload is logged: %s" % logs[-400:])
    check(ADMIN not in logs and LATER not in logs, "a token appears in the log")


def test_bad_tokens_file_exits_2(ctx):
    port = server.free_port()
    for text, want in (
        ("# ok\n%s admin\n%s bogus\n" % (ADMIN, OPER), "line 3"),
        ("%s\n" % ADMIN, "line 1"),
        ("%s admin\n%s discover\n" % (ADMIN, ADMIN), "line 2"),
    ):
        path = _tokens_file(ctx, text, name="badtok")
        code, out, err = server.run_once(
            ["--listen=127.0.0.1:%d" % port, "--auth.tokens-file=%s" % path,
             "--data-dir=%s" % os.path.dirname(path)], timeout=10.0)
        lines = [l for l in err.splitlines() if l.strip()]
        eq(code, 2, "exit status with a bad tokens file (%r)" % err[:300])
        eq(len(lines), 1, "one line on stderr: %r" % err[:400])
        check("auth.tokens-file" in lines[0] and want in lines[0], "names the key and line: %r" % lines[0])
        check(ADMIN not in err + out and OPER not in err + out, "the token is printed: %r" % err)
    code, out, err = server.run_once(
        ["--listen=127.0.0.1:%d" % port, "--auth.open-scopes=register,replicate"], timeout=10.0)
    eq(code, 2, "open-scopes with replicate refused (%r)" % err[:300])
    check("auth.open-scopes" in err, "names the key: %r" % err)
    code, out, err = server.run_once(
        ["--listen=127.0.0.1:%d" % port, "--auth.tokens-file=/nonexistent/tokens"], timeout=10.0)
    eq(code, 2, "missing tokens file (%r)" % err[:300])


def test_cluster_replicates_with_token(ctx):
    path = _tokens_file(ctx, TOKENS)
    cl = Cluster(n=2, extra_args=["--auth.tokens-file=%s" % path, "--cluster.token=%s" % PEER])
    ctx.defer(cl.cleanup)
    cl.start()
    ctx.server = cl[0]
    a, b = Api(http.Client(cl[0].port)), Api(http.Client(cl[1].port))
    ctx.defer(a.c.close)
    ctx.defer(b.c.close)
    inst = instance("auth.repl", "r1")
    a.must_register(inst)
    wait_until(lambda: b.lookup("auth.repl") == [inst], 5.0, what="replicated to node 1")
    # A foreign client cannot write through the replication path.
    foreign = instance("auth.repl", "evil", zone="other-zone")
    r = b.c.post("/api/replication/registry/register.json", instances_req(foreign))
    _refused(r, 401, "foreign replication write")
    eq(b.lookup("auth.repl"), [inst], "nothing written by the foreign client")
    # Both nodes are up for each other: node.json polling carries the token.
    r = b.c.get("/api/status/cluster.json", headers=_bearer(ADMIN))
    eq(r.status, 200, "cluster.json with admin")
    body = r.text()
    check(PEER not in body, "cluster.json shows the cluster token")
    cfg = b.c.get("/api/status/config.json", headers=_bearer(ADMIN)).json()
    text = str(cfg)
    check(PEER not in text and "***" in text, "cluster.token is masked in config.json")
