"""A small TCP proxy that runs as threads inside the test process (127.0.0.1 only), so a test can
take a dependency away from the service and give it back without touching the real server.

`cut()` stops accepting (connection refused) and tears down every open connection, which is what a
database server that goes away looks like to its clients; `restore()` listens again on the same
port. Other tests sharing the real server are not affected.
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress

from issuer_service.chain.anvil import free_port


class TcpProxy:
    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self.connections_served = 0

    # ------------------------------------------------------------------ control
    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept_loop, args=(listener,), name="proxy-accept", daemon=True)
        self._accepting.start()
        return self

    def cut(self) -> None:
        """The dependency goes away: new connections are refused, open ones are torn down."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            listener.close()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
            self._accepting = None
        with self._lock:
            open_sockets, self._sockets = list(self._sockets), set()
        for sock in open_sockets:
            _close(sock)

    def restore(self) -> None:
        """The dependency is back on the same address."""
        self.start()

    stop = cut

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    # ------------------------------------------------------------------ plumbing
    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut() closed the listener
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _close(client)
                    _close(upstream)
                    return
                self._sockets.update((client, upstream))
                self.connections_served += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), name="proxy-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()
