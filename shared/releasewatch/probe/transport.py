"""ProbeTransport: HTTP/1.1 for probes on asyncio streams, with the SSRF guard at connect time.

httpx's own transport (httpcore on anyio) spent more CPU per request than the network time a
busy minute waits for: its pool re-checked every connection for each queued request, and anyio
asked the kernel for each socket's peer name a dozen times a request (~7-11 ms of CPU a probe
on a small machine; tests/bench/bench_fanout.py). Probes need little of what it offers: one
GET at a time per connection, HTTP/1.1 only, and concurrency already bounded by the prober's
semaphores (global and per host). So this transport keeps a plain list of idle keep-alive
connections per origin and parses HTTP with h11 (what httpcore uses, with the same limit on a
response's head), and httpx.AsyncClient stays the API above it (requests, redirects are ours,
responses, streaming).

Guarded as GuardedBackend guards the other clients: resolve, refuse the host if any address
fails the policy, then connect to a checked address, never re-resolving (netguard.py). TLS
verifies the certificate against the host name, not the address.

Errors are httpx's, so the prober classifies them as before: ConnectTimeout / ConnectError,
ReadTimeout / ReadError, WriteTimeout / WriteError, RemoteProtocolError (bad HTTP, or a server
that closed without answering).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable

import h11
import httpx

from .netguard import AddressPolicy, Resolver, vetted_addresses

READ_SIZE = 64 * 1024
# The largest response head (status line and headers) accepted: httpcore's own limit.
MAX_HEAD_BYTES = 100 * 1024
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (httpx's default)
MAX_IDLE_PER_ORIGIN = 100
# The kernel's receive buffer per connection, fixed: Linux otherwise grows it to several MB for
# a fast sender, so a server streaming an endless body could park megabytes in this machine's
# kernel per connection before the prober stops at its cap and closes (256 KB is ~2.5 MB/s at
# 100 ms round trips: a 2 MB page in under a second).
RECEIVE_BUFFER = 256 * 1024
NO_RESPONSE = "Server disconnected without sending a response."

Origin = tuple[bytes, bytes, int]


class _Connection:
    """One HTTP/1.1 connection: its streams, its h11 state machine, when it went idle."""

    __slots__ = ("h11", "idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        """Idle, not expired, and not closed by the server while it waited."""
        return (
            now - self.idle_since < KEEPALIVE_EXPIRY
            and not self.writer.is_closing()
            and not self.reader.at_eof()
            and self.h11.our_state is h11.IDLE
        )

    def close(self) -> None:
        self.writer.close()


class ProbeTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        resolver: Resolver,
        policy: AddressPolicy,
        ssl_context: ssl.SSLContext,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._now = monotonic  # when a connection went idle; a test's own clock
        self._resolver = resolver
        self._policy = policy
        self._ssl = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        origin: Origin = (url.raw_scheme, url.raw_host, url.port or _default_port(url.raw_scheme))
        if origin[0] not in (b"http", b"https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}")
        connection = self._reused(origin)
        if connection is not None:
            try:
                return await self._exchange(connection, origin, request, timeouts)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # The server may close an idle connection just as we reuse it; a GET that got
                # no answer on a reused connection is sent once more on a new one, as
                # browsers do (a new connection's failure is the answer).
                if connection.h11.their_state is not h11.SEND_RESPONSE:
                    raise
        connection = await self._connect(origin, url.host, timeouts.get("connect"))
        return await self._exchange(connection, origin, request, timeouts)

    async def aclose(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()

    # -- connections -----------------------------------------------------------------

    def _reused(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = self._now()
        while idle:
            connection = idle.pop()  # the most recent: the least likely to be expired
            if connection.usable(now):
                return connection
            self._discard(connection)
        return None

    async def _connect(self, origin: Origin, host: str, timeout: float | None) -> _Connection:
        scheme, _, port = origin
        try:
            async with asyncio.timeout(timeout):
                addresses = await vetted_addresses(self._resolver, self._policy, host, port)
                last: OSError | None = None
                for address in addresses:
                    try:
                        reader, writer = await asyncio.open_connection(
                            address.split("%", 1)[0],
                            port,
                            ssl=self._ssl if scheme == b"https" else None,
                            server_hostname=host if scheme == b"https" else None,
                            limit=READ_SIZE,
                        )
                    except ssl.SSLError as exc:
                        raise httpx.ConnectError(str(exc)) from exc
                    except OSError as exc:
                        last = exc
                        continue
                    sock = writer.get_extra_info("socket")
                    if sock is not None:  # the kernel's buffer for a page we may not read
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
                    connection = _Connection(reader, writer)
                    self._open.add(connection)
                    return connection
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host} timed out") from exc
        assert last is not None
        raise httpx.ConnectError(str(last) or type(last).__name__) from last

    def _release(self, connection: _Connection, origin: Origin) -> None:
        """Back to the idle list if the exchange ended cleanly and both sides keep it open."""
        state = connection.h11
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            idle = self._idle.setdefault(origin, [])
            if len(idle) < MAX_IDLE_PER_ORIGIN and not connection.writer.is_closing():
                connection.idle_since = self._now()
                idle.append(connection)
                return
        self._discard(connection)

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    # -- one exchange ----------------------------------------------------------------

    async def _exchange(
        self,
        connection: _Connection,
        origin: Origin,
        request: httpx.Request,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        try:
            event = h11.Request(
                method=request.method,
                target=request.url.raw_path,
                headers=list(request.headers.raw),
            )
            connection.writer.write(
                connection.h11.send(event) + (connection.h11.send(h11.EndOfMessage()) or b"")
            )
            try:
                async with asyncio.timeout(timeouts.get("write")):
                    await connection.writer.drain()
            except TimeoutError as exc:
                raise httpx.WriteTimeout("sending the request timed out") from exc
            except OSError as exc:
                raise httpx.WriteError(str(exc) or type(exc).__name__) from exc
            read_timeout = timeouts.get("read")
            while True:
                head = await _next_event(connection, read_timeout)
                if isinstance(head, h11.Response):
                    break
                if not isinstance(head, h11.InformationalResponse):
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    )
        except BaseException:
            self._discard(connection)
            raise
        return httpx.Response(
            status_code=head.status_code,
            headers=head.headers,
            stream=_Body(self, connection, origin, read_timeout),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
            request=request,
        )


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives; the connection goes back to the pool when it is read
    to its end, and is closed if the reader stops early (the rest is never read)."""

    def __init__(
        self,
        transport: ProbeTransport,
        connection: _Connection,
        origin: Origin,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._origin = origin
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        try:
            while True:
                event = await _next_event(connection, self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self._connection = None
                    self._transport._release(connection, self._origin)
                    return
                else:
                    raise httpx.RemoteProtocolError("Server disconnected before the body ended.")
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._transport._discard(connection)


async def _next_event(connection: _Connection, timeout: float | None) -> h11.Event:
    """The next h11 event, reading from the socket as it needs (each read within `timeout`)."""
    state = connection.h11
    while True:
        try:
            event = state.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from exc
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]
        try:
            async with asyncio.timeout(timeout):
                data = await connection.reader.read(READ_SIZE)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("no answer within the read timeout") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        if not data and state.their_state is h11.SEND_RESPONSE:
            raise httpx.RemoteProtocolError(NO_RESPONSE)
        state.receive_data(data)


def _default_port(scheme: bytes) -> int:
    return 443 if scheme == b"https" else 80
