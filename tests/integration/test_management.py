"""Management API end to end (protocol.md §7, F21-F23) against the runner's server with its
default SQLite store in the server's temporary data dir: all 57 /api/management/ paths with
their request and answer shapes (alphabetical properties, explicit nulls, error texts), their
effects on discovery (lookup.json, service.json, services.json, services-delta.json, the
instance-change WebSocket), audit logs, a restart of the server on the same data dir, and
hostile input. The bodies live in lib/mgmt.py and run against PostgreSQL too
(test_management_pg.py)."""

import os

from lib import mgmt
from lib.util import check, eq

SERVER_ARGS = list(mgmt.SERVER_ARGS)
L = "sqlite"


def test_f21_pullout_pullin(ctx):
    mgmt.s_f21_pullout_pullin(ctx, L)


test_f21_pullout_pullin.timeout = 30


def test_pullout_in_services_delta(ctx):
    mgmt.s_pullout_delta(ctx, L)


test_pullout_in_services_delta.timeout = 20


def test_operate_errors(ctx):
    mgmt.s_operate_errors(ctx, L)


def test_instance_key_case_insensitive(ctx):
    mgmt.s_instance_key_case_insensitive(ctx, L)


def test_server_operations(ctx):
    mgmt.s_server_operations(ctx, L)


test_server_operations.timeout = 20


def test_zone_operations(ctx):
    mgmt.s_zone_operations(ctx, L)


test_zone_operations.timeout = 20


def test_group_operations(ctx):
    mgmt.s_group_operations(ctx, L)


test_group_operations.timeout = 30


def test_route_rules_f22(ctx):
    mgmt.s_route_rules_f22(ctx, L)


test_route_rules_f22.timeout = 40


def test_update_paths(ctx):
    mgmt.s_update_paths(ctx, L)


test_update_paths.timeout = 30


def test_canary(ctx):
    mgmt.s_canary(ctx, L)


def test_logic_instances(ctx):
    mgmt.s_logic_instances(ctx, L)


def test_management_views(ctx):
    mgmt.s_management_views(ctx, L)


def test_write_context_required(ctx):
    mgmt.s_write_context_required(ctx, L)


test_write_context_required.timeout = 20


def test_hostile_strings(ctx):
    mgmt.s_hostile_strings(ctx, L)


test_hostile_strings.timeout = 60


def test_hostile_shapes(ctx):
    mgmt.s_hostile_shapes(ctx, L)


test_hostile_shapes.timeout = 90


def test_sqlite_file_in_data_dir(ctx):
    """The default store is a SQLite file under --data-dir (not somewhere else)."""
    files = []
    for root, _dirs, names in os.walk(ctx.server.data_dir):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                if f.read(16) == b"SQLite format 3\x00":
                    files.append(os.path.join(root, n))
    check(files, "no SQLite database file under the data dir %s" % ctx.server.data_dir)


def test_survives_restart(ctx):
    prepared = mgmt.s_restart_prepare(ctx, L)
    code = ctx.server.stop(5.0)
    eq(code, 0, "exit status after SIGTERM")
    ctx.server.restart()
    mgmt.s_restart_verify(ctx, L, prepared)
    # and once more after SIGKILL: every answered write was committed
    ctx.server.kill()
    ctx.server.restart()
    mgmt.s_restart_verify_kill(ctx, L, prepared)
    mgmt.s_restart_cleanup(ctx, L, prepared)


test_survives_restart.timeout = 60


def test_all_57_paths_covered(ctx):
    mgmt.s_coverage(L)
