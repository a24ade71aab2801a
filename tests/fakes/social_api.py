"""Loopback fakes of the social platforms' HTTP APIs, for the pollers and the publishers.

:class:`FakePlatform` is an aiohttp server on 127.0.0.1:0 with per-path handlers, a log of
every request and a queue of faults; the platform modules below register handlers on it
that speak each platform's real format (Mastodon REST, Bluesky XRPC, Reddit's OAuth API)
and keep what was posted, so a test asserts what a user would see on the platform.
"""

from __future__ import annotations

import base64
import html
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import regex
from aiohttp import web

from bot.sources.signatures import CRMBOT_HEADER, SignatureError, verify_crmbot

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class FakePlatform:
    """An aiohttp server on 127.0.0.1:0 with per-path handlers, a request log and faults."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Seen] = []
        self.faults: list[web.Response] = []
        self.base = ""
        self._runner: web.AppRunner | None = None

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Seen(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        if self.faults:
            return self.faults.pop(0)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return web.json_response({"error": "Record not found"}, status=404)
        return await handler(request)


@asynccontextmanager
async def running_platform() -> AsyncIterator[FakePlatform]:
    """A started :class:`FakePlatform`, stopped on exit."""
    platform = FakePlatform()
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


class WebhookReceiver:
    """The far end of an outbound webhook: checks the signature with the same code that
    checks inbound webhooks, drops repeats by ``Idempotency-Key`` (the documented
    contract) and answers ``{"id", "url"}`` of what it delivered."""

    def __init__(self, platform: FakePlatform, secret: str, path: str = "/hooks/crmbot") -> None:
        self.secret = secret
        self.path = path
        self.delivered: dict[str, dict[str, Any]] = {}
        self.refused: list[str] = []
        platform.on("POST", path, self._receive)
        self._platform = platform

    @property
    def url(self) -> str:
        return f"{self._platform.base}{self.path}"

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            verify_crmbot(self.secret, body, request.headers.get(CRMBOT_HEADER))
        except SignatureError as exc:
            self.refused.append(exc.reason)
            return web.json_response({"error": exc.reason}, status=401)
        envelope = json.loads(body)
        key = request.headers["Idempotency-Key"]
        assert envelope["id"] == key
        if key not in self.delivered:
            self.delivered[key] = envelope
        number = list(self.delivered).index(key) + 1
        return web.json_response({"id": f"msg-{number}", "url": f"https://x.example/s/{number}"})


# -- Mastodon ---------------------------------------------------------------------------


def _mastodon_account(host: str, username: str, account_id: str) -> dict[str, Any]:
    return {
        "id": account_id,
        "username": username,
        "acct": username,
        "display_name": username.title(),
        "locked": False,
        "bot": False,
        "group": False,
        "created_at": "2023-04-01T00:00:00.000Z",
        "note": "",
        "url": f"https://{host}/@{username}",
        "uri": f"https://{host}/users/{username}",
        "avatar": f"https://{host}/avatars/missing.png",
        "avatar_static": f"https://{host}/avatars/missing.png",
        "header": f"https://{host}/headers/missing.png",
        "header_static": f"https://{host}/headers/missing.png",
        "followers_count": 10,
        "following_count": 10,
        "statuses_count": 1,
        "last_status_at": "2026-03-02",
        "emojis": [],
        "fields": [],
    }


def _mastodon_html(text: str, host: str) -> str:
    """Mastodon's rendering of a status: mentions become h-card links reading ``@user``."""

    def link(match: re.Match[str]) -> str:
        user, domain = match.group(1), match.group(2) or host
        return (
            f'<span class="h-card"><a href="https://{domain}/@{user}" class="u-url mention">'
            f"@<span>{html.escape(user)}</span></a></span>"
        )

    parts = re.split(r"(@[\w.-]+(?:@[\w.-]+)?)", text)
    out = []
    for part in parts:
        found = re.fullmatch(r"@([\w.-]+)(?:@([\w.-]+))?", part)
        out.append(link(found) if found else html.escape(part).replace("\n", "<br />"))
    return f"<p>{''.join(out)}</p>"


