"""Management API (protocol.md §7, all 57 paths under /api/management/) for the end-to-end tests.

Three parts:
* `Mgmt`: one keep-alive client that posts JSON to a management path and returns the parsed
  answer; every answer is checked for Jackson's alphabetical property order (maps aside) and
  recorded per path (`coverage(label)`), so a module can assert every path answered success.
* request builders (instanceKey, serverKey, zoneKey, groups, route rules, operation context...).
* the shared test bodies `s_*(ctx)`: they take a ctx-like object (`.port`, `.client(mode)`,
  `.ws(path)`, `.defer(fn)`, `.server` with stop()/restart()) so the same suite runs against the
  SQLite store (test_management.py) and the PostgreSQL store (test_management_pg.py).

Every body uses its own service ids (suffix `.s` for SQLite, `.p` for PostgreSQL is not needed:
each module has its own database), registers what it needs and leaves no operation behind that
would pull out another body's instances.
"""

import json
import socket
import time

from . import http, ws
from .util import SUCCESS, Api, check, eq, fx, fxj, instance, lookup_req, short, wait_until

P = "/api/management/"

PATHS = [
    # /api/management/
    "operate-instance.json", "operate-server.json", "instance-operations.json", "server-operations.json",
    "all-instance-operations.json", "all-server-operations.json", "instance-down.json", "server-down.json",
    "services.json", "service.json",
    # /api/management/group/
    "group/insert-route-rules.json", "group/update-route-rules.json", "group/delete-route-rules.json",
    "group/get-route-rules.json", "group/get-all-route-rules.json", "group/create-route-rule.json",
    "group/insert-route-rule-groups.json", "group/update-route-rule-groups.json",
    "group/release-route-rule-groups.json", "group/delete-route-rule-groups.json",
    "group/get-route-rule-groups.json", "group/get-all-route-rule-groups.json", "group/insert-groups.json",
    "group/update-groups.json", "group/delete-groups.json", "group/get-groups.json", "group/get-all-groups.json",
    "group/insert-group-tags.json", "group/update-group-tags.json", "group/delete-group-tags.json",
    "group/get-group-tags.json", "group/get-all-group-tags.json", "group/operate-group-operations.json",
    "group/operate-group-operation.json", "group/get-group-operations.json", "group/get-all-group-operations.json",
    "group/insert-group-instances.json", "group/delete-group-instances.json", "group/get-group-instances.json",
    "group/insert-service-instances.json", "group/delete-service-instances.json",
    "group/get-service-instances.json",
    # /api/management/zone/
    "zone/operate-zone-operations.json", "zone/get-all-zone-operations.json", "zone/get-zone-operations.json",
    "zone/get-zone-operations-list.json", "zone/is-zone-down.json",
    # /api/management/canary/
    "canary/update-canary-ips.json",
    # /api/management/log/
    "log/instance-operation-logs.json", "log/server-operation-logs.json", "log/group-operation-logs.json",
    "log/group-logs.json", "log/route-rule-logs.json", "log/route-rule-group-logs.json",
    "log/zone-operation-logs.json", "log/group-instance-logs.json", "log/service-instance-logs.json",
]
assert len(PATHS) == 57 and len(set(PATHS)) == 57

RATE_LIMITED_PATHS = {"group/get-route-rules.json", "group/get-route-rule-groups.json", "group/get-groups.json"}

# Map-valued properties: Jackson does not sort map entries.
MAP_KEYS = {"metadata", "tags", "delta", "discoveryData"}

_COVERAGE = {}


def coverage(label):
    return _COVERAGE.setdefault(label, set())


def st(code, message, status="fail"):
    return {"errorCode": code, "message": message, "status": status}


def bad_request(message):
    return st("bad-request", message)


def ise(message):
    return st("internal-service-error", message)


# ---- answer shape checks ---------------------------------------------------------------------


def check_sorted(text, what="answer"):
    """Every JSON object of text has its properties in alphabetical order (Java String order),
    except map-valued properties (MAP_KEYS) whose entries are in no particular order."""

    def walk(v, parent_key, path):
        if isinstance(v, list):
            if v and isinstance(v[0], tuple):  # an object as pairs
                keys = [k for k, _ in v]
                if parent_key not in MAP_KEYS:
                    check(keys == sorted(keys), "%s: properties of %s not in alphabetical order: %s" % (what, path or "<root>", keys))
                check(len(set(keys)) == len(keys), "%s: duplicate property in %s: %s" % (what, path or "<root>", keys))
                for k, x in v:
                    walk(x, k, path + "." + k)
            else:
                for i, x in enumerate(v):
                    walk(x, parent_key, "%s[%d]" % (path, i))

    # object_pairs_hook: objects become lists of (key, value) tuples; an empty object becomes [].
    obj = json.loads(text, object_pairs_hook=lambda pairs: [tuple(p) for p in pairs])
    walk(obj, None, "")


def is_ms(v):
    return isinstance(v, int) and not isinstance(v, bool) and v > 1_500_000_000_000


# ---- the client -------------------------------------------------------------------------------


def dumps(obj, ascii_only=False):
    if isinstance(obj, (str, bytes)):
        return obj
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ascii_only)


class Mgmt:
    """Management calls over one keep-alive connection."""

    def __init__(self, port, label="default", mode="plain", timeout=8.0):
        self.port = port
        self.label = label
        self.mode = mode
        self.c = http.Client(port, timeout=timeout, mode=mode)
        self.last_text = None

    def close(self):
        self.c.close()

    def raw(self, path, body, mode=None, headers=None):
        """POST; the Response (no checks)."""
        full = path if path.startswith("/") else P + path
        return self.c.post(full, dumps(body), mode=mode, headers=headers)

    def call(self, path, body, mode=None, retry_rate_limit=True):
        """POST, assert HTTP 200 with a JSON object in alphabetical order; the parsed answer.
        A rate-limited answer of the three limited readers is retried for up to 12 s."""
        deadline = time.monotonic() + 12.0
        while True:
            r = self.raw(path, body, mode)
            check(r.status == 200, "POST %s -> HTTP %d %r (request %s)" % (path, r.status, r.body[:300], short(dumps(body), 300)))
            text = r.text()
            self.last_text = text
            doc = r.json()
            check(isinstance(doc, dict), "%s: answer is not an object: %s" % (path, short(text)))
            check_sorted(text, path)
            rs = doc.get("responseStatus")
            if (retry_rate_limit and isinstance(rs, dict) and rs.get("errorCode") == "rate-limited"
                    and path in RATE_LIMITED_PATHS and time.monotonic() < deadline):
                time.sleep(0.5)
                continue
            if isinstance(rs, dict) and rs == SUCCESS:
                coverage(self.label).add(path if not path.startswith("/") else path[len(P):])
            return doc

    def ok(self, path, body, mode=None):
        """call() and assert responseStatus is the canonical success object."""
        doc = self.call(path, body, mode)
        eq(doc.get("responseStatus"), SUCCESS, "%s responseStatus (request %s)" % (path, short(dumps(body), 400)))
        return doc

    def get(self, path_and_query):
        full = path_and_query if path_and_query.startswith("/") else P + path_and_query
        r = self.c.get(full)
        check(r.status == 200, "GET %s -> HTTP %d %r" % (full, r.status, r.body[:300]))
        check_sorted(r.text(), full)
        return r.json()

    # -- typed helpers ------------------------------------------------------------------------

    def operate_instance(self, key, operation="pullout", complete=False, operator="alice", token="t-123", **kw):
        body = {"instanceKey": key, "operation": operation, "operationComplete": complete, "operatorId": operator,
                "token": token}
        body.update(kw)
        return self.ok("operate-instance.json", body)

    def operate_server(self, key, operation="pullout", complete=False, operator="alice", token="t-123"):
        return self.ok("operate-server.json", {"operation": operation, "operationComplete": complete,
                                               "operatorId": operator, "serverKey": key, "token": token})

    def groups_of(self, service_id, **filters):
        body = {"serviceId": service_id}
        body.update(filters)
        doc = self.ok("group/get-groups.json", body)
        gs = doc.get("groups")
        check(isinstance(gs, list), "get-groups groups: %s" % short(doc))
        return gs

    def group_id(self, service_id, name, region="sha", zone="sha-z1"):
        for g in self.groups_of(service_id):
            if (g.get("name"), g.get("regionId"), g.get("zoneId")) == (name, region, zone):
                check(isinstance(g.get("groupId"), int), "groupId of %s: %r" % (name, g.get("groupId")))
                return g["groupId"]
        raise AssertionError("group %s/%s/%s/%s not found by get-groups" % (service_id, region, zone, name))

    def rules_of(self, service_id, **filters):
        body = {"serviceId": service_id}
        body.update(filters)
        doc = self.ok("group/get-route-rules.json", body)
        rs = doc.get("routeRules")
        check(isinstance(rs, list), "get-route-rules routeRules: %s" % short(doc))
        return rs

    def rule_id(self, service_id, name):
        for r in self.rules_of(service_id):
            if r.get("name") == name:
                check(isinstance(r.get("routeRuleId"), int), "routeRuleId: %r" % r.get("routeRuleId"))
                return r["routeRuleId"]
        raise AssertionError("route rule %s/%s not found by get-route-rules" % (service_id, name))

    def rule_groups(self, route_rule_id):
        doc = self.ok("group/get-route-rule-groups.json", {"routeRuleId": route_rule_id})
        rgs = doc.get("routeRuleGroups")
        check(isinstance(rgs, list), "get-route-rule-groups: %s" % short(doc))
        return rgs

    def logs(self, kind, **filters):
        doc = self.ok("log/%s-logs.json" % kind, filters)
        eq(sorted(doc.keys()), ["logs", "responseStatus"], "log answer keys (%s)" % kind)
        check(isinstance(doc["logs"], list), "logs must be a list: %s" % short(doc))
        rows = doc["logs"]
        ids = [r.get("id") for r in rows]
        check(all(isinstance(i, int) for i in ids), "%s-logs ids must be integers: %s" % (kind, ids))
        check(ids == sorted(ids, reverse=True), "%s-logs must be newest first (ids %s)" % (kind, ids))
        return rows


# ---- request builders -------------------------------------------------------------------------


def ctx_fields(operator="it-operator", token="it-token", operation="it-operation", reason="it-reason",
               extensions=None):
    d = {"operatorId": operator, "token": token, "operation": operation, "reason": reason}
    if extensions is not None:
        d["extensions"] = extensions
    return d


def with_ctx(body, **kw):
    out = dict(body)
    out.update(ctx_fields(**kw))
    return out


def instance_key(inst_or_service, instance_id=None, region="sha"):
    if isinstance(inst_or_service, dict):
        i = inst_or_service
        return {"instanceId": i["instanceId"], "regionId": i["regionId"], "serviceId": i["serviceId"]}
    return {"instanceId": instance_id, "regionId": region, "serviceId": inst_or_service}


def server_key(server_id, region="sha"):
    return {"regionId": region, "serverId": server_id}


def zone_key(service_id, zone_id, region="sha"):
    return {"regionId": region, "serviceId": service_id, "zoneId": zone_id}


def group(service_id, name, region="sha", zone="sha-z1", app_id="app-it", status="active", description="d",
          weight=None, **kw):
    g = {"appId": app_id, "description": description, "name": name, "regionId": region, "serviceId": service_id,
         "status": status, "zoneId": zone}
    if weight is not None:
        g["weight"] = weight
    g.update(kw)
    return g


