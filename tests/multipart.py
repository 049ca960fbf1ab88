"""Multipart bodies written byte for byte, for file names a client library would escape
(httpx percent-encodes control characters in a file name, so a NUL would never arrive)."""

from __future__ import annotations

import secrets

# File names that name a place rather than a file (issue 6): each is refused with 400
# ``invalid_filename``, and nothing is stored.
REFUSED_FILENAMES = [
    b"../../x",
    b"..\\x",
    b"/etc/passwd",
    b"C:\\x",
    b"C:\\Users\\me\\report.txt",
    b"\\\\server\\share\\x.txt",
    b"nul\x00byte.txt",
    b"tab\there.txt",
    b"bell\x07.txt",
    b".",
    b"..",
]
REFUSED_IDS = [
    "dotdot-slash",
    "dotdot-backslash",
    "absolute",
    "drive",
    "drive-path",
    "share",
    "nul",
    "tab",
    "control",
    "dot",
    "dotdot",
]


def multipart(
    fields: dict[str, str], file_field: str, filename: bytes, content: bytes
) -> tuple[bytes, dict[str, str]]:
    """A ``multipart/form-data`` body with text ``fields`` and one file whose name is sent
    exactly as given; and its Content-Type header."""
    boundary = secrets.token_hex(16).encode()
    parts = [
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"\r\n\r\n'
        + value.encode()
        + b"\r\n"
        for name, value in fields.items()
    ]
    parts.append(
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="'
        + file_field.encode()
        + b'"; filename="'
        + filename
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n"
    )
    body = b"".join(parts) + b"--" + boundary + b"--\r\n"
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"}
