"""Requests exactly as the Java client sends them (protocol.md §0.2): gzip-compressed chunked
bodies with the Apache HttpClient header set, fixture bodies verbatim, several requests on one
keep-alive connection, and gzip/deflate-compressed answers decoded transparently."""

import gzip
import json

from lib import http
from lib.util import SUCCESS, Api, check, eq, fx, fxj, instance, lookup_req


def test_java_style_register_lookup_unregister(ctx):
    conn = http.Connection(ctx.port)
    ctx.defer(conn.close)
    r = conn.request("POST", "/api/registry/register.json", fx("F1"), mode="java")
    check(r.status == 200, "register HTTP %d %r" % (r.status, r.body[:200]))
    ctype = (r.header("content-type") or "").lower().replace(" ", "")
    check(ctype.startswith("application/json"), "response Content-Type %r" % ctype)
    eq(r.json(), fxj("F2"), "register response")
    r = conn.request("POST", "/api/discovery/lookup.json", fx("F10", 0), mode="java")
    check(r.status == 200, "lookup HTTP %d" % r.status)
    doc = r.json()
    eq(doc["responseStatus"], SUCCESS, "lookup status")
    eq(doc["services"][0]["instances"], fxj("F1")["instances"], "instances of demo.service.v1")
    r = conn.request("POST", "/api/registry/unregister.json", fx("F9", 0), mode="java")
    eq(r.json(), fxj("F9", 1), "unregister response")
    check(conn.connects == 1, "the three requests should share one connection (connects=%d)" % conn.connects)


def test_plain_content_length_body(ctx):
    c = ctx.client(mode="plain")
    inst = instance("plain.svc", "p1")
    eq(c.post_json("/api/registry/register.json", {"instances": [inst]}), fxj("F2"), "plain register")
    eq(Api(c).lookup("plain.svc"), [inst], "plain lookup")


def test_chunked_without_gzip_and_gzip_with_length(ctx):
    conn = http.Connection(ctx.port)
    ctx.defer(conn.close)
    inst = instance("mixed.svc", "m1")
    body = json.dumps({"instances": [inst]}).encode()
    r = conn.request(
        "POST",
        "/api/registry/register.json",
        http.chunked(body, 7),
        [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
        mode="raw",
    )
    eq(r.json(), fxj("F2"), "chunked, not compressed")
    gz = gzip.compress(json.dumps({"instances": [dict(inst, instanceId="m2")]}).encode())
    r = conn.request(
        "POST",
        "/api/registry/register.json",
        gz,
        [("Content-Type", "application/json"), ("Content-Encoding", "gzip"), ("Content-Length", str(len(gz)))],
        mode="raw",
    )
    eq(r.json(), fxj("F2"), "gzip with Content-Length")
    eq(Api(ctx.client()).lookup_ids("mixed.svc"), {"m1", "m2"}, "registered ids")


def test_keep_alive_many_requests_one_socket(ctx):
    conn = http.Connection(ctx.port)
    ctx.defer(conn.close)
    conn.connect()
    port0 = conn.local_port()
    inst = instance("keepalive.svc", "k1")
    req = json.dumps({"instances": [inst]})
    for i in range(12):
        if i % 4 == 0:
            r = conn.request("POST", "/api/registry/register.json", req, mode="java")
        elif i % 4 == 1:
            r = conn.request("POST", "/api/registry/heartbeat.json", req, mode="java")
        elif i % 4 == 2:
            r = conn.request("POST", "/api/discovery/lookup.json", json.dumps(lookup_req("keepalive.svc")), mode="plain")
        else:
            r = conn.request("GET", "/health", mode="plain")
        check(r.status == 200, "request %d HTTP %d" % (i, r.status))
        check((r.header("connection") or "").lower() != "close", "request %d: server asked to close" % i)
        if i % 4 < 2:
            eq(r.json(), fxj("F2"), "request %d" % i)
        check(conn.sock is not None and conn.local_port() == port0, "request %d used a new socket" % i)
    check(conn.connects == 1, "expected one TCP connection, made %d" % conn.connects)


def test_large_answer_compression(ctx):
    api = ctx.api()
    insts = [instance("big.answer.svc", "i%03d" % i, metadata={"k": "v" * 40}) for i in range(60)]
    api.must_register(*insts)
    body = json.dumps(lookup_req("big.answer.svc"))
    # With Accept-Encoding gzip,deflate the answer may be compressed; decoded it must be right.
    conn = http.Connection(ctx.port)
    ctx.defer(conn.close)
    r = conn.request("POST", "/api/discovery/lookup.json", body, mode="java")
    check(r.status == 200, "HTTP %d" % r.status)
    eq(r.json()["services"][0]["instances"], insts, "instances (Accept-Encoding gzip,deflate)")
    # Without Accept-Encoding the answer must not be compressed.
    r = conn.request("POST", "/api/discovery/lookup.json", body, mode="plain")
    check(r.header("content-encoding") in (None, "identity"), "compressed answer without Accept-Encoding")
    eq(r.json()["services"][0]["instances"], insts, "instances (no Accept-Encoding)")