def route_rule(service_id, name, status="active", strategy="weighted-round-robin", description="rule", **kw):
    r = {"description": description, "name": name, "serviceId": service_id, "status": status, "strategy": strategy}
    r.update(kw)
    return r


def group_key(service_id, name, region="sha", zone="sha-z1"):
    return "/".join(p.strip() for p in (service_id, region, zone, name) if p and p.strip()).lower()


def service_instance(service_id, instance_id, ip="10.50.0.1", port=8080, metadata=None, group_id=None, **kw):
    si = {"description": "logical", "groupId": group_id, "healthCheckUrl": "http://%s:%d/health" % (ip, port),
          "instanceId": instance_id, "ip": ip, "machineName": "m-" + instance_id, "metadata": metadata,
          "port": port, "protocol": "http", "regionId": "sha", "serviceId": service_id,
          "url": "http://%s:%d/logic" % (ip, port), "zoneId": "sha-z1"}
    si.update(kw)
    return si


# ---- discovery views --------------------------------------------------------------------------


def lookup_service(c, service_id, mode=None):
    doc = c.post_json("/api/discovery/lookup.json", dumps(lookup_req(service_id)), mode)
    eq(doc.get("responseStatus"), SUCCESS, "lookup responseStatus")
    svcs = doc.get("services")
    check(isinstance(svcs, list) and len(svcs) == 1, "lookup services: %s" % short(doc))
    return svcs[0]


def lookup_ids(c, service_id):
    return {i["instanceId"] for i in (lookup_service(c, service_id).get("instances") or [])}


def service_json_ids(c, service_id):
    doc = c.post_json("/api/discovery/service.json", dumps(
        {"discoveryConfig": {"discoveryData": None, "regionId": None, "serviceId": service_id, "zoneId": None},
         "regionId": "sha", "zoneId": "sha-z1"}))
    eq(doc.get("responseStatus"), SUCCESS, "service.json responseStatus")
    return {i["instanceId"] for i in ((doc.get("service") or {}).get("instances") or [])}


def services_snapshot(c):
    doc = c.post_json("/api/discovery/services.json", '{"regionId":"sha","zoneId":"sha-z1"}')
    eq(doc.get("responseStatus"), SUCCESS, "services.json responseStatus")
    return doc


def snapshot_ids(c, service_id):
    doc = services_snapshot(c)
    for s in doc.get("services") or []:
        if s.get("serviceId") == service_id:
            return doc["version"], {i["instanceId"] for i in (s.get("instances") or [])}
    return doc["version"], set()


def watch(ctx, *service_ids):
    w = ctx.ws("/ws/discovery/instance-change")
    for s in service_ids:
        w.send_json({"discoveryData": None, "regionId": None, "serviceId": s, "zoneId": None})
    w.ping(b"sync")
    return w


def next_change(w, service_id, instance_id, change_type, timeout=3.0):
    """Read pushes until one of change_type for instance_id of service_id arrives (others are
    skipped but must be well-formed); returns it."""
    backlog = w.__dict__.setdefault("mg_backlog", [])

    def match(ch):
        return ch["changeType"] == change_type and ch["instance"].get("serviceId") == service_id and \
            ch["instance"].get("instanceId") == instance_id

    for i, ch in enumerate(backlog):  # pushes skipped by an earlier wait (no order is guaranteed)
        if match(ch):
            return backlog.pop(i)
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no %s change for %s/%s within %.1f s; got %s" % (
                change_type, service_id, instance_id, timeout, short(seen, 800)))
        try:
            ch = w.recv_json(left)
        except (socket.timeout, TimeoutError):
            continue
        seen.append(ch)
        if not match(ch):
            backlog.append(ch)
        eq(sorted(ch.keys()), ["changeTime", "changeType", "instance"], "InstanceChange keys")
        check(is_ms(ch["changeTime"]), "changeTime %r" % ch["changeTime"])
        if ch["changeType"] == change_type and ch["instance"].get("serviceId") == service_id and \
                ch["instance"].get("instanceId") == instance_id:
            return ch


def drain(w, quiet=0.4, limit=3.0):
    """Read and return pushes until none came for `quiet` seconds."""
    got = list(w.__dict__.get("mg_backlog", []))
    w.__dict__["mg_backlog"] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            got.append(w.recv_json(quiet))
        except (socket.timeout, TimeoutError):
            return got
    return got


def reload_instance(service_id):
    want = fxj("F18", 3)["instance"]
    want["serviceId"] = service_id
    return want


def health(port):
    r = http.quick_get(port, "/health", timeout=3.0)
    return r.status, r.json()


def check_health(port, what):
    code, doc = health(port)
    check(code == 200, "%s: /health HTTP %d %s" % (what, code, short(doc)))
    return doc


def check_log_row(row, kind, want, complete=None):
    """One log row: alphabetical (checked by Mgmt.call), the audit columns present, the
    timestamps epoch ms, and the expected values."""
    base = {"id", "createTime", "updateTime", "operatorId", "token", "operation", "reason", "extensions"}
    missing = base - set(row)
    check(not missing, "%s log row lacks %s: %s" % (kind, sorted(missing), short(row)))
    check(is_ms(row["createTime"]) and is_ms(row["updateTime"]), "%s log times must be epoch ms: %s" % (kind, short(row)))
    check(abs(row["createTime"] - time.time() * 1000) < 600_000, "%s log createTime far from now: %s" % (kind, row["createTime"]))
    if complete is not None:
        check(row.get("complete") is complete, "%s log complete must be JSON %s: %s" % (kind, complete, short(row)))
    for k, v in want.items():
        eq(row.get(k), v, "%s log %s (row %s)" % (kind, k, short(row, 600)))


def find_log(rows, **match):
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()):
            return r
    raise AssertionError("no log row matching %s among %d rows: %s" % (match, len(rows), short(rows, 1200)))


# ---- context for a server this module started itself -------------------------------------------


class NodeCtx:
    """A ctx-like view of one server (lib.server.Server) for the shared bodies; resources are
    released through the outer ctx."""

    def __init__(self, outer, srv):
        self.outer = outer
        self.server = srv

    @property
    def port(self):
        return self.server.port

    def defer(self, fn):
        self.outer.defer(fn)

    def client(self, mode="java", timeout=5.0):
        c = http.Client(self.port, timeout=timeout, mode=mode)
        self.defer(c.close)
        return c

    def api(self, mode="java"):
        return Api(self.client(mode))

    def ws(self, path, **kw):
        w = ws.WebSocket(self.port, path, **kw)
        self.defer(w.abort)
        return w


# Discovery snapshots every second from the start (services.json / services-delta.json).
SERVER_ARGS = [
    "--artemis.service.discovery.versioned-cache.cache-refresh.init-delay=0",
    "--artemis.service.discovery.versioned-cache.cache-refresh.interval=1000",
    "--artemis.service.discovery.versioned-cache.cache-count=10",
]


def mg(ctx, label):
    m = Mgmt(ctx.port, label)
    ctx.defer(m.close)
    return m


# ================================================================================================
# Shared test bodies
# ================================================================================================

F21_I1 = fxj("F1")["instances"][0]  # demo.service.v1 / 10.0.0.5:8080
F21_I2 = fxj("F10", 1)["services"][0]["instances"][1]  # demo.service.v1 / 10.0.0.6:8080
DEMO = "demo.service.v1"


def s_f21_pullout_pullin(ctx, label):
    """F21 byte for byte; pull-out removes the instance from lookup/service.json/services.json
    and pushes `delete`; pull-in brings it back and pushes `new`; the readers in between."""
    m = mg(ctx, label)
    api = ctx.api()
    c = ctx.client()
    api.must_register(F21_I1, F21_I2)
    w = watch(ctx, DEMO)
    wait_until(lambda: snapshot_ids(c, DEMO)[1] == {"10.0.0.5:8080", "10.0.0.6:8080"}, 5.0, 0.2,
               "services.json snapshot with both instances")

    r = m.raw("operate-instance.json", fx("F21", 0), mode="plain")
    check(r.status == 200, "F21 pull-out: HTTP %d %r" % (r.status, r.body[:300]))
    eq(r.text(), fx("F21", 1), "F21 pull-out answer text (byte for byte)")
    coverage(label).add("operate-instance.json")

    # read-your-write: gone at once from lookup and service.json
    eq(lookup_ids(c, DEMO), {"10.0.0.6:8080"}, "lookup.json right after the pull-out")
    eq(service_json_ids(c, DEMO), {"10.0.0.6:8080"}, "discovery service.json right after the pull-out")
    ch = next_change(w, DEMO, "10.0.0.5:8080", "delete", 3.0)
    eq(ch["instance"], F21_I1, "instance of the delete change")
    wait_until(lambda: snapshot_ids(c, DEMO)[1] == {"10.0.0.6:8080"}, 4.0, 0.2, "services.json without the pulled-out instance")

    r = m.raw("instance-operations.json", fx("F21", 3), mode="plain")
    eq(r.text(), fx("F21", 4), "F21 instance-operations while pulled out (byte for byte)")
    coverage(label).add("instance-operations.json")
    doc = m.ok("instance-down.json", {"instance": F21_I1})
    eq(m.last_text, '{"down":true,"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
       "instance-down.json of the pulled-out instance (text)")
    doc = m.ok("instance-down.json", {"instance": F21_I2})
    eq(doc, {"down": False, "responseStatus": SUCCESS}, "instance-down.json of the other instance")
    entry = {"instanceKey": instance_key(F21_I1), "operations": ["pullout"]}
    doc = m.ok("all-instance-operations.json", {"regionId": "sha"})
    eq(sorted(doc.keys()), ["allInstanceOperations", "responseStatus"], "all-instance-operations keys")
    check(entry in doc["allInstanceOperations"], "all-instance-operations lacks %s: %s" % (entry, short(doc)))
    doc = m.get("all-instance-operations.json?regionId=sha")
    check(entry in (doc.get("allInstanceOperations") or []), "GET all-instance-operations lacks the entry: %s" % short(doc))
    doc = m.ok("all-instance-operations.json", {"regionId": "SHA"})  # region filter is case-sensitive
    check(entry not in (doc.get("allInstanceOperations") or []), "all-instance-operations for region SHA: %s" % short(doc))

    r = m.raw("operate-instance.json", fx("F21", 2), mode="plain")
    eq(r.text(), fx("F21", 1), "F21 pull-in answer text (byte for byte)")
    eq(lookup_ids(c, DEMO), {"10.0.0.5:8080", "10.0.0.6:8080"}, "lookup.json right after the pull-in")
    ch = next_change(w, DEMO, "10.0.0.5:8080", "new", 3.0)
    eq(ch["instance"], F21_I1, "instance of the new change")
    eq(m.ok("instance-operations.json", fx("F21", 3)), {"operations": None, "responseStatus": SUCCESS},
       "instance-operations after the pull-in")
    eq(m.last_text, '{"operations":null,"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
       "instance-operations after the pull-in (text, explicit null)")
    eq(m.ok("instance-down.json", {"instance": F21_I1})["down"], False, "instance-down after the pull-in")
    wait_until(lambda: snapshot_ids(c, DEMO)[1] == {"10.0.0.5:8080", "10.0.0.6:8080"}, 4.0, 0.2,
               "services.json with the instance back")

    rows = m.logs("instance-operation", instanceId="10.0.0.5:8080", serviceId=DEMO)
    check(len(rows) >= 2, "instance-operation logs: %s" % short(rows))
    want = {"instanceId": "10.0.0.5:8080", "operation": "pullout", "operatorId": "alice", "regionId": "sha",
            "serviceId": DEMO, "token": "t-123"}
    check_log_row(rows[0], "instance-operation", dict(want, reason=None), complete=True)
    check_log_row(rows[1], "instance-operation", dict(want, reason=None), complete=False)
    check(rows[0]["createTime"] >= rows[1]["createTime"], "newest first: %s" % short(rows[:2]))
    only_in = m.logs("instance-operation", instanceId="10.0.0.5:8080", complete=True)
    check(only_in and all(r["complete"] is True for r in only_in), "complete=true filter: %s" % short(only_in))
    only_out = m.logs("instance-operation", instanceId="10.0.0.5:8080", complete=False)
    check(only_out and all(r["complete"] is False for r in only_out), "complete=false filter: %s" % short(only_out))
    eq(m.logs("instance-operation", operatorId="nobody-at-all"), [], "logs of an unknown operator")
    api.must_unregister(F21_I1, F21_I2)


