"""A small HTTP/1.1 client over a raw socket, for driving artemis-server like a client would.

Why not http.client: the tests need byte-level control (chunked + gzip request bodies exactly
as Apache HttpClient sends them, keep-alive on one socket that we can observe, and hostile
requests such as oversized headers or truncated bodies) and must read whatever the server
answers, including an answer sent before the request body was fully written.
"""

import gzip
import json
import socket
import time
import zlib

DEFAULT_TIMEOUT = 5.0

JAVA_HEADERS = [
    ("Content-Type", "application/json"),
    ("Accept", "application/json"),
    ("Content-Encoding", "gzip"),
    ("Transfer-Encoding", "chunked"),
    ("Accept-Encoding", "gzip,deflate"),
    ("Connection", "Keep-Alive"),
    ("User-Agent", "Apache-HttpClient/4.5.3 (Java/1.8.0_181)"),
]


class HttpError(Exception):
    """The connection failed or the answer could not be parsed."""


class Response:
    def __init__(self, status, reason, headers, raw_body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) in wire order
        self.raw_body = raw_body  # after de-chunking, before content decoding
        enc = (self.header("content-encoding") or "").strip().lower()
        if enc == "gzip":
            self.body = gzip.decompress(raw_body)
        elif enc == "deflate":
            try:
                self.body = zlib.decompress(raw_body)
            except zlib.error:
                self.body = zlib.decompress(raw_body, -zlib.MAX_WBITS)
        else:
            self.body = raw_body

    def header(self, name):
        """Value of the first header named name (case-insensitive), or None."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("HTTP %d body is not JSON (%s): %r" % (self.status, e, self.body[:300]))

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %d %r %d bytes>" % (self.status, self.reason, len(self.body))


def _to_bytes(body):
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def chunked(data, size=2048):
    """Encode data as an HTTP/1.1 chunked body (several chunks, then the last-chunk)."""
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


class Connection:
    """One keep-alive connection. Reconnects only when asked (reconnect=True) so tests can
    assert that several requests really travelled on one socket."""

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, ssl_context=None, server_hostname=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.ssl_context = ssl_context  # an ssl.SSLContext: speak TLS (test_tls)
        self.server_hostname = server_hostname or host
        self.sock = None
        self.buf = b""
        self.requests_on_socket = 0
        self.connects = 0

    def connect(self):
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            try:
                self.sock = self.ssl_context.wrap_socket(self.sock, server_hostname=self.server_hostname)
            except OSError:
                self.sock.close()
                self.sock = None
                raise
        self.buf = b""
        self.requests_on_socket = 0
        self.connects += 1

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def local_port(self):
        return self.sock.getsockname()[1] if self.sock else None

    # -- sending ---------------------------------------------------------------------------

    def send_raw(self, data):
        if self.sock is None:
            self.connect()
        self.sock.sendall(data)

    def request(self, method, path, body=None, headers=None, mode="plain", reconnect=True):
        """Send one request and read its response.

        mode "plain": body with Content-Length (Content-Type application/json when a body is given
        and no Content-Type header is passed).
        mode "java": gzip-compressed body, chunked, with the exact header set of the Java client.
        mode "raw": send body bytes as they are, headers exactly as given (no Content-Length added).
        """
        data = _to_bytes(body)
        hdrs = [("Host", "%s:%d" % (self.host, self.port))]
        given = {k.lower() for k, _ in (headers or [])}
        if mode == "java":
            hdrs += [h for h in JAVA_HEADERS if h[0].lower() not in given]
            payload = chunked(gzip.compress(data))
        elif mode == "plain":
            if body is not None and "content-type" not in given:
                hdrs.append(("Content-Type", "application/json"))
            if body is not None or method in ("POST", "PUT"):
                if "content-length" not in given and "transfer-encoding" not in given:
                    hdrs.append(("Content-Length", str(len(data))))
            payload = data
        elif mode == "raw":
            payload = data
        else:
            raise ValueError(mode)
        hdrs += list(headers or [])
        head = "%s %s HTTP/1.1\r\n" % (method, path)
        head += "".join("%s: %s\r\n" % (k, v) for k, v in hdrs) + "\r\n"
        if self.sock is None or (reconnect and self._peer_closed()):
            self.connect()
        try:
            self.sock.sendall(head.encode("latin-1") + payload)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (413, 431...) and close before reading everything we send.
            pass
        self.requests_on_socket += 1
        resp = self.read_response(method)
        if (resp.header("connection") or "").lower() == "close":
            self.close()
        return resp

    def _peer_closed(self):
        """True when the server has closed this idle keep-alive socket."""
        if self.ssl_context is not None:
            return False  # an SSL socket cannot MSG_PEEK; Client._retry covers a stale socket
        try:
            self.sock.setblocking(False)
            try:
                data = self.sock.recv(1, socket.MSG_PEEK)
            finally:
                self.sock.setblocking(True)
                self.sock.settimeout(self.timeout)
            return data == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    # -- receiving -------------------------------------------------------------------------

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise HttpError("timed out waiting for the response")
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise HttpError("connection closed by the server")
        self.buf += chunk

    def _read_line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise HttpError("response header line too long")
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read_to_close(self):
        while True:
            try:
                self._fill()
            except HttpError:
                break
        out, self.buf = self.buf, b""
        self.close()
        return out

    def read_response(self, method="GET"):
        line = self._read_line()
        while line == b"":
            line = self._read_line()
        parts = line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError("bad status line %r" % line)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        while True:
            h = self._read_line()
            if h == b"":
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers.append((k.strip(), v.strip()))
        if status == 100:
            return self.read_response(method)
        resp_headers = {k.lower(): v for k, v in headers}
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in resp_headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size_line = self._read_line().split(b";")[0].strip()
                size = int(size_line, 16)
                if size == 0:
                    while self._read_line() != b"":
                        pass
                    break
                body += self._read_exact(size)
                self._read_exact(2)
            body = bytes(body)
        elif "content-length" in resp_headers:
            body = self._read_exact(int(resp_headers["content-length"]))
        else:
            body = self._read_to_close()
        return Response(status, reason, headers, body)


class Client:
    """Convenience wrapper: JSON in, Response out, one keep-alive connection."""

    def __init__(self, port, timeout=DEFAULT_TIMEOUT, mode="java", ssl_context=None, server_hostname=None):
        self.port = port
        self.mode = mode
        self.conn = Connection(port, timeout=timeout, ssl_context=ssl_context, server_hostname=server_hostname)

    def post(self, path, body, mode=None, headers=None):
        return self._retry(lambda: self.conn.request("POST", path, body, headers, mode or self.mode))

    def get(self, path, headers=None):
        return self._retry(lambda: self.conn.request("GET", path, None, headers, "plain"))

    def request(self, method, path, body=None, headers=None, mode="plain"):
        return self._retry(lambda: self.conn.request(method, path, body, headers, mode))

    def _retry(self, fn):
        try:
            return fn()
        except (HttpError, OSError) as e:
            # A kept-alive socket may have been closed by the server between requests; a fresh
            # connection gets one more chance (as Apache HttpClient's stale check would).
            if self.conn.requests_on_socket <= 1:
                raise
            self.conn.close()
            try:
                return fn()
            except (HttpError, OSError) as e2:
                raise HttpError("%s (after retry of: %s)" % (e2, e))

    def post_json(self, path, body, mode=None):
        """POST and return the parsed JSON, asserting HTTP 200."""
        r = self.post(path, body, mode)
        if r.status != 200:
            raise AssertionError("POST %s -> HTTP %d %r" % (path, r.status, r.body[:300]))
        return r.json()

    def get_json(self, path):
        r = self.get(path)
        if r.status != 200:
            raise AssertionError("GET %s -> HTTP %d %r" % (path, r.status, r.body[:300]))
        return r.json()

    def close(self):
        self.conn.close()


def quick_get(port, path, timeout=2.0):
    """One GET on a fresh connection; returns the Response (raises on transport failure)."""
    c = Connection(port, timeout=timeout)
    try:
        return c.request("GET", path, None, [("Connection", "close")], "plain")
    finally:
        c.close()


def wait_http_ok(port, path="/health", timeout=10.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            r = quick_get(port, path, timeout=1.0)
            if r.status == 200:
                return r
            last = "HTTP %d" % r.status
        except (HttpError, OSError) as e:
            last = str(e)
        time.sleep(0.05)
    raise AssertionError("GET %s did not answer 200 within %.0f s (last: %s)" % (path, timeout, last))
