"""Pure ASGI middleware: request ids, body-size limit, per-request metrics and access logs."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logs import request_id_var
from service.metrics import Metrics

logger = logging.getLogger("service.access")

_REQUEST_ID_HEADER = b"x-request-id"
_MAX_INCOMING_ID = 128
CLIENT_CLOSED_REQUEST = 499  # recorded (never sent) when the client left before its response


def error_body(
    error_type: str,
    message: str,
    request_id: str | None,
    fields: list[dict[str, str]] | None = None,
) -> bytes:
    return json.dumps(
        {
            "error": {
                "type": error_type,
                "message": message,
                "fields": fields or [],
                "request_id": request_id,
            }
        }
    ).encode()


class RequestContextMiddleware:
    """Assigns a request id, enforces the body limit before any parsing, records metrics."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(_REQUEST_ID_HEADER, b"").decode("latin-1")
        request_id = (
            incoming
            # ASCII only: the id is echoed as a header and logged, and must round-trip unchanged.
            if 0 < len(incoming) <= _MAX_INCOMING_ID
            and incoming.isascii()
            and incoming.isprintable()
            else uuid.uuid4().hex
        )
        token = request_id_var.set(request_id)
        # Also in the scope: the catch-all 500 handler runs outside this middleware's context.
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500, "started": False, "complete": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                status_holder["complete"] = True
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (_REQUEST_ID_HEADER, request_id.encode()),
                ]
            await send(message)

        try:
            replay = await self._read_limited_body(
                scope, receive, headers, request_id, send_with_id
            )
            if replay is None:  # already answered 413, or the client left while sending
                if not status_holder["started"]:
                    status_holder["status"] = CLIENT_CLOSED_REQUEST
                return
            if replay is receive:
                await self.app(scope, receive, send_with_id)
            else:
                await self._call_app_until_disconnect(
                    scope, replay, receive, send_with_id, status_holder
                )
        finally:
            route = scope.get("route")
            route_path = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            status = int(status_holder["status"])
            self.metrics.requests.labels(route_path, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route_path).observe(elapsed)
            if route_path not in ("/healthz", "/readyz", "/metrics"):
                logger.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route_path,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)

    async def _read_limited_body(
        self,
        scope: Scope,
        receive: Receive,
        headers: dict[bytes, bytes],
        request_id: str,
        send: Send,
    ) -> Receive | None:
        """Buffer the body up to the limit; answer 413 (and return None) past it."""
        declared = headers.get(b"content-length")
        too_large = False
        if declared is not None:
            try:
                too_large = int(declared) > self.max_body_bytes
            except ValueError:
                too_large = False
        chunks: list[bytes] = []
        size = 0
        if not too_large and scope["method"] in ("POST", "PUT", "PATCH"):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None  # nobody to answer: do not run the app on a partial body
                body = message.get("body", b"")
                size += len(body)
                if size > self.max_body_bytes:
                    too_large = True
                    break
                chunks.append(body)
                if not message.get("more_body", False):
                    break
        elif not too_large:
            return receive
        if too_large:
            await self._send_json(
                send,
                413,
                error_body(
                    "payload_too_large",
                    f"request body is over the limit of {self.max_body_bytes} bytes (PIVOT_MAX_BODY_BYTES)",
                    request_id,
                ),
            )
            return None
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def _call_app_until_disconnect(
        self,
        scope: Scope,
        replay: Receive,
        receive: Receive,
        send: Send,
        status_holder: dict[str, int | bool],
    ) -> None:
        """Run the app; cancel it if the client disconnects before its response is complete.

        The body has been read in full, so the server's next message is `http.disconnect` (when the
        client goes away, or once the response is complete). Cancelling the handler cancels its
        queued items, which the batcher then skips: a client that left costs no model time.
        """

        async def client_gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        app_task: asyncio.Future[None] = asyncio.ensure_future(self.app(scope, replay, send))
        watcher = asyncio.create_task(client_gone())
        try:
            await asyncio.wait({app_task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # we are cancelled ourselves (e.g. shutdown timeout)
            app_task.cancel()
            raise
        finally:
            watcher.cancel()
        if not app_task.done() and not status_holder["complete"]:
            if not status_holder["started"]:
                status_holder["status"] = CLIENT_CLOSED_REQUEST
            app_task.cancel()
            await asyncio.wait({app_task})
            if not app_task.cancelled() and app_task.exception() is not None:
                logger.warning("error after the client disconnected", exc_info=app_task.exception())
            return
        await app_task

    @staticmethod
    async def _send_json(send: Send, status: int, body: bytes) -> None:
        start: dict[str, Any] = {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body})