def s_pullout_delta(ctx, label):
    """services-delta.json reports a pull-out as `delete` and a pull-in as `new`."""
    m = mg(ctx, label)
    c = ctx.client()
    svc = "delta.mg.svc"
    a, b = instance(svc, "d-a", ip="10.3.0.1"), instance(svc, "d-b", ip="10.3.0.2")
    Api(c).must_register(a, b)
    v0 = wait_until(lambda: (lambda v: v[0] if v[1] == {"d-a", "d-b"} and v[0] > 0 else None)(snapshot_ids(c, svc)),
                    5.0, 0.2, "a snapshot with both instances")
    m.operate_instance(instance_key(a))

    def delta_has(v, ctype):
        d = c.post_json("/api/discovery/services-delta.json", dumps({"regionId": "sha", "version": v, "zoneId": "sha-z1"}))
        if d.get("responseStatus", {}).get("status") != "success":
            raise AssertionError("delta answer %s" % short(d, 300))
        for ch in (d.get("delta") or {}).get(svc, []):
            if ch.get("changeType") == ctype and ch["instance"]["instanceId"] == "d-a":
                eq(ch["instance"], a, "instance of the delta change")
                return d
        raise AssertionError("delta %s" % short(d, 600))

    d = wait_until(lambda: delta_has(v0, "delete"), 5.0, 0.2, "a delta with delete d-a")
    v1 = d["version"]
    m.operate_instance(instance_key(a), complete=True)
    wait_until(lambda: delta_has(v1, "new"), 5.0, 0.2, "a delta with new d-a")
    Api(c).must_unregister(a, b)


def s_operate_errors(ctx, label):
    """operate-instance / operate-server validation: bad-request `<field> is null or empty` in
    the checking order, `request is null`, HTTP 400 for an empty or unparsable body; nothing is
    written by a refused call."""
    m = mg(ctx, label)
    r = m.raw("operate-instance.json", json.dumps(dict(json.loads(fx("F21", 0)), operatorId=None)), mode="plain")
    eq(r.text(), fx("F21", 5), "F21 missing operatorId (text)")
    base = json.loads(fx("F21", 0))
    key = base["instanceKey"]
    cases = [
        (dict(base, operatorId="   "), "operatorId is null or empty"),
        (dict(base, operation=None), "operation is null or empty"),
        (dict(base, operation=""), "operation is null or empty"),
        ({k: v for k, v in base.items() if k != "operation"}, "operation is null or empty"),
        (dict(base, instanceKey=dict(key, regionId=None)), "regionId is null or empty"),
        (dict(base, instanceKey=dict(key, serviceId=" ")), "serviceId is null or empty"),
        (dict(base, instanceKey=dict(key, instanceId="")), "instanceId is null or empty"),
        # checking order: regionId, serviceId, instanceId, operation, operatorId
        (dict(base, instanceKey=dict(key, serviceId=None), operation=None, operatorId=None), "serviceId is null or empty"),
    ]
    for body, msg in cases:
        eq(m.call("operate-instance.json", body), {"responseStatus": bad_request(msg)}, "operate-instance %s" % short(body, 300))
    eq(m.call("operate-instance.json", "null"), {"responseStatus": bad_request("request is null")}, "operate-instance null body")
    eq(m.call("instance-operations.json", fx("F21", 3)), {"operations": None, "responseStatus": SUCCESS},
       "no operation was written by the refused calls")
    sbase = {"operation": "pullout", "operationComplete": False, "operatorId": "alice", "serverKey": server_key("10.4.4.4"),
             "token": "t"}
    for body, msg in [
        (dict(sbase, serverKey=server_key("10.4.4.4", region="")), "regionId is null or empty"),
        (dict(sbase, serverKey=server_key(None)), "serverId is null or empty"),
        (dict(sbase, operation="  "), "operation is null or empty"),
        (dict(sbase, operatorId=None), "operatorId is null or empty"),
    ]:
        eq(m.call("operate-server.json", body), {"responseStatus": bad_request(msg)}, "operate-server %s" % short(body, 300))
    eq(m.call("operate-server.json", "null"), {"responseStatus": bad_request("request is null")}, "operate-server null body")
    eq(m.call("server-down.json", {"serverKey": server_key("10.4.4.4")}), {"down": False, "responseStatus": SUCCESS},
       "server-down after refused calls")
    for path in ("operate-instance.json", "operate-server.json", "group/insert-groups.json", "zone/operate-zone-operations.json"):
        r = m.raw(path, b"", mode="plain")
        check(r.status == 400, "%s with an empty body: HTTP %d (want 400) %r" % (path, r.status, r.body[:200]))
        r = m.raw(path, b'{"instanceKey":{"instanceId":', mode="plain")
        check(r.status == 400, "%s with truncated JSON: HTTP %d (want 400) %r" % (path, r.status, r.body[:200]))
    # readers: null key
    eq(m.call("instance-operations.json", {"instanceKey": None}),
       {"operations": None, "responseStatus": bad_request("request.instanceKey is null")}, "instance-operations without a key")
    eq(m.call("server-operations.json", {"serverKey": None}),
       {"operations": None, "responseStatus": bad_request("request.serverKey is null")}, "server-operations without a key")
    eq(m.call("instance-down.json", {"instance": None}),
       {"down": False, "responseStatus": bad_request("request.instance is null")}, "instance-down without an instance")
    # trimmed fields: the operation is stored under the trimmed key
    svc = "trim.mg.svc"
    m.operate_instance({"instanceId": " t-1 ", "regionId": " sha ", "serviceId": " %s " % svc}, operation=" pullout ",
                       operator=" bob ")
    eq(m.ok("instance-operations.json", {"instanceKey": instance_key(svc, "t-1")}),
       {"operations": {"instanceKey": instance_key(svc, "t-1"), "operations": ["pullout"]}, "responseStatus": SUCCESS},
       "operation stored under the trimmed key")
    m.operate_instance(instance_key(svc, "t-1"), complete=True, operator="bob")
    eq(m.ok("instance-operations.json", {"instanceKey": instance_key(svc, "t-1")})["operations"], None,
       "pull-in with the trimmed key removed it")


def s_instance_key_case_insensitive(ctx, label):
    """InstanceKey equality is case-insensitive (§1.2): an operation written with another
    casing pulls the instance out."""
    m = mg(ctx, label)
    c = ctx.client()
    svc = "case.mg.svc"
    a = instance(svc, "Inst-A", ip="10.5.0.1")
    Api(c).must_register(a)
    m.operate_instance({"instanceId": "INST-a", "regionId": "SHA", "serviceId": svc.upper()})
    eq(lookup_ids(c, svc), set(), "lookup after a pull-out with other casing")
    eq(m.ok("instance-down.json", {"instance": a})["down"], True, "instance-down (other casing)")
    m.operate_instance({"instanceId": "inst-a", "regionId": "sha", "serviceId": svc}, complete=True)
    eq(lookup_ids(c, svc), {"Inst-A"}, "lookup after the pull-in with a third casing")
    Api(c).must_unregister(a)


def s_server_operations(ctx, label):
    """operate-server pulls out every instance whose ip is the serverId (§7.2 rule 2)."""
    m = mg(ctx, label)
    c = ctx.client()
    api = Api(c)
    s1, s2 = "srv.mg.one", "srv.mg.two"
    a = instance(s1, "a", ip="10.20.0.1", port=8001)
    b = instance(s2, "b", ip="10.20.0.1", port=8002)
    o = instance(s1, "o", ip="10.20.0.2", port=8001)
    api.must_register(a, b, o)
    w = watch(ctx, s1, s2)
    m.operate_server(server_key("10.20.0.1"), operator="carol", token="tok-s")
    eq(m.last_text, '{"responseStatus":{"errorCode":"success","message":"","status":"success"}}', "operate-server answer text")
    eq(lookup_ids(c, s1), {"o"}, "lookup %s after the server pull-out" % s1)
    eq(lookup_ids(c, s2), set(), "lookup %s after the server pull-out" % s2)
    next_change(w, s1, "a", "delete")
    next_change(w, s2, "b", "delete")
    eq(m.ok("server-down.json", {"serverKey": server_key("10.20.0.1")}), {"down": True, "responseStatus": SUCCESS}, "server-down")
    eq(m.ok("server-down.json", {"serverKey": server_key("10.20.0.2")})["down"], False, "server-down of another ip")
    eq(m.ok("instance-down.json", {"instance": a})["down"], True, "instance-down through its server")
    want = {"operations": ["pullout"], "serverKey": server_key("10.20.0.1")}
    eq(m.ok("server-operations.json", {"serverKey": server_key("10.20.0.1")}), {"operations": want, "responseStatus": SUCCESS},
       "server-operations")
    doc = m.ok("all-server-operations.json", {"regionId": "sha"})
    eq(sorted(doc.keys()), ["allServerOperations", "responseStatus"], "all-server-operations keys")
    check(want in doc["allServerOperations"], "all-server-operations lacks %s: %s" % (want, short(doc)))
    doc = m.get("all-server-operations.json?regionId=sha")
    check(want in (doc.get("allServerOperations") or []), "GET all-server-operations: %s" % short(doc))
    m.operate_server(server_key("10.20.0.1"), complete=True, operator="carol", token="tok-s")
    eq(lookup_ids(c, s1), {"a", "o"}, "lookup after the server pull-in")
    eq(lookup_ids(c, s2), {"b"}, "lookup after the server pull-in")
    next_change(w, s1, "a", "new")
    next_change(w, s2, "b", "new")
    eq(m.ok("server-operations.json", {"serverKey": server_key("10.20.0.1")})["operations"], None, "server-operations after pull-in")
    rows = m.logs("server-operation", serverId="10.20.0.1")
    check(len(rows) >= 2, "server-operation logs: %s" % short(rows))
    want_row = {"operation": "pullout", "operatorId": "carol", "regionId": "sha", "serverId": "10.20.0.1", "token": "tok-s"}
    check_log_row(rows[0], "server-operation", want_row, complete=True)
    check_log_row(rows[1], "server-operation", want_row, complete=False)
    eq([r["complete"] for r in m.logs("server-operation", serverId="10.20.0.1", complete=False)], [False] * len(
        [r for r in rows if r["complete"] is False]), "server-operation logs filtered by complete=false")
    api.must_unregister(a, b, o)


