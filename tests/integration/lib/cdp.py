"""A small Chrome DevTools Protocol client for the console tests: starts Debian's headless
Chromium, drives one page over the DevTools WebSocket (the test lib's RFC 6455 client), and
kills Chromium by its PID. Standard library only. Every wait is bounded.
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

from . import ws

PACKAGE = "chromium"


class CdpError(AssertionError):
    pass


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium with one page. Use start(), then the page helpers, then close()."""

    def __init__(self, width=1280, height=900):
        self.width = width
        self.height = height
        self.proc = None
        self.tmp = None
        self.sock = None
        self.next_id = 0
        self.events = []
        self.console = []

    # -- process ------------------------------------------------------------------------------

    def start(self, timeout=30.0):
        exe = find_chromium()
        if not exe:
            raise CdpError("Chromium is not installed: install the Debian package `%s` "
                           "(make deps, or apt-get install -y %s)" % (PACKAGE, PACKAGE))
        self.tmp = tempfile.mkdtemp(prefix="artemis-chromium-")
        args = [exe, "--headless", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                "--user-data-dir=" + os.path.join(self.tmp, "profile"), "--no-first-run",
                "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
                "--window-size=%d,%d" % (self.width, self.height), "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium's sandbox refuses to run as root
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=err, start_new_session=True)
        port_file = os.path.join(self.tmp, "profile", "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CdpError("chromium exited with %s: %s" % (self.proc.returncode, self.stderr_tail()))
            try:
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if lines and lines[0].strip().isdigit() and len(lines) > 1 and lines[1]:
                    port = int(lines[0])
                    break
            except OSError:
                pass
            time.sleep(0.05)
        if not port:
            raise CdpError("no DevTools port from chromium within %.0f s: %s" % (timeout, self.stderr_tail()))
        self.port = port
        page = None
        while time.monotonic() < deadline and not page:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as r:
                    targets = json.loads(r.read().decode())
                page = next((t for t in targets if t.get("type") == "page"), None)
            except OSError:
                pass
            if not page:
                time.sleep(0.1)
        if not page:
            raise CdpError("chromium has no page target")
        path = "/devtools/page/" + page["id"]
        self.sock = ws.WebSocket(port, path, timeout=10.0)
        self.call("Page.enable")
        self.call("Runtime.enable")
        return self

    def stderr_tail(self, n=1500):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except (OSError, AttributeError):
            return ""

    def close(self):
        """Kill Chromium by its PID (its whole process group: renderers and helpers)."""
        if self.sock:
            self.sock.abort()
            self.sock = None
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.proc = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # -- protocol -----------------------------------------------------------------------------

    def call(self, method, params=None, timeout=15.0):
        self.next_id += 1
        mid = self.next_id
        self.sock.send_json({"id": mid, "method": method, "params": params or {}})
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("%s: no answer within %.0f s" % (method, timeout))
            try:
                msg = self.sock.recv_json(left)
            except socket.timeout:
                continue
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CdpError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if msg.get("method") == "Runtime.consoleAPICalled":
                args = msg["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif msg.get("method") == "Runtime.exceptionThrown":
                d = msg["params"].get("exceptionDetails", {})
                self.console.append("exception: %s" % (d.get("exception", {}).get("description") or d.get("text")))
            else:
                self.events.append(msg)

    def eval(self, expr, await_promise=False, timeout=15.0):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": await_promise}, timeout)
        if r.get("exceptionDetails"):
            d = r["exceptionDetails"]
            raise CdpError("JS error in %r: %s" % (expr[:120], d.get("exception", {}).get("description") or d.get("text")))
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout=10.0, what=None, interval=0.1):
        """Poll a JS expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.eval(expr)
            except CdpError as e:
                last = str(e)
                last_ok = False
            else:
                last_ok = True
            # JS truthiness: a DOM node comes back as {} (truthy in JS, falsy in Python).
            if last_ok and last not in (None, False, 0, ""):
                return last
            time.sleep(interval)
        raise CdpError("timed out after %.0f s waiting for %s (last value %r; page console: %r)"
                       % (timeout, what or expr, last, self.console[-5:]))

    def navigate(self, url, timeout=15.0):
        self.call("Page.navigate", {"url": url}, timeout)
        self.wait("document.readyState === 'complete' && location.href === %s" % json.dumps(url),
                  timeout, "page load of %s" % url)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"}, 30.0)["data"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def key(self, key, shift=False):
        codes = {"Tab": 9, "Enter": 13, "Escape": 27}
        base = {"key": key, "code": key, "windowsVirtualKeyCode": codes[key],
                "nativeVirtualKeyCode": codes[key], "modifiers": 8 if shift else 0}
        down = dict(base, type="rawKeyDown" if key != "Enter" else "keyDown")
        if key == "Enter":
            down["text"] = "\r"
        self.call("Input.dispatchKeyEvent", down)
        self.call("Input.dispatchKeyEvent", dict(base, type="keyUp"))

    def type_text(self, text):
        self.call("Input.insertText", {"text": text})

    def active_id(self):
        return self.eval("document.activeElement ? (document.activeElement.id || document.activeElement.tagName) : ''")
