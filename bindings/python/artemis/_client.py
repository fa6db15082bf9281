"""Client, Registration and Watch: the pythonic surface over artemis._artemis."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _artemis
from ._types import Instance, LogLevel, RegState

Service = _artemis.Service

_log = logging.getLogger("artemis")
_PY_LEVEL = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}

# artemis_field_t of each optional keyword of Client.register().
_FIELDS = {
    "group_id": 0,
    "health_check_url": 1,
    "machine_name": 4,
    "protocol": 5,
    "region_id": 6,
    "status": 8,
    "url": 9,
    "zone_id": 10,
}

# Clients still open at interpreter exit are closed first: a callback must never arrive
# while the interpreter is being torn down.
_live: "weakref.WeakSet[Client]" = weakref.WeakSet()


@atexit.register
def _close_live() -> None:
    for c in list(_live):
        c.close()


def _ms(seconds: Optional[float]) -> int:
    """Seconds to the SDK's milliseconds; None (and 0) keeps the SDK default."""
    return 0 if seconds is None else max(1, int(round(seconds * 1000)))


class _Hub:
    """Routes the SDK thread's callbacks to registrations and watches. It holds no reference
    to the Client, so a Client nobody holds is collected (and closed) normally."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.regs: Dict[Tuple[str, str], "Registration"] = {}
        self.subs: Dict[str, List["Watch"]] = {}

    def on_reg(self, service_id: str, instance_id: str, state: int, err: int) -> None:
        with self.lock:
            reg = self.regs.get((service_id.lower(), instance_id.lower()))
        if reg is not None:
            reg._changed(RegState(state), err)

    def on_watch(self, service_id: str, service: "Service") -> None:
        with self.lock:
            subs = list(self.subs.get(service_id.lower(), ()))
        for w in subs:
            w._deliver(service)

    @staticmethod
    def on_log(level: int, module: str, message: str) -> None:
        _log.log(_PY_LEVEL.get(level, logging.ERROR), "%s: %s", module, message)

    def close(self) -> None:
        with self.lock:
            subs = [w for ws in self.subs.values() for w in ws]
            regs = list(self.regs.values())
            self.subs.clear()
            self.regs.clear()
        for w in subs:
            w._end()
        for r in regs:
            r._changed(RegState.UNREGISTERED, 0)


class Registration:
    """One instance this client keeps registered (heartbeats, re-registration, failover).

    close() (or leaving a ``with`` block) deregisters it. State changes arrive from the SDK
    thread; wait() blocks until a server holds the lease.
    """

    def __init__(self, client: "Client", instance: Instance) -> None:
        self.instance = instance
        # Weak: the client's hub holds this registration, and a strong reference back would
        # keep an unreferenced client (and its SDK thread) alive until a cycle collection.
        self._client_ref = weakref.ref(client)
        self._hub = client._hub
        self._cond = threading.Condition()
        self._state = RegState.PENDING
        self._last_error = 0
        self._closed = False

    @property
    def _client(self) -> Optional["Client"]:
        c = self._client_ref()
        return None if c is None or c.closed else c

    @property
    def state(self) -> RegState:
        """The SDK's current state of this registration."""
        c = self._client
        if self._closed or c is None:
            return RegState.UNREGISTERED
        return RegState(c._c.state(self.instance.service_id, self.instance.instance_id))

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until a server holds the lease; False if timeout (seconds) passed first or
        the registration was closed."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._state == RegState.REGISTERED or self._closed, timeout
            ) and not self._closed

    def _changed(self, state: RegState, err: int) -> None:
        with self._cond:
            self._state = state
            self._last_error = err
            if state == RegState.UNREGISTERED and self._client is None:
                self._closed = True
            self._cond.notify_all()

    def close(self) -> None:
        """Stop heartbeating and deregister. Idempotent; a no-op once the client is closed."""
        if self._closed:
            return
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        with self._hub.lock:
            self._hub.regs.pop((self.instance.service_id.lower(), self.instance.instance_id.lower()), None)
        c = self._client
        if c is not None:
            c._c.deregister(self.instance.service_id, self.instance.instance_id)

    def __enter__(self) -> "Registration":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<artemis.Registration %s/%s %s>" % (
            self.instance.service_id, self.instance.instance_id, self._state.name)


