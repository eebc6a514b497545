"""A small TCP proxy between a laptop and the server, for fault tests.

It forwards bytes both ways and can be armed to cut a connection at a chosen moment: after the
server has answered a request (so the server committed, the client never reads the reply), or
as soon as a request is seen (to kill the server or the client mid-batch through a hook).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any


class Proxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.drop_replies: dict[bytes, int] = {}  # request marker -> replies still to drop
        self.on_request: dict[bytes, list[Any]] = {}  # request marker -> [occurrences to skip, hook, after forwarding?]
        self.dropped = 0
        self.seen: dict[bytes, int] = {}
        self.closing = False
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing = True
        _close(self.listener)  # shutdown wakes the accept() in the proxy's thread
        with self.lock:
            for sock in self.sockets:
                _close(sock)
        self.thread.join(timeout=10)

    def drop_reply(self, marker: bytes, times: int = 1) -> None:
        """The next `times` requests containing `marker` reach the server, but their replies never reach the client."""
        with self.lock:
            self.drop_replies[marker] = self.drop_replies.get(marker, 0) + times

    def disarm(self) -> None:
        with self.lock:
            self.drop_replies.clear()
            self.on_request.clear()

    def hook(self, marker: bytes, action: Callable[[], None], nth: int = 1, after: bool = False) -> None:
        """Run `action` once, at the `nth` request containing `marker`: before forwarding it, or just after."""
        with self.lock:
            self.on_request[marker] = [nth - 1, action, after]

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
            except OSError:
                _close(client)
                continue
            with self.lock:
                self.sockets += [client, upstream]
            state = {"drop": False}
            threading.Thread(target=self._pump_requests, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._pump_replies, args=(upstream, client, state), daemon=True).start()

    def _pump_requests(self, client: socket.socket, upstream: socket.socket, state: dict[str, Any]) -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            if not data:
                _close(upstream)
                return
            hooks, later = [], []
            with self.lock:
                for marker in list(self.drop_replies):
                    if marker in data and self.drop_replies[marker] > 0:
                        self.drop_replies[marker] -= 1
                        state["drop"] = True
                for marker in list(self.on_request):
                    if marker in data:
                        entry = self.on_request[marker]
                        if entry[0] > 0:
                            entry[0] -= 1
                            continue
                        del self.on_request[marker]
                        (later if entry[2] else hooks).append(entry[1])
                for marker in (b"/push", b"/pull", b"/enrol", b"/info", b"/users", b"/device", b"/study/versions"):
                    if marker in data:
                        self.seen[marker] = self.seen.get(marker, 0) + 1
            for action in hooks:
                action()
            try:
                upstream.sendall(data)
            except OSError:
                _close(client)
                return
            if later:  # run once the whole request (headers and body) has reached the server
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                state["after"] = later
                state["remaining"] = length - len(body)
            elif state.get("after"):
                state["remaining"] -= len(data)
            if state.get("after") and state["remaining"] <= 0:
                for action in state.pop("after"):
                    action()

    def _pump_replies(self, upstream: socket.socket, client: socket.socket, state: dict[str, Any]) -> None:
        while True:
            try:
                data = upstream.recv(65536)
            except OSError:
                data = b""
            if not data:
                _close(client)
                return
            if state["drop"]:  # the server has answered: it committed; the client never hears it
                with self.lock:
                    self.dropped += 1
                _close(client)
                _close(upstream)
                return
            try:
                client.sendall(data)
            except OSError:
                _close(upstream)
                return


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