def s_zone_operations(ctx, label):
    """A zone operation pulls out the service's instances of that zone and pushes `reload`."""
    m = mg(ctx, label)
    c = ctx.client()
    api = Api(c)
    svc = "zone.mg.svc"
    z1 = instance(svc, "z1", ip="10.30.0.1", zone="sha-z1")
    z2 = instance(svc, "z2", ip="10.30.0.2", zone="sha-z2")
    api.must_register(z1, z2)
    w = watch(ctx, svc)
    zk = zone_key(svc, "sha-z2")
    body = {"operation": "pullout", "operationComplete": False, "operatorId": "dave", "reason": "maintenance",
            "token": "tok-z", "zoneOperationsList": [{"operations": ["pullout"], "zoneKey": zk}]}
    m.ok("zone/operate-zone-operations.json", body)
    eq(lookup_ids(c, svc), {"z1"}, "lookup after the zone pull-out")
    ch = next_change(w, svc, "reload", "reload", 3.0)
    eq(ch["instance"], reload_instance(svc), "reload change instance (F18)")
    eq(m.ok("zone/is-zone-down.json", {"zoneKey": zk}), {"down": True, "responseStatus": SUCCESS}, "is-zone-down")
    eq(m.ok("zone/is-zone-down.json", {"zoneKey": zone_key(svc, "sha-z1")})["down"], False, "is-zone-down (other zone)")
    eq(m.ok("instance-down.json", {"instance": z2})["down"], True, "instance-down through its zone")
    want = {"operations": ["pullout"], "zoneKey": zk}
    eq(m.ok("zone/get-zone-operations.json", {"zoneKey": zk}), {"operations": want, "responseStatus": SUCCESS},
       "get-zone-operations")
    doc = m.ok("zone/get-all-zone-operations.json", {"regionId": "ignored"})
    eq(sorted(doc.keys()), ["allZoneOperations", "responseStatus"], "get-all-zone-operations keys")
    check(want in doc["allZoneOperations"], "get-all-zone-operations lacks %s: %s" % (want, short(doc)))
    doc = m.ok("zone/get-zone-operations-list.json", {"serviceId": svc})
    eq(doc, {"responseStatus": SUCCESS, "zoneOperationsList": [want]}, "get-zone-operations-list by service")
    eq(m.ok("zone/get-zone-operations-list.json", {"serviceId": svc, "zoneId": "sha-z1"})["zoneOperationsList"], [],
       "get-zone-operations-list for a zone without operations")
    m.ok("zone/operate-zone-operations.json", dict(body, operationComplete=True))
    eq(lookup_ids(c, svc), {"z1", "z2"}, "lookup after the zone pull-in")
    next_change(w, svc, "reload", "reload", 3.0)
    eq(m.ok("zone/is-zone-down.json", {"zoneKey": zk})["down"], False, "is-zone-down after the pull-in")
    eq(m.ok("zone/get-zone-operations.json", {"zoneKey": zk})["operations"], None, "get-zone-operations after pull-in")
    rows = m.logs("zone-operation", serviceId=svc)
    check(len(rows) >= 2, "zone-operation logs: %s" % short(rows))
    want_row = {"operation": "pullout", "operatorId": "dave", "regionId": "sha", "serviceId": svc, "token": "tok-z",
                "zoneId": "sha-z2"}
    check_log_row(rows[0], "zone-operation", want_row, complete=True)
    check_log_row(rows[1], "zone-operation", want_row, complete=False)
    eq(len(m.logs("zone-operation", serviceId=svc, zoneId="sha-z1")), 0, "zone-operation logs of another zone")
    api.must_unregister(z1, z2)


def s_group_operations(ctx, label):
    """Groups: insert/get, group operations (plural and singular call) pull out the group's
    instances (groupId == name in that zone) and push `reload`; logs."""
    m = mg(ctx, label)
    c = ctx.client()
    api = Api(c)
    svc = "grp.mg.svc"
    g1 = instance(svc, "g1-i", ip="10.40.0.1", groupId="g1")
    g2 = instance(svc, "g2-i", ip="10.40.0.2", groupId="g2")
    d = instance(svc, "def-i", ip="10.40.0.3")
    api.must_register(g1, g2, d)
    w = watch(ctx, svc)
    m.ok("group/insert-groups.json", with_ctx({"groups": [group(svc, "g1", description="first")]}, operator="erin",
                                              operation="insert-groups"))
    groups = m.groups_of(svc)
    eq(len(groups), 1, "get-groups after one insert: %s" % short(groups))
    gid = groups[0]["groupId"]
    eq(groups[0], {"appId": "app-it", "description": "first", "groupId": gid, "groupKey": group_key(svc, "g1"),
                   "metadata": None, "name": "g1", "regionId": "sha", "serviceId": svc, "status": "active",
                   "zoneId": "sha-z1"}, "the group as get-groups shows it")
    doc = m.ok("group/get-all-groups.json", {"regionId": "ignored"})
    check(groups[0] in doc.get("groups", []), "get-all-groups lacks the group: %s" % short(doc))
    eq(lookup_ids(c, svc), {"g1-i", "g2-i", "def-i"}, "a group alone pulls nothing out")
    drain(w)
    body = {"groupOperationsList": [{"groupId": gid, "operations": ["pullout"]}], "operationComplete": False}
    m.ok("group/operate-group-operations.json", with_ctx(body, operator="erin", operation="pullout"))
    eq(lookup_ids(c, svc), {"g2-i", "def-i"}, "lookup after the group pull-out")
    eq(m.ok("instance-down.json", {"instance": g1})["down"], True, "instance-down through its group")
    next_change(w, svc, "reload", "reload", 3.0)
    want = {"groupId": gid, "operations": ["pullout"]}
    eq(m.ok("group/get-group-operations.json", {"groupId": gid}), {"groupOperations": want, "responseStatus": SUCCESS},
       "get-group-operations")
    doc = m.ok("group/get-all-group-operations.json", {"regionId": "x"})
    eq(sorted(doc.keys()), ["allGroupOperations", "responseStatus"], "get-all-group-operations keys")
    check(want in doc["allGroupOperations"], "get-all-group-operations lacks %s: %s" % (want, short(doc)))
    m.ok("group/operate-group-operations.json", with_ctx(dict(body, operationComplete=True), operator="erin", operation="pullout"))
    eq(lookup_ids(c, svc), {"g1-i", "g2-i", "def-i"}, "lookup after the group pull-in")
    eq(m.ok("group/get-group-operations.json", {"groupId": gid})["groupOperations"], None, "get-group-operations after pull-in")
    # singular call: creates group g2 on the way
    one = dict(group(svc, "g2"), operationComplete=False)
    m.ok("group/operate-group-operation.json", with_ctx(one, operator="frank", operation="pullout"))
    eq(lookup_ids(c, svc), {"g1-i", "def-i"}, "lookup after operate-group-operation on g2")
    gid2 = m.group_id(svc, "g2")
    eq(m.ok("group/get-group-operations.json", {"groupId": gid2})["groupOperations"], {"groupId": gid2, "operations": ["pullout"]},
       "get-group-operations of the group created by operate-group-operation")
    m.ok("group/operate-group-operation.json", with_ctx(dict(one, operationComplete=True), operator="frank", operation="pullout"))
    eq(lookup_ids(c, svc), {"g1-i", "g2-i", "def-i"}, "lookup after the singular pull-in")
    rows = m.logs("group-operation", groupId=gid)
    check(len(rows) >= 2, "group-operation logs: %s" % short(rows))
    check_log_row(rows[0], "group-operation", {"groupId": gid, "operation": "pullout", "operatorId": "erin",
                                               "token": "it-token", "reason": "it-reason"}, complete=True)
    check_log_row(rows[1], "group-operation", {"groupId": gid, "operatorId": "erin"}, complete=False)
    rows2 = m.logs("group-operation", groupId=gid2, operatorId="frank")
    check(len(rows2) >= 2, "group-operation logs of g2: %s" % short(rows2))
    rows = m.logs("group", serviceId=svc, name="g1")
    check(rows, "group logs of g1 are empty")
    check_log_row(rows[-1], "group", {"appId": "app-it", "name": "g1", "operation": "insert-groups", "operatorId": "erin",
                                      "regionId": "sha", "serviceId": svc, "token": "it-token", "zoneId": "sha-z1"})
    api.must_unregister(g1, g2, d)


def _create_bluegreen(m, svc, blue_w=80, green_w=20, operator="grace"):
    body = with_ctx({"groups": [group(svc, "blue", weight=blue_w, app_id="app-bg"),
                                group(svc, "green", weight=green_w, app_id="app-bg")],
                     "routeRule": route_rule(svc, "bluegreen")}, operator=operator, operation="create-route-rule")
    m.ok("group/create-route-rule.json", body)
    blue, green = m.group_id(svc, "blue"), m.group_id(svc, "green")
    rid = m.rule_id(svc, "bluegreen")
    return rid, blue, green


def _route_rules(c, svc, mode=None):
    return lookup_service(c, svc, mode).get("routeRules")


def _norm_rules(rules):
    out = []
    for r in rules or []:
        r = dict(r)
        r["groups"] = sorted(r.get("groups") or [], key=lambda g: g.get("groupKey") or "")
        out.append(r)
    return sorted(out, key=lambda r: r.get("routeId") or "")


