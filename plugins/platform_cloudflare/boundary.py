"""The JavaScript boundary: the only module that imports Pyodide's ``js`` and ``pyodide.ffi``.

Everything else in this package is plain Python over these few functions, so it runs unchanged
under CPython, where each function has a plain fallback (bytes stay bytes, dicts stay dicts,
requests and responses are small dataclasses). Bytes cross into JavaScript only here.

``wait`` blocks on a promise from synchronous code (the core pipeline's ``StorageBackend`` is
synchronous). In a Worker this is Pyodide's ``run_sync`` (JavaScript Promise Integration), which
works while an async handler (``fetch``, ``scheduled``, ``alarm``) is on the stack, as it always
is here. Under CPython a coroutine is run to completion on a helper thread's event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

try:  # only inside Pyodide (Cloudflare Python Workers)
    import js
    from pyodide.ffi import run_sync, to_js

    IN_WORKER = True
except ImportError:
    js = run_sync = to_js = None
    IN_WORKER = False


@dataclass
class HttpRequest:
    """A request outside the Worker runtime (CPython)."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class HttpResponse:
    """A response outside the Worker runtime (CPython)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def wait(awaitable: Awaitable[Any]) -> Any:
    """The result of ``awaitable``, from synchronous code."""
    if IN_WORKER:
        return run_sync(awaitable)
    if not inspect.isawaitable(awaitable):
        return awaitable

    async def drive() -> Any:
        return await awaitable

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cf-wait") as pool:
        return pool.submit(asyncio.run, drive()).result()


def to_js_bytes(data: bytes) -> Any:
    """Bytes for a JavaScript API (a ``Uint8Array`` in a Worker)."""
    return to_js(data) if IN_WORKER else bytes(data)


def to_py_bytes(value: Any) -> bytes:
    """Bytes from an ``ArrayBuffer``/``Uint8Array`` (or bytes)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return bytes(value.to_bytes())


def to_js_object(data: Mapping[str, Any]) -> Any:
    """A plain JavaScript object (options of R2/KV calls)."""
    if IN_WORKER:
        return to_js(dict(data), dict_converter=js.Object.fromEntries)
    return dict(data)


def env_vars(env: Any) -> dict[str, str]:
    """The Worker's string variables (``[vars]`` and secrets); bindings are left out."""
    names: Iterable[str] = js.Object.keys(env) if IN_WORKER else vars(env)
    out = {}
    for name in names:
        value = getattr(env, name, None)
        if isinstance(value, str):
            out[str(name)] = value
    return out


def binding(env: Any, name: str) -> Any:
    return getattr(env, name, None)


async def read_request(request: Any) -> tuple[str, str, dict[str, str]]:
    """``(method, url, headers)`` of an incoming request; the body is read by ``read_body``."""
    if IN_WORKER:
        headers = {str(pair[0]): str(pair[1]) for pair in request.headers.entries()}
        return str(request.method), str(request.url), headers
    return request.method, request.url, dict(request.headers)


async def read_body(request: Any) -> bytes:
    if IN_WORKER:
        return to_py_bytes(await request.arrayBuffer())
    return bytes(request.body)


def make_response(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> Any:
    """A response to return from a handler."""
    headers = list(headers)
    if not IN_WORKER:
        return HttpResponse(status, headers, bytes(body))
    js_headers = js.Headers.new()
    for name, value in headers:
        js_headers.append(name, value)
    init = to_js_object({"status": status, "headers": js_headers})
    return js.Response.new(to_js_bytes(body) if body else None, init)


def make_request(url: str, method: str, headers: Mapping[str, str], body: bytes) -> Any:
    """A request to send through a binding (a Durable Object stub)."""
    if not IN_WORKER:
        return HttpRequest(url, method, dict(headers), bytes(body))
    init = to_js_object(
        {"method": method, "headers": to_js_object(headers), "body": to_js_bytes(body)}
    )
    return js.Request.new(url, init)


async def response_parts(response: Any) -> tuple[int, str]:
    """``(status, body text)`` of a response received through a binding."""
    if IN_WORKER:
        return int(response.status), str(await response.text())
    return response.status, response.body.decode("utf-8", errors="replace")


def http_send(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float = 30.0
) -> tuple[int, bytes]:
    """``(status, body)`` of an outgoing HTTP request (``fetch`` in a Worker, urllib under
    CPython), from synchronous code; OSError when the host cannot be reached."""
    if IN_WORKER:

        async def go() -> tuple[int, bytes]:
            init: dict[str, Any] = {"method": method, "headers": to_js_object(headers)}
            if body:
                init["body"] = to_js_bytes(body)
            response = await js.fetch(url, to_js_object(init))
            return int(response.status), to_py_bytes(await response.arrayBuffer())

        try:
            return run_sync(go())
        except Exception as exc:  # a JavaScript TypeError: the fetch itself failed
            raise OSError(f"fetch {url} failed: {exc}") from exc
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
