"""Which sites may frame the widget and call the API from a browser: one policy for CORS and CSP.

A course site embeds the tutor on public pages, so the default must be safe without configuration:
only loopback origins (any port), which is what a learner or author running the tutor locally needs.
Anything wider is an explicit list, and `*` is allowed only when asked for, with a warning.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
_LOOPBACK = re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$")


@dataclass(frozen=True)
class OriginPolicy:
    """`origins` empty = loopback only; `("*",)` = any site; else exactly these `scheme://host[:port]`."""

    origins: tuple[str, ...] = ()

    @classmethod
    def of(cls, origins: tuple[str, ...] | list[str]) -> OriginPolicy:
        cleaned = tuple(dict.fromkeys(o.strip().rstrip("/") for o in origins if o.strip()))
        for origin in cleaned:
            if origin != "*" and not is_origin(origin):
                raise ValueError(f"allowed origin {origin!r} is not scheme://host[:port] (e.g. https://school.example)")
        return cls(("*",) if "*" in cleaned else cleaned)

    @property
    def any(self) -> bool:
        return self.origins == ("*",)

    def allows(self, origin: str) -> bool:
        """Whether a browser page at `origin` may use the tutor (same-origin requests send no Origin)."""
        if self.any:
            return True
        if not self.origins:
            return bool(_LOOPBACK.match(origin))
        return origin.rstrip("/") in self.origins

    def cors(self) -> dict[str, object]:
        """Keyword arguments for Starlette's `CORSMiddleware`."""
        if self.any:
            return {"allow_origins": ["*"]}
        if not self.origins:
            return {"allow_origins": [], "allow_origin_regex": _LOOPBACK.pattern}
        return {"allow_origins": list(self.origins)}

    def frame_ancestors(self) -> str:
        """The `Content-Security-Policy` that lets exactly the allowed sites frame a page."""
        if self.any:
            sources = "*"
        elif not self.origins:
            sources = " ".join(f"{scheme}://{host}:*" for host in LOOPBACK_HOSTS for scheme in ("http", "https"))
        else:
            sources = " ".join(self.origins)
        return f"frame-ancestors 'self' {sources}"

    def describe(self) -> str:
        if self.any:
            return "any site (*)"
        return ", ".join(self.origins) if self.origins else "loopback origins only"

    def warn_if_open(self) -> None:
        if self.any:
            log.warning("TUTOR_ALLOWED_ORIGINS=*: any website may embed this tutor and call its API from a browser")


def is_origin(value: str) -> bool:
    """Whether `value` is a browser origin, `scheme://host[:port]` and nothing more (no path, user, query)."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return False
    extra = parts.path or parts.query or parts.fragment or parts.username is not None or parts.password is not None
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not extra