def s_route_rules_f22(ctx, label):
    """create-route-rule with two groups, tags, explicit members, release: lookup.json equals
    F22 (also sent the Java client's way), service.json and services.json carry the rule, a
    watcher gets one `reload`; unreleased weights never show; inactive rules vanish."""
    m = mg(ctx, label)
    c = ctx.client(mode="plain")
    api = Api(c)
    blue_i = dict(F21_I1, groupId="blue", metadata=None)
    green_i = instance(DEMO, "10.0.0.9:8080", ip="10.0.0.9", groupId="green", healthCheckUrl="http://10.0.0.9:8080/health",
                       machineName="host-9", url="http://10.0.0.9:8080/demo")
    api.unregister(F21_I1, F21_I2)
    api.must_register(blue_i, green_i)
    w = watch(ctx, DEMO)
    rid, blue, green = _create_bluegreen(m, DEMO)
    m.ok("group/insert-group-tags.json", with_ctx({"groupTagsList": [{"groupId": blue, "tags": {"owner": "team-a"}}]}))
    m.ok("group/insert-group-instances.json", with_ctx({"groupInstances": [{"groupId": green, "instanceId": "10.0.0.9:8080"}]}))
    rgs = m.rule_groups(rid)
    eq(sorted((g["groupId"], g["unreleasedWeight"], g["weight"]) for g in rgs), sorted([(blue, 80, None), (green, 20, None)]),
       "route-rule groups before release (unreleasedWeight set, weight null)")
    for g in rgs:
        eq(sorted(g.keys()), ["groupId", "routeRuleGroupId", "routeRuleId", "unreleasedWeight", "weight"], "RouteRuleGroup keys")
        eq(g["routeRuleId"], rid, "routeRuleId of the link")
    before = _route_rules(c, DEMO)
    for r in before or []:
        for g in r.get("groups") or []:
            check(g.get("weight") not in (80, 20), "an unreleased weight is visible before release: %s" % short(before))
            eq(g.get("weight"), 5, "weight before release must be fixWeight(null) = 5: %s" % short(before))
    drain(w)
    m.ok("group/release-route-rule-groups.json",
         with_ctx({"routeRuleGroups": [{"groupId": blue, "routeRuleId": rid}, {"groupId": green, "routeRuleId": rid}]},
                  operation="release"))
    want = fxj("F22")
    got = c.post_json("/api/discovery/lookup.json", dumps(lookup_req(DEMO)))
    got_n, want_n = dict(got), dict(want)
    got_n["services"] = [dict(s, routeRules=_norm_rules(s.get("routeRules"))) for s in got.get("services") or []]
    want_n["services"] = [dict(s, routeRules=_norm_rules(s.get("routeRules"))) for s in want["services"]]
    eq(got_n, want_n, "lookup.json after release (F22)")
    # Java client: gzip + chunked request
    jc = ctx.client(mode="java")
    got_j = jc.post_json("/api/discovery/lookup.json", dumps(lookup_req(DEMO)))
    eq(_norm_rules(got_j["services"][0]["routeRules"]), _norm_rules(want["services"][0]["routeRules"]),
       "routeRules of a lookup sent like the Java client")
    # exactly one reload for the release
    ch = next_change(w, DEMO, "reload", "reload", 3.0)
    eq(ch["instance"], reload_instance(DEMO), "reload change (F18)")
    more = [x for x in drain(w, 0.7) if x.get("changeType") == "reload"]
    eq(more, [], "more than one reload for one release")
    # service.json and the snapshot
    doc = c.post_json("/api/discovery/service.json", fx("F12", 1).replace("unknown.service", DEMO))
    eq(_norm_rules(doc["service"]["routeRules"]), _norm_rules(want["services"][0]["routeRules"]), "service.json routeRules")

    def snap_rules():
        for s in services_snapshot(c).get("services") or []:
            if s["serviceId"] == DEMO and _norm_rules(s.get("routeRules")) == _norm_rules(want["services"][0]["routeRules"]):
                return True
        return False

    wait_until(snap_rules, 4.0, 0.2, "services.json snapshot with the released rule")
    # readers
    doc = m.ok("group/get-group-tags.json", {"groupId": blue})
    eq(doc, {"groupTags": {"groupId": blue, "tags": {"owner": "team-a"}}, "responseStatus": SUCCESS}, "get-group-tags")
    doc = m.ok("group/get-all-group-tags.json", {})
    check({"groupId": blue, "tags": {"owner": "team-a"}} in doc.get("allGroupTags", []), "get-all-group-tags: %s" % short(doc))
    doc = m.ok("group/get-group-instances.json", {"groupId": green})
    gi = doc.get("groupInstances")
    check(isinstance(gi, list) and len(gi) == 1, "get-group-instances: %s" % short(doc))
    eq(sorted(gi[0].keys()), ["groupId", "id", "instanceId"], "GroupInstance keys")
    eq((gi[0]["groupId"], gi[0]["instanceId"]), (green, "10.0.0.9:8080"), "group instance")
    doc = m.ok("group/get-all-route-rules.json", {"regionId": "ignored"})
    rules = [r for r in doc.get("routeRules", []) if r.get("routeRuleId") == rid]
    eq(rules, [{"description": "rule", "name": "bluegreen", "routeRuleId": rid, "serviceId": DEMO, "status": "active",
                "strategy": "weighted-round-robin"}], "get-all-route-rules")
    doc = m.ok("group/get-all-route-rule-groups.json", {})
    mine = sorted((g["groupId"], g["weight"], g["unreleasedWeight"]) for g in doc.get("routeRuleGroups", []) if g["routeRuleId"] == rid)
    eq(mine, sorted([(blue, 80, 80), (green, 20, 20)]), "get-all-route-rule-groups after release")
    # a group made inactive leaves the rule; the rule made inactive leaves discovery
    m.ok("group/update-groups.json", with_ctx({"groups": [group(DEMO, "green", app_id="app-bg", status="inactive")]}))
    rr = _route_rules(c, DEMO)
    eq([g["groupKey"] for r in rr for g in r["groups"]], [group_key(DEMO, "blue")], "rule groups with green inactive")
    m.ok("group/update-route-rules.json", with_ctx({"routeRules": [route_rule(DEMO, "bluegreen", status="inactive")]}))
    eq(_route_rules(c, DEMO), [], "routeRules of an inactive rule")
    eq(m.rules_of(DEMO, name="bluegreen")[0]["status"], "inactive", "get-route-rules status after update")
    m.ok("group/update-route-rules.json", with_ctx({"routeRules": [route_rule(DEMO, "bluegreen")]}))
    m.ok("group/update-groups.json", with_ctx({"groups": [group(DEMO, "green", app_id="app-bg")]}))
    eq(_norm_rules(_route_rules(c, DEMO)), _norm_rules(want["services"][0]["routeRules"]), "routeRules re-activated")
    # logs
    rows = m.logs("route-rule", serviceId=DEMO, name="bluegreen")
    check(len(rows) >= 3, "route-rule logs: %s" % short(rows))
    check_log_row(rows[-1], "route-rule", {"name": "bluegreen", "operation": "create-route-rule", "operatorId": "grace",
                                           "serviceId": DEMO, "token": "it-token", "reason": "it-reason"})
    rows = m.logs("route-rule-group", routeRuleId=rid, groupId=blue)
    check(rows, "route-rule-group logs are empty")
    find_log(rows, operation="release")
    rows = m.logs("group-instance", groupId=green)
    check_log_row(find_log(rows, instanceId="10.0.0.9:8080"), "group-instance", {"groupId": green, "operatorId": "it-operator"})
    # tear down: delete links, rule, members, tags, groups
    rgs = m.rule_groups(rid)
    m.ok("group/delete-route-rule-groups.json", with_ctx({"routeRuleGroupIds": [g["routeRuleGroupId"] for g in rgs]}))
    eq(m.rule_groups(rid), [], "route-rule groups after delete")
    eq(_route_rules(c, DEMO), [], "a rule without groups is not shown")
    m.ok("group/delete-route-rules.json", with_ctx({"routeRuleIds": [rid]}))
    check(all(r.get("routeRuleId") != rid for r in m.ok("group/get-all-route-rules.json", {}).get("routeRules", [])),
          "get-all-route-rules still lists the deleted rule")
    m.ok("group/delete-group-instances.json", with_ctx({"groupInstanceIds": [gi[0]["id"]]}))
    eq(m.ok("group/get-group-instances.json", {"groupId": green})["groupInstances"], [], "group instances after delete")
    m.ok("group/delete-group-tags.json", with_ctx({"groupId": blue, "tag": "owner"}))
    eq(m.ok("group/get-group-tags.json", {"groupId": blue})["groupTags"], None, "group tags after delete")
    m.ok("group/delete-groups.json", with_ctx({"groupIds": [blue, green]}))
    eq([g for g in m.groups_of(DEMO) if g["groupId"] in (blue, green)], [], "get-groups after delete-groups")
    api.must_unregister(blue_i, green_i)


s_route_rules_f22.timeout = 40


def s_update_paths(ctx, label):
    """The insert/update twins: insert-route-rules and update-route-rules upsert by
    (serviceId, name); insert/update-route-rule-groups set only the unreleased weight;
    update-group-tags replaces a tag's value; insert-groups twice is one group."""
    m = mg(ctx, label)
    svc = "upd.mg.svc"
    m.ok("group/insert-route-rules.json", with_ctx({"routeRules": [route_rule(svc, "r1", description="one")]}))
    m.ok("group/insert-route-rules.json", with_ctx({"routeRules": [route_rule(svc, "r1", description="uno",
                                                                              strategy="close-by-visit")]}))
    rules = m.rules_of(svc)
    eq(len(rules), 1, "insert-route-rules twice is one rule: %s" % short(rules))
    eq({k: rules[0][k] for k in ("description", "name", "serviceId", "status", "strategy")},
       {"description": "uno", "name": "r1", "serviceId": svc, "status": "active", "strategy": "close-by-visit"}, "upserted rule")
    rid = rules[0]["routeRuleId"]
    m.ok("group/update-route-rules.json", with_ctx({"routeRules": [route_rule(svc, "r1", description="eins",
                                                                              strategy="close-by-visit")]}))
    eq(m.rules_of(svc, routeRuleId=rid)[0]["description"], "eins", "update-route-rules")
    eq(m.rules_of(svc, status="inactive"), [], "get-route-rules filtered by status")
    m.ok("group/insert-groups.json", with_ctx({"groups": [group(svc, "ga")]}))
    m.ok("group/insert-groups.json", with_ctx({"groups": [group(svc, "ga", description="again")]}))
    gs = m.groups_of(svc)
    eq(len(gs), 1, "insert-groups twice is one group: %s" % short(gs))
    eq(gs[0]["description"], "again", "insert-groups upserts")
    gid = gs[0]["groupId"]
    m.ok("group/insert-route-rule-groups.json", with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid,
                                                                                 "unreleasedWeight": 30}]}))
    eq([(g["unreleasedWeight"], g["weight"]) for g in m.rule_groups(rid)], [(30, None)], "insert-route-rule-groups")
    m.ok("group/update-route-rule-groups.json", with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid,
                                                                                 "unreleasedWeight": 40}]}))
    eq([(g["unreleasedWeight"], g["weight"]) for g in m.rule_groups(rid)], [(40, None)], "update-route-rule-groups")
    link = m.rule_groups(rid)[0]["routeRuleGroupId"]
    eq([g["routeRuleGroupId"] for g in m.ok("group/get-route-rule-groups.json", {"routeRuleGroupId": link})["routeRuleGroups"]],
       [link], "get-route-rule-groups by routeRuleGroupId")
    eq([g["routeRuleGroupId"] for g in m.ok("group/get-route-rule-groups.json", {"groupId": gid})["routeRuleGroups"]],
       [link], "get-route-rule-groups by groupId")
    m.ok("group/release-route-rule-groups.json", with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid}]}))
    eq([(g["unreleasedWeight"], g["weight"]) for g in m.rule_groups(rid)], [(40, 40)], "release")
    c = ctx.client(mode="plain")
    rr = _route_rules(c, svc)
    eq(rr, [{"groups": [{"groupKey": group_key(svc, "ga"), "instanceIds": [], "instances": None, "metadata": None,
                         "weight": 40}], "routeId": "r1", "strategy": "close-by-visit"}],
       "routeRules of a service without instances (lookup)")
    m.ok("group/insert-group-tags.json", with_ctx({"groupTagsList": [{"groupId": gid, "tags": {"k1": "v1", "k2": "v2"}}]}))
    m.ok("group/update-group-tags.json", with_ctx({"groupTagsList": [{"groupId": gid, "tags": {"k1": "v1b"}}]}))
    eq(m.ok("group/get-group-tags.json", {"groupId": gid})["groupTags"], {"groupId": gid, "tags": {"k1": "v1b", "k2": "v2"}},
       "tags after update-group-tags")
    eq(_route_rules(c, svc)[0]["groups"][0]["metadata"], {"k1": "v1b", "k2": "v2"}, "tags as group metadata in lookup")
    m.ok("group/delete-group-tags.json", with_ctx({"groupId": gid, "tag": "k2"}))
    eq(m.ok("group/get-group-tags.json", {"groupId": gid})["groupTags"], {"groupId": gid, "tags": {"k1": "v1b"}}, "after delete k2")
    # weight normalisation: > 10000 -> 10000, < 0 -> 5
    m.ok("group/update-route-rule-groups.json", with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid,
                                                                                 "unreleasedWeight": 20000}]}))
    m.ok("group/release-route-rule-groups.json", with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid}]}))
    eq(_route_rules(c, svc)[0]["groups"][0]["weight"], 10000, "weight 20000 shown as 10000")
    m.ok("group/update-route-rule-groups.json", with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid,
                                                                                 "unreleasedWeight": -3}]}))
    m.ok("group/release-route-rule-groups.json", with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid}]}))
    eq(_route_rules(c, svc)[0]["groups"][0]["weight"], 5, "weight -3 shown as 5")
    m.ok("group/delete-route-rules.json", with_ctx({"routeRuleIds": [rid]}))
    eq(_route_rules(c, svc), [], "routeRules after delete-route-rules")
    m.ok("group/delete-groups.json", with_ctx({"groupIds": [gid]}))