def serve_mastodon_instance(platform: FakePlatform) -> None:
    """``GET /api/v1/instance/`` and ``/api/v2/instance/`` (Mastodon.py's version check)."""

    async def instance(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "domain": "mastodon.example",
                "uri": "mastodon.example",
                "title": "Mastodon Example",
                "version": "4.3.2",
                "api_versions": {"mastodon": 2},
                "configuration": {
                    "timelines_access": {
                        "live_feeds": {"local": "public", "remote": "public"},
                        "hashtag_feeds": {"local": "public", "remote": "public"},
                        "trending_link_feeds": {"local": "public", "remote": "public"},
                    }
                },
            }
        )

    platform.on("GET", "/api/v1/instance/", instance)
    platform.on("GET", "/api/v2/instance/", instance)


class FakeMastodon:
    """A Mastodon instance's REST API (``/api/v1/statuses``, ``/api/v2/search``, the
    account's statuses), keeping what was posted. ``POST /api/v1/statuses`` drops a
    repeated ``Idempotency-Key`` as Mastodon does: the same status comes back."""

    host = "mastodon.example"

    def __init__(self, platform: FakePlatform, token: str) -> None:
        self.token = token
        self.me = _mastodon_account(self.host, "acmesupport", "109900000000000099")
        self.originals: dict[str, dict[str, Any]] = {}
        self.posted: list[dict[str, Any]] = []
        self.by_key: dict[str, dict[str, Any]] = {}
        self.next_id = 114000000000000001
        platform.on("POST", "/api/v1/statuses", self._post)
        platform.on("GET", "/api/v2/search", self._search)
        platform.on("GET", "/api/v1/accounts/verify_credentials", self._me)
        platform.on("GET", f"/api/v1/accounts/{self.me['id']}/statuses", self._statuses)
        serve_mastodon_instance(platform)

    def original(self, local_id: str, username: str, visibility: str = "public") -> dict[str, Any]:
        """A customer's status on this instance (what the bot answers)."""
        author = _mastodon_account(self.host, username, "109900000000000001")
        status = self._status(local_id, author, f"<p>@acme is {username} down?</p>", visibility)
        self.originals[local_id] = status
        return status

    def _status(
        self,
        local_id: str,
        account: dict[str, Any],
        content: str,
        visibility: str,
        in_reply_to_id: str | None = None,
    ) -> dict[str, Any]:
        user = account["username"]
        return {
            "id": local_id,
            "created_at": "2026-03-02T09:00:00.000Z",
            "in_reply_to_id": in_reply_to_id,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": visibility,
            "language": "en",
            "uri": f"https://{self.host}/users/{user}/statuses/{local_id}",
            "url": f"https://{self.host}/@{user}/{local_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "content": content,
            "reblog": None,
            "account": account,
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    @staticmethod
    def _refused() -> web.Response:
        return web.json_response({"error": "The access token is invalid"}, status=401)

    async def _post(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refused()
        if request.content_type == "application/json":
            form: Mapping[str, Any] = await request.json()
        else:
            form = await request.post()
        key = request.headers.get("Idempotency-Key")
        if key and key in self.by_key:
            return web.json_response(self.by_key[key])
        parent = str(form.get("in_reply_to_id") or "")
        if parent and parent not in self.originals:
            return web.json_response({"error": "Record not found"}, status=404)
        text = str(form["status"])
        if len(text) > 500:
            return web.json_response(
                {"error": "Validation failed: Text character limit of 500 exceeded"}, status=422
            )
        status = self._status(
            str(self.next_id),
            self.me,
            _mastodon_html(text, self.host),
            str(form.get("visibility") or "public"),
            parent or None,
        )
        self.next_id += 1
        self.posted.append(status)
        if key:
            self.by_key[key] = status
        return web.json_response(status)

    async def _search(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refused()
        assert request.query["type"] == "statuses"
        found = [s for s in self.originals.values() if s["uri"] == request.query["q"]]
        if found and request.query.get("resolve") not in ("1", "true"):
            found = []  # a remote post is found by its URI only with resolve=true
        return web.json_response({"accounts": [], "hashtags": [], "statuses": found})

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refused()
        return web.json_response(self.me)

    async def _statuses(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refused()
        limit = int(request.query.get("limit", "20"))
        return web.json_response(list(reversed(self.posted))[:limit])


# -- Bluesky ----------------------------------------------------------------------------


def _jwt(payload: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(payload)}.c2lnbmF0dXJl"


def _xrpc_error(error: str, message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status)


class BlueskySession:
    """A PDS's ``com.atproto.server.createSession`` / ``getSession`` for one account
    (``acme.bsky.social`` with the app password ``app-pass-1``)."""

    did = "did:plc:crmbotservice0000000000"
    handle = "acme.bsky.social"
    password = "app-pass-1"

    def __init__(self, platform: FakePlatform) -> None:
        now = int(time.time())  # the SDK checks the JWT's expiry against its own clock
        self.access = _jwt(
            {"scope": "com.atproto.appPass", "sub": self.did, "iat": now, "exp": now + 7200}
        )
        self.refresh = _jwt(
            {"scope": "com.atproto.refresh", "sub": self.did, "iat": now, "exp": now + 86400}
        )
        self._platform = platform
        platform.on("POST", "/xrpc/com.atproto.server.createSession", self._create)
        platform.on("GET", "/xrpc/com.atproto.server.getSession", self._get)

    def authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.access}"

    def _session(self) -> dict[str, Any]:
        return {
            "handle": self.handle,
            "did": self.did,
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": self.did,
                "alsoKnownAs": [f"at://{self.handle}"],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": self._platform.base,
                    }
                ],
            },
            "email": "social@acme.example",
            "emailConfirmed": True,
            "active": True,
        }

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"identifier": self.handle, "password": self.password}:
            return _xrpc_error("AuthenticationRequired", "Invalid identifier or password", 401)
        return web.json_response(
            {"accessJwt": self.access, "refreshJwt": self.refresh, **self._session()}
        )

    async def _get(self, request: web.Request) -> web.Response:
        if not self.authorised(request):
            return _xrpc_error("ExpiredToken", "Token has expired", 400)
        return web.json_response(self._session())


