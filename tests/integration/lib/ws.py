"""A tiny RFC 6455 WebSocket client for the integration tests.

It does the opening handshake, sends masked (or deliberately broken) frames, answers nothing by
itself, and reads frames with a deadline. Tests use it both as a well-behaved Artemis client
and to send garbage the server must survive.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


class WsError(Exception):
    pass


class WsClosed(WsError):
    """The server closed the connection (close frame or EOF)."""

    def __init__(self, msg, code=None):
        WsError.__init__(self, msg)
        self.code = code


class WebSocket:
    def __init__(self, port, path, host="127.0.0.1", timeout=5.0, rcvbuf=None, extra_headers=None, ssl_context=None):
        self.port = port
        self.path = path
        self.buf = b""
        self.closed = False
        self.close_code = None
        self.pongs = []
        self._pending = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # Must be set before connect() to shrink the advertised window.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:  # wss:// (test_tls)
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            % (path, host, port, key)
        )
        for k, v in extra_headers or []:
            req += "%s: %s\r\n" % (k, v)
        self.sock.sendall((req + "\r\n").encode())
        head = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in head:
            if time.monotonic() > deadline or len(head) > 65536:
                raise WsError("handshake: no complete answer")
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WsError("handshake: connection closed; got %r" % head[:200])
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ")
        if len(status) < 2 or status[1] != "101":
            raise WsError("handshake refused: %r" % lines[0])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if hdrs.get("sec-websocket-accept") != want:
            raise WsError("bad Sec-WebSocket-Accept %r (want %r)" % (hdrs.get("sec-websocket-accept"), want))
        if hdrs.get("upgrade", "").lower() != "websocket":
            raise WsError("bad Upgrade header %r" % hdrs.get("upgrade"))
        self.handshake_headers = hdrs

    # -- sending ---------------------------------------------------------------------------

    @staticmethod
    def build_frame(opcode, payload, fin=True, mask=True, rsv=0):
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        b0 = (0x80 if fin else 0) | (rsv << 4) | (opcode & 0x0F)
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mbit | 127, n)
        if mask:
            key = os.urandom(4)
            masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
            return head + key + masked
        return head + payload

    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0):
        self.sock.sendall(self.build_frame(opcode, payload, fin, mask, rsv))

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_text(self, text):
        self.send_frame(OP_TEXT, text)

    def send_json(self, obj):
        self.send_text(obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":")))

    def ping(self, payload=b"p", timeout=3.0):
        """Send a PING and wait for the PONG; data frames that arrive meanwhile are kept."""
        self.send_frame(OP_PING, payload)
        deadline = time.monotonic() + timeout
        pending = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WsError("no PONG within %.1f s" % timeout)
                op, data, _ = self._recv_frame(left)
                if op == OP_PONG:
                    return data
                if op == OP_PING:
                    self.send_frame(OP_PONG, data)
                    continue
                pending.append((op, data))
        finally:
            self._pending += pending

    def close(self, code=1000):
        if not self.closed:
            try:
                self.send_frame(OP_CLOSE, struct.pack("!H", code))
            except OSError:
                pass
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    # -- receiving -------------------------------------------------------------------------

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("frame read timed out")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
                raise WsClosed("connection closed by the server (EOF)")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _recv_frame(self, timeout):
        """Next raw frame (opcode, payload). Raises socket.timeout, WsClosed, WsError."""
        deadline = time.monotonic() + timeout
        b0, b1 = self._need(2, deadline)
        opcode = b0 & 0x0F
        n = b1 & 0x7F
        if b1 & 0x80:
            raise WsError("server sent a masked frame")
        if n == 126:
            (n,) = struct.unpack("!H", self._need(2, deadline))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._need(8, deadline))
        payload = self._need(n, deadline)
        if opcode == OP_CLOSE:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            self.closed = True
            raise WsClosed("close frame from the server (code %s)" % self.close_code, self.close_code)
        return opcode, payload, (b0 & 0x80) != 0

    def recv_frame(self, timeout):
        op, data, _ = self._recv_frame(timeout)
        return op, data

    def recv_message(self, timeout=3.0):
        """Next complete data message as (opcode, bytes). Pings/pongs are noted and skipped."""
        while self._pending:
            op, data = self._pending.pop(0)
            if op in (OP_TEXT, OP_BINARY):
                return op, data
        deadline = time.monotonic() + timeout
        msg_op, parts = None, []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no message within %.1f s" % timeout)
            op, data, fin = self._recv_frame(left)
            if op == OP_PONG:
                self.pongs.append(data)
                continue
            if op == OP_PING:
                self.send_frame(OP_PONG, data)
                continue
            if op in (OP_TEXT, OP_BINARY):
                msg_op, parts = op, [data]
            elif op == OP_CONT and msg_op is not None:
                parts.append(data)
            else:
                raise WsError("unexpected opcode %d" % op)
            if fin:
                return msg_op, b"".join(parts)

    def recv_json(self, timeout=3.0):
        op, data = self.recv_message(timeout)
        if op != OP_TEXT:
            raise AssertionError("expected a text frame, got opcode %d" % op)
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError as e:
            raise AssertionError("text frame is not JSON (%s): %r" % (e, data[:300]))

    def wait_closed(self, timeout=3.0):
        """True when the server closes the connection (close frame or EOF) within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self._recv_frame(deadline - time.monotonic())
        except WsClosed:
            return True
        except (socket.timeout, TimeoutError):
            return False
        except (WsError, OSError):
            return True
        return False
