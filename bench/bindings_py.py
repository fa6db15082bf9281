"""bindings_py: per-call cost of a cached lookup + pick from Python, through the package's
CPython extension and through cffi (ABI mode, and API mode compiled here), on the same
libartemis and the same 100-instance service (issue 15: why the binding is an extension).

    PYTHONPATH=bindings/python LD_LIBRARY_PATH=build/lib /usr/bin/python3 bench/bindings_py.py \
        --url http://127.0.0.1:PORT --service bench.service.0 [--region sha --zone sha-z1]
        [--ops 1000000] [--batch 100000] [--expect 100]

Prints one JSON line: for each variant the ns per call of every batch and their median. The
variants do the same work: take the cached view, pick one instance, read its instance id, ip
and port (the extension returns them as an Instance dataclass; cffi reads them field by field),
drop the view. "raw" variants stop at the three C calls (get_cached, pick, unref): the floor
of each mechanism.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CDEF = """
typedef struct artemis_config artemis_config_t;
typedef struct artemis_client artemis_client_t;
typedef struct artemis_service artemis_service_t;
typedef struct artemis_instance artemis_instance_t;
typedef struct artemis_error { int code; int sys_errno; long http_status; char text[256]; } artemis_error_t;
artemis_config_t *artemis_config_new(void);
void artemis_config_free(artemis_config_t *cfg);
int artemis_config_set_servers(artemis_config_t *cfg, const char *urls);
int artemis_config_set_region(artemis_config_t *cfg, const char *region);
int artemis_config_set_zone(artemis_config_t *cfg, const char *zone);
artemis_client_t *artemis_client_new(const artemis_config_t *cfg, artemis_error_t *err);
int artemis_client_start(artemis_client_t *c, artemis_error_t *err);
void artemis_client_free(artemis_client_t *c);
int artemis_client_discover(artemis_client_t *c, const char *service_id, int64_t timeout_ms,
                            artemis_service_t **out, artemis_error_t *err);