class FakeBluesky:
    """A PDS's repo (``createRecord``, ``getRecord``) and ``resolveHandle``, checking what
    Bluesky checks of a reply post: the lexicon's shape, strong refs, facets whose UTF-8
    byte range holds the mention, 300 graphemes, and that a record key is used once."""

    def __init__(self, platform: FakePlatform, handles: Mapping[str, str]) -> None:
        self.session = BlueskySession(platform)
        self.handles = dict(handles)  # handle -> DID
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> record
        self.refused: list[str] = []
        platform.on("GET", "/xrpc/com.atproto.identity.resolveHandle", self._resolve)
        platform.on("POST", "/xrpc/com.atproto.repo.createRecord", self._create)
        platform.on("GET", "/xrpc/com.atproto.repo.getRecord", self._get)
        platform.on("GET", "/xrpc/app.bsky.feed.getPosts", self._posts)
        self.posts: dict[str, dict[str, Any]] = {}  # at:// URI -> post view (the AppView)

    def add_post(
        self, uri: str, cid: str, handle: str, root: tuple[str, str] | None = None
    ) -> None:
        """A customer's post the AppView knows (``root``: the thread's first post)."""
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": "is acme down?",
            "createdAt": "2026-03-02T08:50:00.000Z",
        }
        if root is not None:
            ref = {"uri": root[0], "cid": root[1]}
            record["reply"] = {"root": ref, "parent": ref}
        self.posts[uri] = {
            "uri": uri,
            "cid": cid,
            "author": {"did": self.handles[handle], "handle": handle},
            "record": record,
            "indexedAt": "2026-03-02T08:50:01.000Z",
        }

    def uri(self, rkey: str) -> str:
        return f"at://{self.session.did}/app.bsky.feed.post/{rkey}"

    async def _resolve(self, request: web.Request) -> web.Response:
        did = self.handles.get(request.query["handle"])
        if did is None:
            return _xrpc_error("InvalidRequest", "Unable to resolve handle")
        return web.json_response({"did": did})

    def _invalid(self, record: dict[str, Any]) -> str | None:
        if record.get("$type") != "app.bsky.feed.post" or not record.get("createdAt"):
            return "Record/$type and createdAt are required"
        if len(regex.findall(r"\X", record["text"])) > 300:
            return "Record/text must not be longer than 300 graphemes"
        reply = record.get("reply") or {}
        for part in ("root", "parent"):
            ref = reply.get(part) or {}
            if not str(ref.get("uri", "")).startswith("at://") or not ref.get("cid"):
                return f"Record/reply/{part} must be a strong ref"
        encoded = record["text"].encode()
        for facet in record.get("facets") or []:
            index, [feature] = facet["index"], facet["features"]
            covered = encoded[index["byteStart"] : index["byteEnd"]].decode(errors="replace")
            did = feature.get("did")
            if not covered.startswith("@") or self.handles.get(covered[1:]) != did:
                return "Record/facets: the mention's byte range does not hold its handle"
        return None

    async def _create(self, request: web.Request) -> web.Response:
        if not self.session.authorised(request):
            return _xrpc_error("ExpiredToken", "Token has expired", 400)
        body = await request.json()
        rkey, record = body["rkey"], body["record"]
        assert body["repo"] == self.session.did and body["collection"] == "app.bsky.feed.post"
        assert re.fullmatch(r"[234567a-j][234567a-z]{12}", rkey), rkey  # a TID
        problem = self._invalid(record)
        if problem is None and rkey in self.records:
            problem = "Record already exists"
        if problem is not None:
            self.refused.append(problem)
            return _xrpc_error("InvalidRequest", problem)
        self.records[rkey] = record
        return web.json_response(
            {
                "uri": self.uri(rkey),
                "cid": "bafyreia" + rkey,
                "commit": {"cid": "bafyreicommit", "rev": "3lcommitrev22"},
                "validationStatus": "valid",
            }
        )

    async def _posts(self, request: web.Request) -> web.Response:
        if not self.session.authorised(request):
            return _xrpc_error("ExpiredToken", "Token has expired", 400)
        uris = request.query.getall("uris")
        return web.json_response({"posts": [self.posts[u] for u in uris if u in self.posts]})

    async def _get(self, request: web.Request) -> web.Response:
        rkey = request.query["rkey"]
        if rkey not in self.records:
            return _xrpc_error("RecordNotFound", f"Could not locate record: {self.uri(rkey)}")
        return web.json_response(
            {"uri": self.uri(rkey), "cid": "bafyreia" + rkey, "value": self.records[rkey]}
        )


