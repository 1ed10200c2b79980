"""The agent's event stream (``GET /v1/events``) read in a thread, for end-to-end tests that
look at what the POS hears and in which order: ``wait_for`` an event kind, ``kinds()``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

Seen = tuple[str, dict[str, Any]]


class EventStream:
    """Every event of one ``/v1/events`` connection, from its opening on, in order."""

    def __init__(self, url: str, token: str) -> None:
        self._client = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token}"},
            # the stream stays open with nothing to say for 15 s at a time (keep-alives)
            timeout=httpx.Timeout(10, read=60),
        )
        self._seen: list[Seen] = []
        self._changed = threading.Condition()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> EventStream:
        self._thread.start()
        if not self._opened.wait(10):
            raise AssertionError("the agent's event stream did not open")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close()  # ends the read in the thread

    def _read(self) -> None:
        kind = ""
        try:
            with self._client.stream("GET", "/v1/events") as stream:
                self._opened.set()
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        kind = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        with self._changed:
                            self._seen.append((kind, json.loads(line.removeprefix("data: "))))
                            self._changed.notify_all()
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by __exit__

    def seen(self) -> list[Seen]:
        with self._changed:
            return list(self._seen)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.seen()]

    def wait_for(
        self,
        kind: str,
        matches: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout_s: float = 10.0,
    ) -> dict[str, Any]:
        """The first ``kind`` event whose data ``matches``; AssertionError when none came."""

        def found() -> dict[str, Any] | None:
            return next((d for k, d in self._seen if k == kind and matches(d)), None)

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, timeout_s):
                raise AssertionError(f"no {kind!r} event came; the stream had {self.kinds()}")
            data = found()
            assert data is not None
            return data
