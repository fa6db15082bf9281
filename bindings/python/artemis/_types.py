"""Plain values of the binding: instances, route rules, codes and errors."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple


@dataclass(frozen=True, slots=True)
class Instance:
    """One instance as a server sent it (a copy; stays valid after the client closes).

    The field order is the extension's positional order: do not reorder.
    """

    service_id: str
    instance_id: str
    ip: str
    port: int
    status: Optional[str] = "up"
    region_id: Optional[str] = None
    zone_id: Optional[str] = None
    group_id: Optional[str] = None
    machine_name: Optional[str] = None
    protocol: Optional[str] = None
    url: Optional[str] = None
    health_check_url: Optional[str] = None
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False, compare=True)


@dataclass(frozen=True, slots=True)
class Group:
    """A route rule's group: its key, weight (0..10000) and instances (whatever their status)."""

    key: str
    weight: int
    instances: Tuple[Instance, ...]
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class RouteRule:
    """A route rule as the SDK derived it from the server's (docs/sdk.md, "Route rules")."""

    route_id: str
    strategy: str
    derived: bool
    groups: Tuple[Group, ...]


class RegState(enum.IntEnum):
    """State of one registration (artemis_reg_state_t)."""

    PENDING = 0
    REGISTERED = 1
    FAILING = 2
    UNREGISTERED = 3


class ErrorCode(enum.IntEnum):
    """The SDK's error codes (artemis_err_t); append-only, never renumbered."""

    OK = 0
    NOMEM = 1
    INVALID_ARG = 2
    IO = 3
    TIMEOUT = 4
    PROTOCOL = 5
    HTTP = 6
    NOT_FOUND = 7
    CONFLICT = 8
    CLOSED = 9
    STATE = 10
    SERVER = 11
    UNAVAILABLE = 12


class LogLevel(enum.IntEnum):
    """The SDK's log levels (artemis_log_level_t)."""

    DEBUG = 0
    INFO = 1
    WARN = 2
    ERROR = 3
    NONE = 4


class ArtemisError(Exception):
    """A failed SDK call: .code (ErrorCode), .detail (the SDK's one-line text),
    .http_status (when a server answered >= 400, else 0), .errno (when relevant, else 0)."""

    def __init__(self, code: int, detail: str = "", http_status: int = 0, errno: int = 0):
        try:
            self.code = ErrorCode(code)
        except ValueError:  # a code newer than this package
            self.code = code  # type: ignore[assignment]
        self.detail = detail
        self.http_status = http_status
        self.errno = errno
        name = self.code.name if isinstance(self.code, ErrorCode) else str(code)
        super().__init__("%s: %s" % (name, detail) if detail else name)


class InvalidArgument(ArtemisError, ValueError):
    """ErrorCode.INVALID_ARG: a blank, out-of-range or malformed argument."""


class Timeout(ArtemisError, TimeoutError):
    """ErrorCode.TIMEOUT: no answer within the configured time."""


class Unavailable(ArtemisError, ConnectionError):
    """ErrorCode.UNAVAILABLE / IO: no server could be reached (and nothing cached)."""


class NotFound(ArtemisError, LookupError):
    """ErrorCode.NOT_FOUND."""


class Closed(ArtemisError):
    """ErrorCode.CLOSED: the client was closed."""


_BY_CODE = {
    ErrorCode.INVALID_ARG: InvalidArgument,
    ErrorCode.TIMEOUT: Timeout,
    ErrorCode.UNAVAILABLE: Unavailable,
    ErrorCode.IO: Unavailable,
    ErrorCode.NOT_FOUND: NotFound,
    ErrorCode.CLOSED: Closed,
}


def make_error(code: int, detail: str, http_status: int = 0, errno: int = 0) -> ArtemisError:
    """The exception for an SDK error code (the extension raises what this returns)."""
    return _BY_CODE.get(code, ArtemisError)(code, detail, http_status, errno)