s_update_paths.timeout = 30


def s_canary(ctx, label):
    """update-canary-ips creates canary-route-rule whose group holds the canary IPs as
    instanceIds and the matching registered instances resolved server-side."""
    m = mg(ctx, label)
    c = ctx.client(mode="plain")
    svc = "canary.mg.svc"
    x1 = instance(svc, "10.9.9.1", ip="10.9.9.1")
    x3 = instance(svc, "10.9.9.3", ip="10.9.9.3")
    Api(c).must_register(x1, x3)
    m.ok("canary/update-canary-ips.json", with_ctx({"appId": "app-c", "canaryIps": ["10.9.9.1", "10.9.9.2"],
                                                    "serviceId": svc}, operation="canary"))
    rr = _route_rules(c, svc)
    check(isinstance(rr, list) and len(rr) == 1, "routeRules after update-canary-ips: %s" % short(rr))
    r = rr[0]
    eq((r["routeId"], r["strategy"]), ("canary-route-rule", "weighted-round-robin"), "canary rule id/strategy")
    check(len(r["groups"]) == 1, "canary groups: %s" % short(r))
    g = r["groups"][0]
    eq(g["groupKey"], "%s/sha/canary/app-c" % svc, "canary group key")
    eq(sorted(g["instanceIds"]), ["10.9.9.1", "10.9.9.2"], "canary instanceIds")
    eq(g["instances"], [x1], "canary instances resolved server-side")
    eq(g["weight"], 5, "canary weight")
    eq(g["metadata"], None, "canary group metadata")
    m.ok("canary/update-canary-ips.json", with_ctx({"appId": "app-c", "canaryIps": ["10.9.9.3"], "serviceId": svc}))
    g = _route_rules(c, svc)[0]["groups"][0]
    eq(g["instanceIds"], ["10.9.9.3"], "canary instanceIds replaced")
    eq(g["instances"], [x3], "canary instances after the update")
    eq(m.rules_of(svc)[0]["name"], "canary-route-rule", "get-route-rules shows the canary rule")
    Api(c).must_unregister(x1, x3)


def s_logic_instances(ctx, label):
    """insert-service-instances: logical instances appear in lookup `logicInstances` (status up,
    metadata parsed); get/delete; pulled-out logical instances are removed; logs."""
    m = mg(ctx, label)
    c = ctx.client(mode="plain")
    svc = "logic.mg.svc"
    si = service_instance(svc, "l-1", metadata={"k": "v", "zone": "x"})
    m.ok("group/insert-service-instances.json", with_ctx({"serviceInstances": [si]}, operator="henry", operation="add-logic"))
    eq(m.last_text, '{"responseStatus":{"errorCode":"success","message":"","status":"success"}}', "OperationResponse text")
    want = {"groupId": None, "healthCheckUrl": si["healthCheckUrl"], "instanceId": "l-1", "ip": si["ip"],
            "machineName": si["machineName"], "metadata": {"k": "v", "zone": "x"}, "port": 8080, "protocol": "http",
            "regionId": "sha", "serviceId": svc, "status": "up", "url": si["url"], "zoneId": "sha-z1"}
    s = lookup_service(c, svc)
    eq(s, {"instances": [], "logicInstances": [want], "metadata": None, "routeRules": [], "serviceId": svc},
       "lookup of a service with only a logical instance")
    doc = m.ok("group/get-service-instances.json", {"serviceId": svc})
    eq(sorted(doc.keys()), ["responseStatus", "serviceInstances"], "get-service-instances keys")
    rows = doc["serviceInstances"]
    check(len(rows) == 1, "get-service-instances: %s" % short(doc))
    sid = rows[0]["id"]
    check(isinstance(sid, int), "service instance id %r" % sid)
    eq(rows[0], dict(si, id=sid), "get-service-instances row")
    eq(m.ok("group/get-service-instances.json", {"instanceId": "l-1", "serviceId": svc})["serviceInstances"], rows,
       "get-service-instances by instanceId")
    # a pulled-out logical instance is filtered too
    m.operate_instance(instance_key(svc, "l-1"))
    eq(lookup_service(c, svc)["logicInstances"], [], "logicInstances with l-1 pulled out")
    m.operate_instance(instance_key(svc, "l-1"), complete=True)
    eq(lookup_service(c, svc)["logicInstances"], [want], "logicInstances after the pull-in")
    rows_l = m.logs("service-instance", serviceId=svc, instanceId="l-1")
    check(rows_l, "service-instance logs are empty")
    check_log_row(rows_l[-1], "service-instance", {"instanceId": "l-1", "operation": "add-logic", "operatorId": "henry",
                                                   "serviceId": svc, "token": "it-token"})
    m.ok("group/delete-service-instances.json", with_ctx({"serviceInstanceIds": [sid]}))
    eq(lookup_service(c, svc)["logicInstances"], [], "logicInstances after delete-service-instances")
    eq(m.ok("group/get-service-instances.json", {"serviceId": svc})["serviceInstances"], [], "get after delete")


def s_management_views(ctx, label):
    """/api/management/services.json and service.json list every lease, down ones with status
    "down", metadata creationTime/renewalTime/ttl; service.json adds the service's groups."""
    m = mg(ctx, label)
    c = ctx.client(mode="plain")
    svc = "view.mg.svc"
    a = instance(svc, "v-a", ip="10.60.0.1", metadata={"env": "prod"})
    b = instance(svc, "v-b", ip="10.60.0.2", status="starting")
    t0 = int(time.time() * 1000)
    Api(c).must_register(a, b)
    m.operate_instance(instance_key(b))
    m.ok("group/insert-groups.json", with_ctx({"groups": [group(svc, "vg")]}))
    gid = m.group_id(svc, "vg")
    m.ok("group/insert-group-tags.json", with_ctx({"groupTagsList": [{"groupId": gid, "tags": {"t": "1"}}]}))

    def check_service(s, what):
        eq(sorted(s.keys()), ["instances", "logicInstances", "metadata", "routeRules", "serviceId"], what + " keys")
        byid = {i["instanceId"]: i for i in s["instances"]}
        eq(sorted(byid), ["v-a", "v-b"], what + ": both leases listed")
        for iid, src, status in (("v-a", a, "up"), ("v-b", b, "down")):
            i = byid[iid]
            md = i["metadata"]
            check(isinstance(md, dict), "%s %s metadata: %r" % (what, iid, md))
            for k in ("creationTime", "renewalTime", "ttl"):
                check(isinstance(md.get(k), str) and md[k].isdigit(), "%s %s metadata %s: %r" % (what, iid, k, md.get(k)))
            check(abs(int(md["creationTime"]) - t0) < 60_000, "%s creationTime %s vs %d" % (what, md["creationTime"], t0))
            check(int(md["renewalTime"]) >= int(md["creationTime"]), "%s renewalTime < creationTime" % what)
            eq(md["ttl"], "20000", what + " ttl (default lease ttl)")
            rest = {k: v for k, v in md.items() if k not in ("creationTime", "renewalTime", "ttl")}
            eq(rest, src["metadata"] or {}, "%s %s other metadata" % (what, iid))
            eq(dict(i, metadata=None, status=None), dict(src, metadata=None, status=None), "%s %s fields" % (what, iid))
            eq(i["status"], status, "%s %s status" % (what, iid))
        eq(s["logicInstances"], [], what + " logicInstances")
        eq(s["routeRules"], [], what + " routeRules")

    doc = m.ok("services.json", {"regionId": "sha", "zoneId": "sha-z1"})
    eq(sorted(doc.keys()), ["responseStatus", "services", "version"], "management services.json keys")
    check(abs(doc["version"] - time.time() * 1000) < 60_000, "management services.json version is now: %r" % doc["version"])
    mine = [s for s in doc["services"] if s["serviceId"] == svc]
    check(len(mine) == 1, "management services.json lacks %s" % svc)
    check_service(mine[0], "management services.json")
    doc = m.get("services.json?regionId=sha&zoneId=sha-z1")
    check_service([s for s in doc["services"] if s["serviceId"] == svc][0], "GET management services.json")
    doc = m.ok("service.json", {"regionId": "sha", "serviceId": svc, "zoneId": "sha-z1"})
    eq(sorted(doc.keys()), ["groups", "responseStatus", "service"], "management service.json keys")
    check_service(doc["service"], "management service.json")
    eq(doc["groups"], [{"groupKey": group_key(svc, "vg"), "instanceIds": [], "instances": None, "metadata": {"t": "1"},
                        "weight": None}], "management service.json groups")
    doc = m.ok("service.json", {"regionId": "sha", "serviceId": "nobody.mg.svc", "zoneId": "sha-z1"})
    eq(doc, {"groups": [], "responseStatus": SUCCESS, "service": {"instances": None, "logicInstances": [], "metadata": None,
                                                                  "routeRules": [], "serviceId": "nobody.mg.svc"}},
       "management service.json of an unknown service")
    eq(m.call("service.json", {"regionId": "sha", "serviceId": " "}),
       {"groups": None, "responseStatus": bad_request("Request is null or request.servcieId is null."), "service": None},
       "management service.json without serviceId")
    # the discovery view is unchanged: b is hidden there
    eq(lookup_ids(c, svc), {"v-a"}, "discovery lookup hides the pulled-out lease")
    m.operate_instance(instance_key(b), complete=True)
    m.ok("group/delete-groups.json", with_ctx({"groupIds": [gid]}))
    Api(c).must_unregister(a, b)


