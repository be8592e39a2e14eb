"""Keeping the API token out of everything the client shows: error text, bodies, dumps.

The token travels in every v1 request (``auth``) and in the v2 ``Authorization`` header, and
an answer may quote it back. Whatever the client hands on for people to read (an error's
message, the start of a body, a recorded exchange) goes through a :class:`TokenScrubber`
first, which replaces the token with :data:`TOKEN_MARK` in every form it may take in a body.
"""

import json
import re

TOKEN_MARK = "<token>"
BODY_START_BYTES = 300
"""How much of an unexpected body an error shows."""


class TokenScrubber:
    """Replaces one secret, as written plainly or JSON-escaped, with :data:`TOKEN_MARK`."""

    def __init__(self, secret: str) -> None:
        forms: set[str] = set()
        if secret:
            escaped = json.dumps(secret)[1:-1]
            # JSON may escape non-ASCII (or not) and "/" (PHP does by default).
            forms = {secret, escaped, escaped.replace("/", "\\/")}
            forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        # Longest first, so a form that contains another is replaced whole.
        self._text = sorted(forms, key=len, reverse=True)
        self._bytes = [form.encode() for form in self._text]
        self._pattern = re.compile(b"|".join(re.escape(form) for form in self._bytes))

    def clean_text(self, value: str) -> str:
        """``value`` with every form of the secret replaced."""
        for form in self._text:
            if form in value:
                value = value.replace(form, TOKEN_MARK)
        return value

    def clean_bytes(self, data: bytes) -> bytes:
        """``data`` with every form of the secret replaced."""
        mark = TOKEN_MARK.encode()
        for form in self._bytes:
            if form in data:
                data = data.replace(form, mark)
        return data

    def clean_json(self, value: object) -> object:
        """A copy of a JSON value with the secret replaced in every key and string."""
        if isinstance(value, str):
            return self.clean_text(value)
        if isinstance(value, dict):
            return {self.clean_text(str(k)): self.clean_json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.clean_json(item) for item in value]
        return value

    def body_start(self, body: bytes, limit: int = BODY_START_BYTES) -> str:
        """The first ``limit`` bytes of ``body`` as text, the secret removed.

        The whole body is scrubbed before it is clipped: clipping first could cut the
        token at the border, and its first half would no longer match anything.
        """
        return self.clean_bytes(body)[:limit].decode("utf-8", errors="replace")

    def head_bytes(self, limit: int = BODY_START_BYTES) -> int:
        """How many leading bytes of a body decide its :meth:`body_start`.

        Each byte shown is a byte of the body or part of the mark that replaced a whole
        form of the secret, and a form that begins among those bytes ends at most its
        length further."""
        longest = len(self._bytes[0]) if self._bytes else 0
        return limit * max(1, longest) + longest

    def stream(self) -> "ScrubbedStream":
        """A scrubber for a body that arrives in pieces (a streamed download)."""
        return ScrubbedStream(self._bytes, self._pattern)


class ScrubbedStream:
    """Removes the secret from a body piece by piece, even a form cut between two pieces:
    the last bytes of each piece, too few to hold a whole form, wait for the next one."""

    def __init__(self, forms: list[bytes], pattern: re.Pattern[bytes]) -> None:
        self._forms = forms
        self._pattern = pattern
        self._keep = max((len(form) for form in forms), default=1) - 1
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        """The next piece; returns what of the body so far can be shown, secret removed."""
        if not self._forms:
            return data
        buffer = self._held + data
        cut = len(buffer) - self._keep
        if cut <= 0:
            self._held = buffer
            return b""
        if not any(form in buffer for form in self._forms):
            self._held = buffer[cut:]
            return buffer[:cut]
        # A form that starts before ``cut`` lies whole in ``buffer``, so it is decided now;
        # one that starts later may go on in the next piece.
        pieces, shown = [], 0
        for match in self._pattern.finditer(buffer):
            if match.start() >= cut:
                break
            pieces += [buffer[shown : match.start()], TOKEN_MARK.encode()]
            shown = match.end()
        end = max(shown, cut)
        pieces.append(buffer[shown:end])
        self._held = buffer[end:]
        return b"".join(pieces)

    def finish(self) -> bytes:
        """The end of the body: what was held back, secret removed."""
        held, self._held = self._held, b""
        if not self._forms:
            return held
        return self._pattern.sub(TOKEN_MARK.encode(), held)