class Watch:
    """A watch of one service: an iterator of Service views, or a callback subscription.

    As an iterator it yields the current view (when one exists) and then every new one; a
    slow reader skips intermediate views and always gets the latest (views are whole
    snapshots, so nothing is lost but history). Iteration ends when the watch or the client
    is closed. With a callback, the callback runs on the SDK thread for every new view; an
    exception in it is logged on the "artemis" logger and the watch goes on. Keep callbacks
    short and never call Client.lookup() for an uncached service from one.
    """

    def __init__(self, hub: _Hub, key: str, callback: Optional[Callable[["Service"], object]]):
        self._hub = hub
        self._key = key
        self._callback = callback
        self._cond = threading.Condition()
        self._latest: Optional["Service"] = None
        self._last: Optional["Service"] = None
        self._closed = False

    def _deliver(self, service: "Service") -> None:
        with self._cond:
            # The SDK's first call and the subscriber's own first view can be the same one.
            if self._closed or (self._last is not None and self._last == service):
                return
            self._last = service
            if self._callback is None:
                self._latest = service
                self._cond.notify_all()
                return
        try:
            self._callback(service)
        except Exception:
            _log.exception("watch callback for %s raised; the watch goes on", self._key)

    def _end(self) -> None:
        with self._cond:
            self._closed = True
            self._latest = None
            self._cond.notify_all()

    def __iter__(self) -> Iterator["Service"]:
        return self

    def __next__(self) -> "Service":
        with self._cond:
            self._cond.wait_for(lambda: self._latest is not None or self._closed)
            if self._closed:
                raise StopIteration
            s, self._latest = self._latest, None
            return s  # type: ignore[return-value]

    def get(self, timeout: Optional[float] = None) -> Optional["Service"]:
        """The next view not yet returned (waiting up to timeout seconds; None waits as
        long as it takes), or None when the timeout passed or the watch is closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._latest is not None or self._closed, timeout)
            s, self._latest = self._latest, None
            return None if self._closed else s

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop delivering; a blocked iterator ends. Idempotent."""
        with self._hub.lock:
            subs = self._hub.subs.get(self._key)
            if subs and self in subs:
                subs.remove(self)
        self._end()

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Client:
    """A libartemis client: registration with auto-heartbeat and discovery with a local cache.

    ``servers`` is one URL (``"http://10.0.0.1:8080"``; a comma-separated list works too) or a
    list of URLs to fail over between. Times are in seconds; None keeps the SDK's default
    (heartbeat 5 s, request timeout 2 s, poll 60 s). ``cache_dir`` keeps disk snapshots of
    every view so lookups survive an outage and a restart. ``token`` is the access token of a
    server that closed some scopes; ``ca_file``, ``cert_file`` and ``key_file`` configure TLS
    for ``https://`` servers (docs/security.md). SDK log lines go to the "artemis" logger at
    ``log_level`` and above (WARN by default; DEBUG when ARTEMIS_DEBUG=1).

    One client may be shared by every thread. Close it (or use ``with``): close() deregisters
    every instance, ends every watch and stops the SDK thread. Not usable after fork() in the
    child: create a new one there.
    """

    def __init__(
        self,
        servers: Union[str, Sequence[str]],
        *,
        region: Optional[str] = None,
        zone: Optional[str] = None,
        heartbeat_interval: Optional[float] = None,
        request_timeout: Optional[float] = None,
        poll_interval: Optional[float] = None,
        cache_dir: Optional[str] = None,
        token: Optional[str] = None,
        ca_file: Optional[str] = None,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        log_level: Optional[LogLevel] = None,
    ) -> None:
        if not isinstance(servers, str):
            servers = ",".join(servers)
        if log_level is None:
            log_level = LogLevel.DEBUG if os.environ.get("ARTEMIS_DEBUG") == "1" else LogLevel.WARN
        self._closed = False
        self._hub = _Hub()
        self._request_timeout_ms = _ms(request_timeout) or 2000
        self._c = _artemis.Client(
            servers, region, zone, _ms(heartbeat_interval), _ms(request_timeout),
            _ms(poll_interval), cache_dir, token, ca_file, cert_file, key_file, int(log_level),
            self._hub.on_reg, self._hub.on_watch, _Hub.on_log,
        )
        self._watched: set = set()
        self._lock = threading.Lock()
        _live.add(self)

    @property
    def closed(self) -> bool:
        return self._closed

    def register(
        self,
        service_id: str,
        instance_id: str,
        ip: str,
        port: int,
        *,
        metadata: Optional[Dict[str, str]] = None,
        **fields: Optional[str],
    ) -> Registration:
        """Register an instance and keep it alive; returns at once (Registration.wait() blocks
        until a server holds the lease). Keywords: status, zone_id, region_id, group_id,
        machine_name, protocol, url, health_check_url (None keeps the SDK's default: status
        "up", url http://ip:port/, the client's region and zone), and metadata."""
        bad = set(fields) - set(_FIELDS)
        if bad:
            raise TypeError("register() got unexpected keyword(s): %s" % ", ".join(sorted(bad)))
        inst = Instance(service_id, instance_id, ip, port, metadata=dict(metadata or {}), **fields)
        reg = Registration(self, inst)
        key = (service_id.lower(), instance_id.lower())
        with self._hub.lock:
            self._hub.regs[key] = reg
        try:
            self._c.register(service_id, instance_id, ip, port,
                             tuple((_FIELDS[k], v) for k, v in fields.items() if v is not None),
                             inst.metadata)
        except BaseException:
            with self._hub.lock:
                self._hub.regs.pop(key, None)
            raise
        return reg

    def lookup(self, service_id: str, timeout: Optional[float] = None) -> "Service":
        """The service's current view: the cached one (no I/O, the same Service object while
        it has not changed), else a lookup that waits up to timeout seconds (default: the
        request timeout). When no server answers but a cached or disk view exists, that view
        is returned with ``stale`` True. Raises ArtemisError (Unavailable, Timeout, ...)."""
        return self._c.lookup(service_id, _ms(timeout) or self._request_timeout_ms)

    def pick(self, service_id: str, timeout: Optional[float] = None) -> Optional[Instance]:
        """lookup(service_id).pick(): one up instance by the route rule's weights, or None."""
        return self._c.lookup(service_id, _ms(timeout) or self._request_timeout_ms).pick()

    def watch(
        self, service_id: str, callback: Optional[Callable[["Service"], object]] = None
    ) -> Watch:
        """Watch a service. Without callback: an iterator of views (see Watch). With one:
        callback(service) runs on the SDK thread for the current view and every change.
        Either way close() the Watch (or the client) to stop."""
        key = service_id.lower()
        w = Watch(self._hub, key, callback)
        with self._hub.lock:
            self._hub.subs.setdefault(key, []).append(w)
        with self._lock:
            first = key not in self._watched
            self._watched.add(key)
        if first:
            try:
                self._c.watch(service_id)  # the SDK calls back with the current view
            except BaseException:
                with self._lock:
                    self._watched.discard(key)
                w.close()
                raise
        else:
            current = self._c.cached(service_id)
            if current is not None:
                w._deliver(current)
        return w

    def close(self, timeout: float = 2.0) -> None:
        """Deregister every instance (best effort within timeout seconds), end every watch,
        stop the SDK thread. Idempotent; methods raise Closed afterwards."""
        if self._closed:
            return
        self._c.close(_ms(timeout))  # raises (and stays open) when called from a callback
        self._closed = True
        self._hub.close()
        _live.discard(self)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<artemis.Client%s>" % (" closed" if self._closed else "")
