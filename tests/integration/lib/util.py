"""Assertions, polling and Artemis request builders shared by the integration tests.

JSON is always compared as parsed objects. Lists of instances (and other lists whose order the
protocol says nothing about) are compared as sets: `norm` sorts them by their canonical JSON text.
"""

import json
import time

from .fixtures import FIXTURES

SUCCESS = {"errorCode": "success", "message": "", "status": "success"}
PARTIAL_FAIL = {"errorCode": "partial_fail", "message": "", "status": "partial_fail"}

INSTANCE_FIELDS = {
    "groupId",
    "healthCheckUrl",
    "instanceId",
    "ip",
    "machineName",
    "metadata",
    "port",
    "protocol",
    "regionId",
    "serviceId",
    "status",
    "url",
    "zoneId",
}

# Keys whose list value has no specified order (compared as sets).
UNORDERED = {"instances", "logicInstances", "failedInstances", "nodes", "nodesStatus", "delta-list"}


def fx(name, index=0):
    """Fixture body text, verbatim."""
    return FIXTURES[name][index]


def fxj(name, index=0):
    """Fixture body, parsed."""
    return json.loads(FIXTURES[name][index])


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def norm(obj, key=None):
    if isinstance(obj, dict):
        return {k: norm(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        items = [norm(v) for v in obj]
        if key in UNORDERED:
            items.sort(key=canon)
        return items
    return obj


def short(obj, limit=1500):
    text = obj if isinstance(obj, str) else json.dumps(obj, sort_keys=True, default=repr)
    return text if len(text) <= limit else text[:limit] + "...(%d more)" % (len(text) - limit)


def eq(actual, expected, what="value"):
    """Assert two parsed JSON values are equal (unordered lists as sets)."""
    if norm(actual) != norm(expected):
        raise AssertionError("%s differs\n  expected: %s\n  actual:   %s" % (what, short(expected), short(actual)))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def status_is(resp, code, what="response"):
    check(resp.status == code, "%s: expected HTTP %d, got %d body=%r" % (what, code, resp.status, resp.body[:300]))


def wait_until(fn, timeout, interval=0.1, what="condition"):
    """Poll fn() until it returns a truthy value; return that value or raise after timeout.
    fn may raise AssertionError or TimeoutError (socket.timeout) while the condition is not yet met (the last one is reported)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except (AssertionError, TimeoutError) as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s%s" % (timeout, what, ": %s" % last if last else ""))
        time.sleep(interval)


def instance(service_id, instance_id, ip="127.0.0.1", port=8080, zone="sha-z1", region="sha", metadata=None, **kw):
    """A complete Instance object as a Java client would send it (every field, nulls explicit)."""
    inst = {
        "groupId": None,
        "healthCheckUrl": None,
        "instanceId": instance_id,
        "ip": ip,
        "machineName": None,
        "metadata": metadata,
        "port": port,
        "protocol": "http",
        "regionId": region,
        "serviceId": service_id,
        "status": "up",
        "url": "http://%s:%d/%s" % (ip, port, instance_id),
        "zoneId": zone,
    }
    inst.update(kw)
    return inst


def instances_req(*insts):
    return {"instances": list(insts)}


def lookup_req(*service_ids, region="sha", zone="sha-z1"):
    return {
        "discoveryConfigs": [
            {"discoveryData": None, "regionId": None, "serviceId": s, "zoneId": None} for s in service_ids
        ],
        "regionId": region,
        "zoneId": zone,
    }


class Api:
    """Artemis operations over one keep-alive client."""

    def __init__(self, client):
        self.c = client

    def register(self, *insts):
        return self.c.post_json("/api/registry/register.json", instances_req(*insts))

    def heartbeat(self, *insts):
        return self.c.post_json("/api/registry/heartbeat.json", instances_req(*insts))

    def unregister(self, *insts):
        return self.c.post_json("/api/registry/unregister.json", instances_req(*insts))

    def must_register(self, *insts):
        r = self.register(*insts)
        eq(r, fxj("F2"), "register response")
        return r

    def must_unregister(self, *insts):
        r = self.unregister(*insts)
        eq(r, fxj("F2"), "unregister response")
        return r

    def lookup(self, service_id):
        """Instances of one service from lookup.json (a list; [] for none)."""
        r = self.c.post_json("/api/discovery/lookup.json", lookup_req(service_id))
        eq(r.get("responseStatus"), SUCCESS, "lookup responseStatus")
        services = r.get("services")
        check(isinstance(services, list) and len(services) == 1, "lookup services: %s" % short(services))
        check(services[0].get("serviceId") == service_id, "lookup serviceId: %s" % short(services[0]))
        return services[0].get("instances") or []

    def lookup_ids(self, service_id):
        return {i.get("instanceId") for i in self.lookup(service_id)}

    def wait_present(self, service_id, instance_id, timeout=3.0):
        return wait_until(
            lambda: instance_id in self.lookup_ids(service_id), timeout, what="%s/%s in lookup" % (service_id, instance_id)
        )

    def wait_absent(self, service_id, instance_id, timeout=3.0):
        return wait_until(
            lambda: instance_id not in self.lookup_ids(service_id),
            timeout,
            what="%s/%s gone from lookup" % (service_id, instance_id),
        )