# -- Reddit -----------------------------------------------------------------------------


class FakeReddit:
    """Reddit's OAuth token endpoint (password and refresh-token grants of an app) and the
    user's side of its API: ``POST /api/comment``, ``/api/v1/me`` and the user's newest
    comments, keeping the comments made. ``locked`` answers a comment as Reddit does on a
    locked post."""

    client = ("rid", "rsecret")
    username = "acme_support"
    password = "user-pass-1"
    refresh_token = "refresh-tok-1"
    access = "eyJ-reddit-user-token"

    def __init__(self, platform: FakePlatform) -> None:
        self.comments: list[dict[str, Any]] = []
        self.locked: set[str] = set()
        platform.on("POST", "/api/v1/access_token", self._token)
        platform.on("POST", "/api/comment/", self._comment)
        platform.on("GET", "/api/v1/me", self._me)
        platform.on("GET", f"/user/{self.username}/comments", self._mine)

    async def _token(self, request: web.Request) -> web.Response:
        basic = base64.b64encode(":".join(self.client).encode()).decode()
        if request.headers.get("Authorization") != f"Basic {basic}":
            return web.json_response({"error": 401, "message": "Unauthorized"}, status=401)
        form = await request.post()
        grant = form["grant_type"]
        good = (grant == "password" and form.get("password") == self.password) or (
            grant == "refresh_token" and form.get("refresh_token") == self.refresh_token
        )
        if not good:
            return web.json_response({"error": "invalid_grant"})  # Reddit answers 200
        return web.json_response(
            {"access_token": self.access, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"bearer {self.access}"

    async def _comment(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        form = await request.post()
        parent = str(form["thing_id"])
        if parent in self.locked:
            errors = [["THREAD_LOCKED", "Comments are locked.", "parent"]]
            return web.json_response({"json": {"errors": errors}})
        number = len(self.comments) + 1
        post_id = parent.removeprefix("t3_")
        comment = {
            "id": f"kc{number:05d}",
            "name": f"t1_kc{number:05d}",
            "body": str(form["text"]),
            "parent_id": parent,
            "link_id": parent,
            "author": self.username,
            "subreddit": "acme",
            "created_utc": 1772442000.0 + number,
            "permalink": f"/r/acme/comments/{post_id}/post/kc{number:05d}/",
            "score": 1,
            "replies": "",
        }
        self.comments.append(comment)
        return web.json_response(
            {"json": {"errors": [], "data": {"things": [{"kind": "t1", "data": comment}]}}}
        )

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        return web.json_response({"name": self.username, "id": "u1acme"})

    async def _mine(self, request: web.Request) -> web.Response:
        newest = [{"kind": "t1", "data": c} for c in reversed(self.comments)]
        return web.json_response(
            {"kind": "Listing", "data": {"after": None, "before": None, "children": newest}}
        )
