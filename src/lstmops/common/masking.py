"""Credentials in URLs, hidden before anything is shown, logged or recorded.

A tracking URI may carry its user-info (`http://alice:password@host`, or a token alone:
`http://token@host`); every message, log line, tag and link lstmops writes passes through `masked`.
No imports beyond the standard library: the CLI's error handler masks every message with it.
"""

from __future__ import annotations

import re

# The user-info of a URL: `user:password@` or a token alone (`token@`). The password part runs to the
# last `@` before the path, so an unencoded `@` in a password cannot leave its tail showing.
_USER_INFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*)(?::(?P<password>[^/\s]*))?@")


def masked(text: str) -> str:
    """`text` (a URI, or a message quoting URIs) with every credential in a URL's user-info replaced by ***:
    `http://alice:pw@host` -> `http://alice:***@host`, `http://token@host` -> `http://***@host`.
    For logs, messages, tags and links."""

    def hide(found: re.Match) -> str:
        if found["password"] is None:
            return f"{found['scheme']}***@"
        return f"{found['scheme']}{found['user']}:***@"

    return _USER_INFO.sub(hide, text)


def carries_credentials(uri: str) -> bool:
    return masked(uri) != uri
