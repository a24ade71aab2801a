"""A loopback fake of HubSpot's CRM v3 API, in HubSpot's own JSON, for the real client.

It serves what crmbot's HubSpot CRM uses: contacts read (with deal associations), search
(``EQ`` filters, filter groups OR'ed), create (409 ``Contact already exists. Existing ID``
on a duplicate email, as HubSpot does), update; deals read (with contact associations);
notes create with inline associations. A request without the right bearer token gets
HubSpot's 401; :meth:`FakeHubspot.fail_next` scripts failures (a 429 with Retry-After).

It runs in its own thread (``http.server``), so tests may call it from synchronous code
running on the event loop's thread as well as from worker threads.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "pat-na1-fake-token-1234"
STAMP = "2026-03-01T10:00:00.000Z"


@dataclass
class Failure:
    status: int
    retry_after: str | None = None
    path_contains: str = ""


@dataclass
class FakeHubspot:
    """The account's objects and what was asked of it."""

    token: str = TOKEN
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)
    deals: dict[str, dict[str, str]] = field(default_factory=dict)
    deal_contacts: dict[str, list[str]] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    url: str = ""
    gate: threading.Event | None = None  # when set, reads wait for it (a slow HubSpot)
    _next_id: int = 1000
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- scripting -------------------------------------------------------------

    def add_contact(self, **props: str) -> str:
        contact_id = self._new_id()
        self.contacts[contact_id] = dict(props)
        return contact_id

    def add_deal(self, contact_ids: list[str], **props: str) -> str:
        deal_id = self._new_id()
        self.deals[deal_id] = dict(props)
        self.deal_contacts[deal_id] = list(contact_ids)
        return deal_id

    def fail_next(self, status: int, retry_after: str | None = None, times: int = 1) -> None:
        self.failures.extend(Failure(status, retry_after) for _ in range(times))

    def calls(self, method: str, path_contains: str = "") -> int:
        return sum(1 for m, p in self.requests if m == method and path_contains in p)

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    # -- the server ------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        body = json.loads(req.rfile.read(length) or b"{}") if length else {}
        if method == "GET" and self.gate is not None:
            self.gate.wait(10)
        with self._lock:
            self.requests.append((method, parsed.path))
            if req.headers.get("Authorization") != f"Bearer {self.token}":
                status, answer, headers = 401, _error("Authentication credentials not found."), {}
            elif self.failures:
                failure = self.failures.pop(0)
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                status, answer = failure.status, _error("You have reached your secondly limit.")
            else:
                status, answer = self._route(method, parsed.path, parse_qs(parsed.query), body)
                headers = {}
        data = json.dumps(answer).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json;charset=utf-8")
        req.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            req.send_header(name, value)
        req.end_headers()
        req.wfile.write(data)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        parts = path.strip("/").split("/")  # crm v3 objects <type> [id|search]
        if parts[:3] != ["crm", "v3", "objects"] or len(parts) < 4:
            return 404, _error(f"no route {path}")
        kind, rest = parts[3], parts[4:]
        wanted = _listed(query.get("properties"))
        assoc = _listed(query.get("associations"))
        if kind == "contacts" and method == "POST" and rest == ["search"]:
            return 200, self._search(body)
        if kind == "contacts" and method == "POST" and not rest:
            return self._create_contact(body)
        if kind == "contacts" and method == "GET" and len(rest) == 1:
            return self._read(self.contacts, rest[0], wanted, "deals" in assoc, "deals")
        if kind == "contacts" and method == "PATCH" and len(rest) == 1:
            if rest[0] not in self.contacts:
                return 404, _error("resource not found")
            self.contacts[rest[0]].update(body.get("properties") or {})
            return 200, _object(rest[0], self.contacts[rest[0]])
        if kind == "deals" and method == "GET" and len(rest) == 1:
            return self._read(self.deals, rest[0], wanted, "contacts" in assoc, "contacts")
        if kind == "notes" and method == "POST" and not rest:
            note_id = self._new_id()
            self.notes.append({"id": note_id, **body})
            return 201, _object(note_id, body.get("properties") or {})
        return 404, _error(f"no route {method} {path}")

    def _read(
        self,
        store: dict[str, dict[str, str]],
        object_id: str,
        wanted: list[str],
        with_assoc: bool,
        assoc_kind: str,
    ) -> tuple[int, Any]:
        if object_id not in store:
            return 404, _error("resource not found")
        props = {k: v for k, v in store[object_id].items() if not wanted or k in wanted}
        obj = _object(object_id, props)
        if with_assoc:
            if assoc_kind == "contacts":
                ids = self.deal_contacts.get(object_id, [])
            else:
                ids = [d for d, cs in self.deal_contacts.items() if object_id in cs]
            if ids:
                obj["associations"] = {
                    assoc_kind: {"results": [{"id": i, "type": f"x_to_{assoc_kind}"} for i in ids]}
                }
        return 200, obj

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        groups = body.get("filterGroups") or []
        found = [
            cid
            for cid, props in sorted(self.contacts.items(), key=lambda kv: int(kv[0]))
            if any(
                all(
                    f.get("operator") == "EQ"
                    and str(props.get(f["propertyName"], "")).lower() == str(f["value"]).lower()
                    for f in g.get("filters") or []
                )
                for g in groups
            )
        ]
        limit = int(body.get("limit") or 10)
        wanted = body.get("properties") or []
        return {
            "total": len(found),
            "results": [
                _object(c, {k: v for k, v in self.contacts[c].items() if not wanted or k in wanted})
                for c in found[:limit]
            ],
        }

    def _create_contact(self, body: dict[str, Any]) -> tuple[int, Any]:
        props = dict(body.get("properties") or {})
        email = props.get("email")
        if email:
            for cid, existing in self.contacts.items():
                if existing.get("email", "").lower() == email.lower():
                    return 409, {
                        "status": "error",
                        "message": f"Contact already exists. Existing ID: {cid}",
                        "category": "CONFLICT",
                    }
        contact_id = self._new_id()
        self.contacts[contact_id] = props
        return 201, _object(contact_id, props)


def _listed(values: list[str] | None) -> list[str]:
    return [v for raw in values or [] for v in raw.split(",") if v]


def _object(object_id: str, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": object_id,
        "properties": {k: v for k, v in props.items() if v is not None},
        "createdAt": STAMP,
        "updatedAt": STAMP,
        "archived": False,
    }


def _error(message: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "category": "ERROR"}