def s_write_context_required(ctx, label):
    """Group/rule/instance writes need operatorId and operation (§7): refused with the fixed
    `... failed.` text; nothing is written."""
    m = mg(ctx, label)
    svc = "ctx.mg.svc"
    cases = [
        ("group/insert-groups.json", {"groups": [group(svc, "nope")]}, "insert groups failed."),
        ("group/create-route-rule.json", {"groups": [group(svc, "nope2", weight=1)], "routeRule": route_rule(svc, "nope")},
         "create route-rule failed."),
        ("group/insert-service-instances.json", {"serviceInstances": [service_instance(svc, "nope")]},
         "insert service instances failed."),
        ("group/insert-route-rules.json", {"routeRules": [route_rule(svc, "nope3")]}, "insert route-rules failed."),
    ]
    for path, body, msg in cases:
        for drop in ("operatorId", "operation"):
            b = with_ctx(body)
            b[drop] = None if drop == "operatorId" else " "
            doc = m.call(path, b)
            eq(doc.get("responseStatus"), ise(msg), "%s without %s" % (path, drop))
    eq(m.groups_of(svc), [], "no group written by the refused calls")
    eq(m.rules_of(svc), [], "no rule written by the refused calls")
    eq(m.ok("group/get-service-instances.json", {"serviceId": svc})["serviceInstances"], [], "no logical instance written")
    eq(m.logs("group", serviceId=svc), [], "no group log written")
    # null body of a group write
    eq(m.call("group/insert-groups.json", "null").get("responseStatus"), bad_request("request is null"), "insert-groups null body")
    eq(m.call("zone/operate-zone-operations.json", "null").get("responseStatus"), bad_request("request is null"),
       "operate-zone-operations null body")
    eq(m.call("canary/update-canary-ips.json", "null").get("responseStatus"), bad_request("request is null"),
       "update-canary-ips null body")
    # create-route-rule validation: a group without a name / weight
    b = with_ctx({"groups": [group(svc, "", weight=1)], "routeRule": route_rule(svc, "r-bad")})
    eq(m.call("group/create-route-rule.json", b).get("responseStatus"), ise("create route-rule failed."),
       "create-route-rule with a nameless group")
    b = with_ctx({"groups": [group(svc, "gw")], "routeRule": route_rule(svc, "r-bad")})
    eq(m.call("group/create-route-rule.json", b).get("responseStatus"), ise("create route-rule failed."),
       "create-route-rule with a group without weight")
    b = with_ctx({"groups": [group("other.svc", "gx", weight=1)], "routeRule": route_rule(svc, "r-bad")})
    eq(m.call("group/create-route-rule.json", b).get("responseStatus"), ise("create route-rule failed."),
       "create-route-rule with a group of another service")
    eq(m.rules_of(svc), [], "no rule written by a refused create-route-rule")
    eq(m.groups_of(svc), [], "no group written by a refused create-route-rule (one transaction)")


# ---- hostile input ------------------------------------------------------------------------------

HOSTILE = [
    "'", '";--', "'); DROP TABLE instance;--", "%", "_", "\\", "a\\'b\\\\", "%_%",
    "x' OR '1'='1", "Robert'); DROP TABLE service_group;--", "ünï©ødé ✓ 日本語 🚀", "tab\there\nnewline",
    "$1", "?", "\"quoted\"", "</script><b>",
]


def _alive(ctx, what):
    check_health(ctx.port, what)


def s_hostile_strings(ctx, label):
    """SQL metacharacters and unicode in every string field round-trip exactly; filters match
    literally (no LIKE wildcards); other rows are untouched."""
    m = mg(ctx, label)
    svc = "hostile.mg.svc"
    # sentinels written first
    m.ok("group/insert-groups.json", with_ctx({"groups": [group(svc, "sentinel", description="keep me")]}))
    sentinel = m.groups_of(svc, name="sentinel")
    eq(len(sentinel), 1, "sentinel group")
    m.operate_instance(instance_key(svc, "sentinel-i"), operator="sent", token="sent")
    for i, h in enumerate(HOSTILE):
        m.ok("group/insert-groups.json", with_ctx({"groups": [group(svc, "n%d%s" % (i, h), description=h, app_id=h)]},
                                                  operator=h, token=h, reason=h, operation=h))
    allg = m.groups_of(svc)
    eq(len(allg), len(HOSTILE) + 1, "groups of the hostile service (%s)" % short([g["name"] for g in allg]))
    for i, h in enumerate(HOSTILE):
        got = m.groups_of(svc, name="n%d%s" % (i, h))
        eq([(g["name"], g["description"], g["appId"]) for g in got], [("n%d%s" % (i, h), h, h)], "group %d round-trip" % i)
    for h in ("%", "_", "%_%"):
        eq(m.groups_of(svc, name=h), [], "get-groups name=%r must match literally" % h)
        eq(m.groups_of(h), [], "get-groups serviceId=%r must match literally" % h)
    eq(m.groups_of(svc, name="sentinel"), sentinel, "sentinel group unchanged")
    # logs keep the hostile operator / token / reason / operation exactly
    for h in HOSTILE:
        rows = m.logs("group", operatorId=h)
        check(rows, "group logs by operatorId %r are empty" % h)
        for r in rows:
            eq((r["operatorId"], r["token"], r["reason"], r["operation"]), (h, h, h, h), "group log of %r" % h)
    for h in ("%", "_"):
        eq({r["operatorId"] for r in m.logs("group", operatorId=h)}, {h}, "log filter operatorId=%r literal" % h)
    # instance operations with hostile keys and operation names
    for i, h in enumerate(HOSTILE):
        key = instance_key(svc + h, "i" + h)
        m.operate_instance(key, operation="op" + h, operator=h, token=h)
        eq(m.ok("instance-operations.json", {"instanceKey": key})["operations"], {"instanceKey": key, "operations": ["op" + h]},
           "instance operation %d round-trip" % i)
    eq(m.ok("instance-operations.json", {"instanceKey": instance_key(svc, "sentinel-i")})["operations"],
       {"instanceKey": instance_key(svc, "sentinel-i"), "operations": ["pullout"]}, "sentinel instance operation survives")
    eq(m.ok("instance-operations.json", {"instanceKey": instance_key(svc + "%", "i%")})["operations"]["operations"], ["op%"],
       "a '%' key is its own row")
    for i, h in enumerate(HOSTILE):
        m.operate_instance(instance_key(svc + h, "i" + h), operation="op" + h, operator=h, token=h, complete=True)
    # tags, route rules, logical instances, zone operations with hostile strings
    gid = sentinel[0]["groupId"]
    tags = {("k%d" % i) + h: h for i, h in enumerate(HOSTILE)}
    m.ok("group/insert-group-tags.json", with_ctx({"groupTagsList": [{"groupId": gid, "tags": tags}]}))
    eq(m.ok("group/get-group-tags.json", {"groupId": gid})["groupTags"], {"groupId": gid, "tags": tags}, "hostile tags round-trip")
    for i, h in enumerate(HOSTILE[:6]):
        m.ok("group/insert-route-rules.json", with_ctx({"routeRules": [route_rule(svc, "r%d%s" % (i, h), description=h)]}))
        got = m.rules_of(svc, name="r%d%s" % (i, h))
        eq([(r["name"], r["description"]) for r in got], [("r%d%s" % (i, h), h)], "route rule %d round-trip" % i)
    sis = [service_instance(svc, "l%d%s" % (i, h), metadata={h: h}, machineName=h, description=h)
           for i, h in enumerate(HOSTILE)]
    m.ok("group/insert-service-instances.json", with_ctx({"serviceInstances": sis}))
    rows = m.ok("group/get-service-instances.json", {"serviceId": svc})["serviceInstances"]
    eq(sorted((r["instanceId"], r["machineName"], r["description"], json.dumps(r["metadata"], sort_keys=True)) for r in rows),
       sorted((s["instanceId"], s["machineName"], s["description"], json.dumps(s["metadata"], sort_keys=True)) for s in sis),
       "hostile logical instances round-trip")
    zk = zone_key(svc, "z'; DROP TABLE service_zone;--")
    m.ok("zone/operate-zone-operations.json", {"operationComplete": False, "operatorId": "'", "token": "%",
                                               "zoneOperationsList": [{"operations": ["o'p"], "zoneKey": zk}]})
    eq(m.ok("zone/get-zone-operations.json", {"zoneKey": zk})["operations"], {"operations": ["o'p"], "zoneKey": zk},
       "hostile zone operation round-trip")
    m.ok("zone/operate-zone-operations.json", {"operationComplete": True, "operatorId": "'", "token": "%",
                                               "zoneOperationsList": [{"operations": ["o'p"], "zoneKey": zk}]})
    # the whole thing once more, sent as \\u escapes by a Java-mode client
    mj = Mgmt(ctx.port, label, mode="java")
    ctx.defer(mj.close)
    h = HOSTILE[10]
    mj.ok("group/insert-groups.json", dumps(with_ctx({"groups": [group(svc, "esc" + h, description=h)]}), ascii_only=True))
    eq([g["description"] for g in m.groups_of(svc, name="esc" + h)], [h], "\\u-escaped unicode round-trip")
    eq(m.groups_of(svc, name="sentinel"), [dict(sentinel[0], metadata=tags)], "sentinel group unchanged at the end (its tags aside)")
    _alive(ctx, "after hostile strings")
    # clean up what could pull out other tests' instances
    m.operate_instance(instance_key(svc, "sentinel-i"), complete=True, operator="sent", token="sent")


s_hostile_strings.timeout = 60


