"""A loopback TCP proxy in front of a server that can hold traffic back, to reorder what a
client sees (threads only; every socket closed at cleanup).

Each connection is classified by its first client bytes: `ws` (a GET /ws/ upgrade) or an
HTTP request line such as "POST /api/registry/register.json". `up_delay(kind, line)` and
`down_delay(kind, n)` return the seconds to hold a client->server chunk or the n-th
server->client chunk (0 is the first) of such a connection; `line` is the connection's first
request line."""

import socket
import threading
import time


class Proxy:
    def __init__(self, ctx, target_port):
        self.target = target_port
        self.http_requests = 0  # HTTP requests seen (chunks starting "POST ")
        self.ws_frames = 0  # chunks clients sent on a WebSocket after the upgrade request
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.socks = []
        self.closed = False
        ctx.defer(self.close)
        threading.Thread(target=self._accept, daemon=True).start()

    def up_delay(self, ws, line):
        return 0.0

    def down_delay(self, ws, line, n):
        return 0.0

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                c.close()
                continue
            s.settimeout(None)
            self.socks += [c, s]
            conn = {}
            threading.Thread(target=self._pipe, args=(c, s, conn, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c, conn, False), daemon=True).start()

    def _pipe(self, src, dst, conn, upstream):
        n = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upstream:
                    if "ws" not in conn:
                        conn["ws"] = data.startswith(b"GET /ws/")
                        conn["line"] = data.split(b"\r\n", 1)[0].decode("latin-1")
                    elif conn["ws"]:
                        self.ws_frames += 1
                    if not conn["ws"] and data[:5] == b"POST ":
                        self.http_requests += 1
                    d = self.up_delay(conn["ws"], conn["line"])
                else:
                    d = self.down_delay(conn.get("ws", False), conn.get("line", ""), n)
                    n += 1
                if d:
                    time.sleep(d)
                dst.sendall(data)
        except OSError:
            pass
        for x in (src, dst):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        for x in [self.ls] + self.socks:
            try:
                x.close()
            except OSError:
                pass
