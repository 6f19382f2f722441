"""Local-disk writes for the fs backend: each file goes to a hidden temp file beside it that names
its writer (host hash and pid), is synced, then renamed, so it appears whole or not at all; and
the temp files that writes killed mid-way left behind are told apart from live writers' ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import uuid

_TEMP_SUFFIX = ".tmp"
#: ``.<file name>.<host>.<pid>.<random>.tmp``: who wrote a temp file, so that a later start
#: removes it only when that process is gone (host: 8 hex digits of a hash of the hostname).
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})\.(?P<pid>\d+)\.[0-9a-f]{32}\.tmp$")
#: Temp files older than this are removed whoever wrote them (a write takes seconds).
STALE_TEMP_SECS = 3600.0


def is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(_TEMP_SUFFIX)


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def is_stale(path: str, name: str, now: float) -> bool:
    """Whether the temp file ``name`` at ``path`` belongs to no running write."""
    try:
        if now - os.stat(path).st_mtime > STALE_TEMP_SECS:
            return True
    except FileNotFoundError:
        return False
    match = _TEMP_NAME.match(name)
    if match is None or match["host"] != _HOST:
        return False  # another host's, or not ours: only by age
    pid = int(match["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def temp_path(path: str) -> str:
    """Where a write of ``path`` goes first: a hidden file beside it naming this process."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex}.tmp")


def write_local(path: str, data: bytes) -> None:
    """Temp file in the same directory, fsync, rename: the file appears whole or not at all."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = temp_path(path)
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
