"""Who this process is, for leases and claims: host, pid and a random part (a pid can be reused)."""
from __future__ import annotations

import os
import socket
import uuid

_ids: dict[int, str] = {}


def process_id() -> str:
    """``host:pid:random``, made once per process (a forked child gets its own)."""
    pid = os.getpid()
    if pid not in _ids:
        _ids[pid] = f"{socket.gethostname()[:60]}:{pid}:{uuid.uuid4().hex[:8]}"
    return _ids[pid]