artemis_service_t *artemis_client_get_cached(artemis_client_t *c, const char *service_id);
void artemis_service_unref(artemis_service_t *svc);
size_t artemis_service_instance_count(const artemis_service_t *svc);
const artemis_instance_t *artemis_service_pick(const artemis_service_t *svc);
const char *artemis_instance_get(const artemis_instance_t *inst, int field);
int artemis_instance_port(const artemis_instance_t *inst);
"""
F_INSTANCE_ID, F_IP = 2, 3


def batches(fn, ops, batch):
    """ns per call of each batch of fn(n) (fn runs the operation n times)."""
    fn(min(batch, 10000))  # warm up
    out = []
    for _ in range(max(1, ops // batch)):
        t0 = time.perf_counter_ns()
        fn(batch)
        out.append((time.perf_counter_ns() - t0) / batch)
    return {"median": round(statistics.median(out), 1), "min": round(min(out), 1),
            "max": round(max(out), 1), "batches": [round(x, 1) for x in out]}


def cffi_client(ffi, lib, opt):
    cfg = lib.artemis_config_new()
    lib.artemis_config_set_servers(cfg, opt.url.encode())
    lib.artemis_config_set_region(cfg, opt.region.encode())
    lib.artemis_config_set_zone(cfg, opt.zone.encode())
    err = ffi.new("artemis_error_t *")
    c = lib.artemis_client_new(cfg, err)
    lib.artemis_config_free(cfg)
    if c == ffi.NULL or lib.artemis_client_start(c, err) != 0:
        raise SystemExit("cffi: client: " + ffi.string(err.text).decode())
    out = ffi.new("artemis_service_t **")
    if lib.artemis_client_discover(c, opt.service.encode(), 5000, out, err) != 0:
        raise SystemExit("cffi: discover: " + ffi.string(err.text).decode())
    n = lib.artemis_service_instance_count(out[0])
    lib.artemis_service_unref(out[0])
    if n != opt.expect:
        raise SystemExit("cffi: %d instances, expected %d" % (n, opt.expect))
    return c


def cffi_variants(ffi, lib, c, sid):
    get, pick, unref = lib.artemis_client_get_cached, lib.artemis_service_pick, lib.artemis_service_unref
    field, port, string = lib.artemis_instance_get, lib.artemis_instance_port, ffi.string

    def raw(n):
        for _ in range(n):
            s = get(c, sid)
            pick(s)
            unref(s)

    def full(n):
        for _ in range(n):
            s = get(c, sid)
            i = pick(s)
            (string(field(i, F_INSTANCE_ID)), string(field(i, F_IP)), port(i))
            unref(s)

    return raw, full


def cffi_api_module(tmp, include, libdir):
    """The same declarations compiled out of line (cffi's API mode)."""
    import cffi

    b = cffi.FFI()
    b.cdef(CDEF)
    b.set_source("_artemis_cffi_bench", "#include <artemis/artemis.h>", include_dirs=[include],
                 library_dirs=[libdir], libraries=["artemis"], extra_link_args=["-Wl,-rpath," + libdir])
    b.compile(tmpdir=tmp, verbose=False)
    sys.path.insert(0, tmp)
    import _artemis_cffi_bench

    return _artemis_cffi_bench.ffi, _artemis_cffi_bench.lib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--region", default="sha")
    ap.add_argument("--zone", default="sha-z1")
    ap.add_argument("--ops", type=int, default=1000000)
    ap.add_argument("--batch", type=int, default=100000)
    ap.add_argument("--expect", type=int, default=100)
    ap.add_argument("--libdir", default=os.environ.get("ARTEMIS_LIB_DIR", os.path.join(ROOT, "build", "lib")))
    opt = ap.parse_args()
    res = {"python": sys.version.split()[0], "instances": opt.expect, "ops": opt.ops, "batch": opt.batch}

    import artemis

    c = artemis.Client(opt.url, region=opt.region, zone=opt.zone)
    svc = c.lookup(opt.service, timeout=5)
    if len(svc) != opt.expect:
        raise SystemExit("extension: %d instances, expected %d" % (len(svc), opt.expect))
    sid = opt.service
    svc.pick()  # builds the instances once, as the first pick of a new view does

    def ext_full(n):
        lookup = c.lookup
        for _ in range(n):
            i = lookup(sid).pick()
            (i.instance_id, i.ip, i.port)

    def ext_pick(n):
        p = svc.pick
        for _ in range(n):
            p()

    def ext_lookup(n):
        lookup = c.lookup
        for _ in range(n):
            lookup(sid)

    def empty(n):
        for _ in range(n):
            pass

    res["loop_overhead_ns"] = batches(empty, opt.ops, opt.batch)
    res["ext_lookup_pick_ns"] = batches(ext_full, opt.ops, opt.batch)
    res["ext_lookup_ns"] = batches(ext_lookup, opt.ops, opt.batch)
    res["ext_pick_ns"] = batches(ext_pick, opt.ops, opt.batch)
    c.close()

    try:
        import cffi
    except ImportError:
        res["cffi"] = "python3-cffi is not installed (make deps installs it)"
    else:
        res["cffi_version"] = cffi.__version__
        ffi = cffi.FFI()
        ffi.cdef(CDEF)
        lib = ffi.dlopen(os.path.join(opt.libdir, "libartemis.so.1"))
        cc = cffi_client(ffi, lib, opt)
        raw, full = cffi_variants(ffi, lib, cc, opt.service.encode())
        res["cffi_abi_raw_ns"] = batches(raw, opt.ops, opt.batch)
        res["cffi_abi_lookup_pick_ns"] = batches(full, opt.ops, opt.batch)
        lib.artemis_client_free(cc)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                affi, alib = cffi_api_module(tmp, os.path.join(ROOT, "include"), opt.libdir)
            except Exception as e:  # a missing compiler or header: say so, keep the rest
                res["cffi_api"] = "not built: %s" % e
            else:
                cc = cffi_client(affi, alib, opt)
                raw, full = cffi_variants(affi, alib, cc, opt.service.encode())
                res["cffi_api_raw_ns"] = batches(raw, opt.ops, opt.batch)
                res["cffi_api_lookup_pick_ns"] = batches(full, opt.ops, opt.batch)
                alib.artemis_client_free(cc)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
