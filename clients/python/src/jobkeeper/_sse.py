"""A Server-Sent Events parser (the WHATWG rules), fed bytes as they arrive."""

from __future__ import annotations

from typing import List, NamedTuple, Optional


class SseMessage(NamedTuple):
    event: str  # "message" when the stream named none
    data: str
    last_event_id: str  # the stream's last id (kept across messages, as browsers do)


class SseParser:
    """Splits a stream into messages: lines end with LF, CRLF or CR; ``data`` lines join with LF; comments skipped."""

    def __init__(self) -> None:
        self._buffer = b""
        self._pending_cr = False
        self._event = ""
        self._data: List[str] = []
        self._has_data = False
        self._first = True
        self.last_event_id = ""
        self.retry: Optional[int] = None

    def feed(self, chunk: bytes) -> List[SseMessage]:
        messages: List[SseMessage] = []
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across two reads
        self._pending_cr = False
        data = self._buffer + chunk
        start = 0
        size = len(data)
        while start < size:
            cr = data.find(b"\r", start)
            lf = data.find(b"\n", start)
            if cr < 0 and lf < 0:
                break
            if cr >= 0 and (lf < 0 or cr < lf):
                end, next_start = cr, cr + 1
                if next_start < size and data[next_start:next_start + 1] == b"\n":
                    next_start += 1
                elif next_start == size:
                    self._pending_cr = True
            else:
                end, next_start = lf, lf + 1
            message = self._line(data[start:end])
            if message is not None:
                messages.append(message)
            start = next_start
        self._buffer = data[start:]
        return messages

    def _line(self, raw: bytes) -> Optional[SseMessage]:
        line = raw.decode("utf-8", "replace")
        if self._first:
            self._first = False
            if line.startswith("\ufeff"):
                line = line[1:]
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> Optional[SseMessage]:
        event, self._event = self._event, ""
        if not self._has_data:
            self._data = []
            return None
        data = "\n".join(self._data)
        self._data = []
        self._has_data = False
        return SseMessage(event or "message", data, self.last_event_id)
