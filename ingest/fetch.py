"""Fetch one URL with requests: a User-Agent, a deadline per attempt, a few retries with backoff, a size cap
enforced while streaming, and conditional requests (ETag / Last-Modified -> 304 Not Modified)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import requests

USER_AGENT = "finops/0.1 (price and GPU offer fetcher; python-requests)"
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5  # before the 2nd attempt; doubled before each next one
CHUNK_BYTES = 64 * 1024
# response headers kept in the fetch record
KEPT_HEADERS = ("ETag", "Last-Modified", "Content-Type", "Content-Length", "Content-Encoding", "Date", "Cache-Control")


class FetchError(Exception):
    """A URL that could not be fetched; the message names the URL and what went wrong."""


class _Retryable(Exception):
    pass


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int  # 200, or 304 (not modified: no body)
    body: bytes | None
    request_headers: dict[str, str]
    response_headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 1


def fetch(
    url: str, *, timeout_seconds: float, max_bytes: int, etag: str | None = None, last_modified: str | None = None
) -> Fetched:
    """GET `url`. With `etag` / `last_modified` (from the last good fetch) the request is conditional and a
    304 comes back without a body. Timeouts, connection errors, 429 and 5xx are retried; other errors are not."""
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    problem = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _get(url, headers, timeout_seconds, max_bytes, attempt)
        except _Retryable as exc:
            problem = str(exc)
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise FetchError(f"{url}: {problem} (gave up after {ATTEMPTS} attempts)")


def _get(url: str, headers: dict[str, str], timeout_seconds: float, max_bytes: int, attempt: int) -> Fetched:
    """One attempt, within a deadline of timeout_seconds for all of it: connecting, the headers and the whole body.
    A socket timeout alone does not bound it (it starts again with every byte a slow server trickles), so the
    attempt runs in a worker thread that the caller waits for until the deadline. A worker still reading then is
    left behind (a daemon thread): it stops at the end of its next chunk (it checks the deadline too), when the
    server stops sending, or with the process."""
    deadline = time.monotonic() + timeout_seconds
    outcome: Future[Fetched] = Future()

    def attempt_in_worker() -> None:
        try:
            outcome.set_result(_read(url, headers, timeout_seconds, max_bytes, attempt, deadline))
        except BaseException as exc:  # handed to the caller
            outcome.set_exception(exc)

    threading.Thread(target=attempt_in_worker, name=f"fetch {url}", daemon=True).start()
    try:
        return outcome.result(timeout=timeout_seconds)
    except TimeoutError:  # (the worker's own timeouts come back as _Retryable)
        raise _timed_out(timeout_seconds) from None


def _timed_out(timeout_seconds: float) -> _Retryable:
    """The attempt's deadline passed: while connecting, waiting for the headers or reading the body."""
    return _Retryable(f"timed out after {timeout_seconds:g}s")


def _read(
    url: str, headers: dict[str, str], timeout_seconds: float, max_bytes: int, attempt: int, deadline: float
) -> Fetched:
    try:
        with requests.get(url, headers=headers, timeout=timeout_seconds, stream=True) as resp:
            kept = {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers}
            if resp.status_code == 304:
                return Fetched(url, 304, None, headers, kept, attempt)
            if resp.status_code == 429 or resp.status_code >= 500:
                raise _Retryable(f"HTTP {resp.status_code} {resp.reason}")
            if resp.status_code != 200:
                raise FetchError(f"{url}: HTTP {resp.status_code} {resp.reason}")
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{url}: response of {int(declared)} bytes refused (max_bytes = {max_bytes})")
            body = bytearray()
            for chunk in resp.iter_content(CHUNK_BYTES):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"{url}: response refused: more than max_bytes = {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise _timed_out(timeout_seconds)
            return Fetched(url, 200, bytes(body), headers, kept, attempt)
    except requests.Timeout:
        raise _timed_out(timeout_seconds) from None
    except requests.RequestException as exc:
        if "timed out" in str(exc).lower():  # a read timeout while streaming the body
            raise _timed_out(timeout_seconds) from None
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None
