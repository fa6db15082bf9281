"""Artemis in C for Python: self-registration with auto-heartbeat and discovery with a local
cache, on libartemis (the C SDK).

    import artemis

    with artemis.Client("http://127.0.0.1:8080") as client:
        with client.register("my.service", "my-1", "10.0.0.5", 9000) as reg:
            reg.wait(5)
            svc = client.lookup("other.service")      # Service; .instances are dataclasses
            inst = svc.pick()                          # weighted by the route rules
            for view in client.watch("other.service"): # an iterator of views
                ...

Threads: one Client may be shared by all threads. Callbacks (watch callbacks, log lines) run
on the SDK's thread with the GIL held. See docs/bindings.md.
"""

from . import _artemis
from ._client import Client, Registration, Service, Watch
from ._types import (
    ArtemisError,
    Closed,
    ErrorCode,
    Group,
    Instance,
    InvalidArgument,
    LogLevel,
    NotFound,
    RegState,
    RouteRule,
    Timeout,
    Unavailable,
    make_error,
)

_artemis._set_types(Instance, RouteRule, Group, make_error)

__version__ = "0.1.0"


def library_version() -> str:
    """The version of the libartemis this package loaded."""
    return _artemis.library_version()


__all__ = [
    "ArtemisError",
    "Client",
    "Closed",
    "ErrorCode",
    "Group",
    "Instance",
    "InvalidArgument",
    "LogLevel",
    "NotFound",
    "RegState",
    "Registration",
    "RouteRule",
    "Service",
    "Timeout",
    "Unavailable",
    "Watch",
    "library_version",
]
