"""A real HTTP server on 127.0.0.1 for the fetch tests: serves pages set by the test, with ETag /
Last-Modified and 304 Not Modified, a delay (a slow server), a status, a body without Content-Length
(the size is only known while streaming), or a response trickled a few bytes a second (its body, or its
status line and headers too). Every request's path and headers are kept; a POST to a served path (a webhook)
is answered with the page's status and its body kept in `posts`."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: bytes
    content_type: str = "application/json"
    etag: str | None = None
    last_modified: str | None = None
    delay_seconds: float = 0.0
    status: int = 200
    send_length: bool = True
    failures_first: int = 0  # answer 503 to this many requests before serving the page
    trickle_bytes_per_second: int = 0  # send the body this slowly (0: at once)
    trickle_headers: bool = False  # the status line and headers too


class FixtureServer:
    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, dict[str, str], int]] = []  # (path, request headers, status sent)
        self.posts: list[tuple[str, dict[str, str], bytes]] = []  # (path, request headers, body) of each POST
        self.closed = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                page = server.pages.get(self.path)
                status = self._status(page)
                server.requests.append((self.path, dict(self.headers), status))  # before the client can go on
                if status in (404, 503):
                    self.send_error(status)
                    return
                if page.trickle_bytes_per_second:
                    self._trickle(page)
                    return
                self.send_response(status)
                if status == 304:
                    self.end_headers()
                    return
                self.send_header("Content-Type", page.content_type)
                if page.send_length:
                    self.send_header("Content-Length", str(len(page.body)))
                if page.etag:
                    self.send_header("ETag", page.etag)
                if page.last_modified:
                    self.send_header("Last-Modified", page.last_modified)
                self.end_headers()
                with contextlib.suppress(
                    BrokenPipeError, ConnectionResetError
                ):  # the client gave up (size cap, timeout)
                    self.wfile.write(page.body)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                page = server.pages.get(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = self._status(page)
                server.requests.append((self.path, dict(self.headers), status))
                if status >= 400:
                    self.send_error(status)
                    return
                server.posts.append((self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def _trickle(self, page: Page) -> None:
                """Send the response a few bytes a second, until it is sent, the client goes or the server closes."""
                head = (
                    f"HTTP/1.1 200 OK\r\nContent-Type: {page.content_type}\r\n"
                    f"Content-Length: {len(page.body)}\r\nConnection: close\r\n\r\n"
                ).encode()
                if not page.trickle_headers:
                    self.wfile.write(head)
                    head = b""
                data, step = head + page.body, page.trickle_bytes_per_second
                try:
                    for start in range(0, len(data), step):
                        if server.closed.wait(1):
                            return
                        self.wfile.write(data[start : start + step])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _status(self, page: Page | None) -> int:
                if page is None:
                    return 404
                if page.delay_seconds:
                    time.sleep(page.delay_seconds)
                if page.failures_first > 0:
                    page.failures_first -= 1
                    return 503
                if (page.etag and self.headers.get("If-None-Match") == page.etag) or (
                    page.last_modified and self.headers.get("If-Modified-Since") == page.last_modified
                ):
                    return 304
                return page.status

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes, **options) -> str:
        self.pages[path] = Page(body=body, **options)
        return self.url(path)

    def statuses(self, path: str) -> list[int]:
        return [status for p, _, status in self.requests if p == path]

    def close(self) -> None:
        self.closed.set()
        self.httpd.shutdown()
        self.httpd.server_close()