def s_hostile_shapes(ctx, label):
    """Malformed JSON, wrong types, huge tags, unknown ids: never a crash, never a 5xx without a
    JSON body; the store still answers and is not corrupted."""
    m = mg(ctx, label)
    svc = "shape.mg.svc"
    m.ok("group/insert-groups.json", with_ctx({"groups": [group(svc, "keep")]}))
    keep = m.groups_of(svc)
    bodies = [
        b"{", b"[]", b"\"str\"", b"123", b"{\"groups\":", b"{\"a\":1}}", b"\xff\xfe\x00", b"{\"groups\":[{\"name\":\"x\"",
        json.dumps({"instanceKey": "not-an-object", "operation": 5, "operationComplete": "yes"}).encode(),
        json.dumps({"groups": 5}).encode(), json.dumps({"groups": [5, "x", None]}).encode(),
        json.dumps({"groupIds": ["x", {"a": 1}]}).encode(), json.dumps({"routeRuleIds": [1.5e300]}).encode(),
        json.dumps({"groupTagsList": [{"groupId": "abc", "tags": ["x"]}]}).encode(),
        json.dumps({"zoneOperationsList": [{"zoneKey": None, "operations": None}], "operationComplete": False,
                    "operatorId": "x", "token": "t"}).encode(),
        json.dumps({"groupOperationsList": [{"groupId": None, "operations": ["x"]}], "operationComplete": False,
                    "operatorId": "x", "token": "t", "operation": "o"}).encode(),
        json.dumps({"serviceInstances": [{"port": "eighty"}], "operatorId": "x", "operation": "o", "token": "t"}).encode(),
        json.dumps({"canaryIps": "10.0.0.1", "serviceId": ["x"], "operatorId": "x", "operation": "o", "token": "t"}).encode(),
        ("{\"groupId\":" + "9" * 40 + "}").encode(),
        ("[" * 5000 + "]" * 5000).encode(),
    ]
    for path in PATHS:
        for body in bodies:
            t0 = time.monotonic()
            try:
                r = m.raw(path, body, mode="plain")
            except http.HttpError as e:
                raise AssertionError("%s with %r: no answer after %.1f s (%s)" % (path, body[:60], time.monotonic() - t0, e))
            check(r.status < 500 or (r.body.strip().startswith(b"{") and r.json() is not None),
                  "%s with %r: HTTP %d without a JSON body %r" % (path, body[:60], r.status, r.body[:200]))
            if r.status == 200:
                doc = r.json()
                check_sorted(r.text(), path)
                check(isinstance(doc.get("responseStatus"), dict), "%s with %r: no responseStatus: %r" % (path, body[:60], r.body[:200]))
        _alive(ctx, "after hostile bodies on %s" % path)
    # unknown ids
    for path, body in [
        ("group/get-group-operations.json", {"groupId": 987654321}),
        ("group/get-group-tags.json", {"groupId": 987654321}),
        ("group/get-group-instances.json", {"groupId": 987654321}),
        ("group/get-route-rule-groups.json", {"routeRuleId": 987654321}),
    ]:
        doc = m.ok(path, body)
        vals = [v for k, v in doc.items() if k != "responseStatus"]
        check(all(v in (None, []) for v in vals), "%s of an unknown id: %s" % (path, short(doc)))
    for path, body in [
        ("group/delete-groups.json", {"groupIds": [987654321]}),
        ("group/delete-route-rules.json", {"routeRuleIds": [987654321]}),
        ("group/delete-route-rule-groups.json", {"routeRuleGroupIds": [987654321]}),
        ("group/delete-group-instances.json", {"groupInstanceIds": [987654321]}),
        ("group/delete-service-instances.json", {"serviceInstanceIds": [987654321]}),
        ("group/release-route-rule-groups.json", {"routeRuleGroups": [{"groupId": 987654321, "routeRuleId": 987654320}]}),
        ("group/insert-group-tags.json", {"groupTagsList": [{"groupId": 987654321, "tags": {"a": "b"}}]}),
        ("group/insert-group-instances.json", {"groupInstances": [{"groupId": 987654321, "instanceId": "x"}]}),
        ("group/operate-group-operations.json", {"groupOperationsList": [{"groupId": 987654321, "operations": ["x"]}],
                                                 "operationComplete": False}),
    ]:
        doc = m.call(path, with_ctx(body))
        rs = doc.get("responseStatus") or {}
        check(rs.get("status") in ("success", "fail"), "%s with unknown ids: %s" % (path, short(doc)))
    check(isinstance(m.ok("group/get-all-group-operations.json", {}).get("allGroupOperations"), list),
          "get-all-group-operations after writes with unknown ids")
    # 1 MB of tags: one huge value, then many tags
    gid = keep[0]["groupId"]
    big = "v" * (1 << 20)
    r = m.raw("group/insert-group-tags.json", dumps(with_ctx({"groupTagsList": [{"groupId": gid, "tags": {"big": big}}]})))
    check(r.status < 500 or r.body.strip().startswith(b"{"), "1 MB tag: HTTP %d %r" % (r.status, r.body[:200]))
    _alive(ctx, "after a 1 MB tag")
    tags = m.ok("group/get-group-tags.json", {"groupId": gid})["groupTags"]
    if r.status == 200 and r.json().get("responseStatus") == SUCCESS:
        eq(tags, {"groupId": gid, "tags": {"big": big}}, "a 1 MB tag accepted must round-trip")
    else:
        check(tags is None or "big" not in tags.get("tags", {}), "a refused 1 MB tag was partly stored")
    many = {"t%05d" % i: "x" * 90 for i in range(10000)}
    slow = Mgmt(ctx.port, label, timeout=60.0)  # a fresh connection: a timed-out write is not sent twice
    ctx.defer(slow.close)
    t0 = time.monotonic()
    r = slow.raw("group/insert-group-tags.json", dumps(with_ctx({"groupTagsList": [{"groupId": gid, "tags": many}]})))
    secs = time.monotonic() - t0
    check(r.status < 500 or r.body.strip().startswith(b"{"), "10000 tags: HTTP %d %r" % (r.status, r.body[:200]))
    check(secs < 10.0, "a write of 10000 tags (1 MB) took %.1f s (want < 10 s: the store is blocked meanwhile)" % secs)
    _alive(ctx, "after 10000 tags")
    if r.status == 200 and r.json().get("responseStatus") == SUCCESS:
        got = m.ok("group/get-group-tags.json", {"groupId": gid})["groupTags"]["tags"]
        eq(len([k for k in got if k.startswith("t")]), 10000, "10000 tags accepted must all be stored")
    eq([dict(g, metadata=None) for g in m.groups_of(svc)], [dict(g, metadata=None) for g in keep], "the group survives")
    m.ok("group/delete-groups.json", with_ctx({"groupIds": [gid]}))


s_hostile_shapes.timeout = 90


# ---- restart ------------------------------------------------------------------------------------

RESTART_SVC = "restart.mg.svc"


def s_restart_prepare(ctx, label):
    """Write one of everything that must survive a restart; returns what was written."""
    m = mg(ctx, label)
    c = ctx.client(mode="plain")
    svc = RESTART_SVC
    a = instance(svc, "r-a", ip="10.70.0.1", groupId="rg")
    b = instance(svc, "r-b", ip="10.70.0.2")
    s_ = instance(svc, "r-s", ip="10.70.0.3")
    z = instance(svc, "r-z", ip="10.70.0.4", zone="sha-z2")
    k = instance(svc, "r-k", ip="10.70.0.5", groupId="other")
    Api(c).must_register(a, b, s_, z, k)
    m.operate_instance(instance_key(b), operator="rs", token="rs")
    m.operate_server(server_key("10.70.0.3"), operator="rs", token="rs")
    m.ok("zone/operate-zone-operations.json", {"operationComplete": False, "operatorId": "rs", "token": "rs",
                                               "zoneOperationsList": [{"operations": ["pullout"], "zoneKey": zone_key(svc, "sha-z2")}]})
    body = with_ctx({"groups": [group(svc, "rg", weight=70), group(svc, "other", weight=30)],
                     "routeRule": route_rule(svc, "keep-rule")})
    m.ok("group/create-route-rule.json", body)
    rid = m.rule_id(svc, "keep-rule")
    gid, oid = m.group_id(svc, "rg"), m.group_id(svc, "other")
    m.ok("group/release-route-rule-groups.json", with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid},
                                                                               {"groupId": oid, "routeRuleId": rid}]}))
    m.ok("group/insert-group-tags.json", with_ctx({"groupTagsList": [{"groupId": gid, "tags": {"persist": "yes"}}]}))
    m.ok("group/insert-group-instances.json", with_ctx({"groupInstances": [{"groupId": oid, "instanceId": "r-a"}]}))
    m.ok("group/operate-group-operations.json", with_ctx({"groupOperationsList": [{"groupId": oid, "operations": ["pullout"]}],
                                                          "operationComplete": False}))
    m.ok("group/insert-service-instances.json", with_ctx({"serviceInstances": [service_instance(svc, "r-l")]}))
    state = _restart_state(m, c)
    eq(lookup_ids(c, svc), {"r-a"}, "lookup before the restart")
    return {"state": state, "instances": [a, b, s_, z, k]}


def _restart_state(m, c):
    svc = RESTART_SVC
    s = lookup_service(c, svc)
    return {
        "instance-ops": m.ok("instance-operations.json", {"instanceKey": instance_key(svc, "r-b")})["operations"],
        "server-ops": m.ok("server-operations.json", {"serverKey": server_key("10.70.0.3")})["operations"],
        "zone-ops": m.ok("zone/get-zone-operations.json", {"zoneKey": zone_key(svc, "sha-z2")})["operations"],
        "groups": sorted(m.groups_of(svc), key=lambda g: g["groupId"]),
        "rules": m.rules_of(svc),
        "rule-groups": sorted(m.rule_groups(m.rule_id(svc, "keep-rule")), key=lambda g: g["routeRuleGroupId"]),
        "group-ops": m.ok("group/get-all-group-operations.json", {})["allGroupOperations"],
        "logic": m.ok("group/get-service-instances.json", {"serviceId": svc})["serviceInstances"],
        "routeRules": _norm_rules(s["routeRules"]),
        "logicInstances": s["logicInstances"],
        "logs": len(m.logs("instance-operation", serviceId=svc)),
    }


def s_restart_verify(ctx, label, prepared):
    """After the restart (registry empty): re-register and check every piece of management
    state is back and applied."""
    m = mg(ctx, label)
    c = ctx.client(mode="plain")
    Api(c).must_register(*prepared["instances"])
    after = _restart_state(m, c)
    for k, v in prepared["state"].items():
        if k == "group-ops":
            eq(sorted(after[k], key=lambda g: g["groupId"]), sorted(v, key=lambda g: g["groupId"]), "after restart: %s" % k)
        else:
            eq(after[k], v, "after restart: %s" % k)
    eq(lookup_ids(c, RESTART_SVC), {"r-a"}, "lookup after the restart (pull-outs still applied)")
    eq(m.ok("instance-down.json", {"instance": prepared["instances"][1]})["down"], True, "instance-down after restart")
    eq(m.ok("zone/is-zone-down.json", {"zoneKey": zone_key(RESTART_SVC, "sha-z2")})["down"], True, "is-zone-down after restart")
    # writes still work after the restart, and ids keep growing
    m.operate_instance(instance_key(prepared["instances"][1]), complete=True, operator="rs", token="rs")
    eq(lookup_ids(c, RESTART_SVC), {"r-a", "r-b"}, "pull-in after the restart")
    m.ok("group/insert-groups.json", with_ctx({"groups": [group(RESTART_SVC, "post-restart")]}))
    new_id = m.group_id(RESTART_SVC, "post-restart")
    check(all(new_id > g["groupId"] for g in prepared["state"]["groups"]), "group id reused after a restart: %d" % new_id)


def s_restart_verify_kill(ctx, label, prepared):
    """After a SIGKILL following s_restart_verify: the writes answered before it are there."""
    m = mg(ctx, label)
    c = ctx.client(mode="plain")
    Api(c).must_register(*prepared["instances"])
    eq(m.ok("instance-operations.json", {"instanceKey": instance_key(RESTART_SVC, "r-b")})["operations"], None,
       "the pull-in answered before SIGKILL is kept")
    m.group_id(RESTART_SVC, "post-restart")
    eq(lookup_ids(c, RESTART_SVC), {"r-a", "r-b"}, "lookup after SIGKILL and restart")
    eq(_norm_rules(lookup_service(c, RESTART_SVC)["routeRules"]), prepared["state"]["routeRules"], "routeRules after SIGKILL")


def s_restart_cleanup(ctx, label, prepared):
    m = mg(ctx, label)
    svc = RESTART_SVC
    m.operate_server(server_key("10.70.0.3"), complete=True, operator="rs", token="rs")
    m.ok("zone/operate-zone-operations.json", {"operationComplete": True, "operatorId": "rs", "token": "rs",
                                               "zoneOperationsList": [{"operations": ["pullout"], "zoneKey": zone_key(svc, "sha-z2")}]})
    oid = m.group_id(svc, "other")
    m.ok("group/operate-group-operations.json", with_ctx({"groupOperationsList": [{"groupId": oid, "operations": ["pullout"]}],
                                                          "operationComplete": True}))
    Api(ctx.client(mode="plain")).unregister(*prepared["instances"])


def s_coverage(label):
    """Every one of the 57 paths answered success at least once in this module."""
    missing = [p for p in PATHS if p not in coverage(label)]
    check(not missing, "%d of 57 management paths never answered success: %s" % (len(missing), ", ".join(missing)))
