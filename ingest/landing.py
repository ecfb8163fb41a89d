"""The landing area: every fetched (or read) payload of a price or GPU source, byte for byte, with a record of
how it was obtained, so any price can be traced to the bytes it came from.

    <landing>/<source>/<YYYY-MM-DD>/<HHMMSS>Z-<sha256[:12]>.<ext>   the payload
    <landing>/<source>/<YYYY-MM-DD>/<HHMMSS>Z.fetch.json            the record: url or path, status, headers
                                                                    sent and received, fetched_at, size, sha256,
                                                                    payload (the file holding the bytes), error
The date is the fetch day (see ingest/fetched_sources.py). A payload identical to the source's last landed
one is not written again: the record's `payload` names the earlier file (a 304 Not Modified does the same).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path

from core.files import write_atomically


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def landing_folder(landing_dir: Path, source: str, day: date) -> Path:
    folder = landing_dir / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_stamp(folder: Path, fetched_at: datetime) -> str:
    """A file-name stamp for a fetch, unique in its folder: HHMMSSZ, then HHMMSSZ-2, ..."""
    base = fetched_at.strftime("%H%M%SZ")
    stamp, n = base, 1
    while (folder / f"{stamp}.fetch.json").exists():
        n += 1
        stamp = f"{base}-{n}"
    return stamp


def write_payload(folder: Path, stamp: str, body: bytes, ext: str) -> Path:
    path = folder / f"{stamp}-{sha256(body)[:12]}.{ext}"
    write_atomically(path, body)
    return path


def write_record(folder: Path, stamp: str, record: dict) -> Path:
    path = folder / f"{stamp}.fetch.json"
    write_atomically(path, json.dumps(record, indent=1, sort_keys=True, default=str).encode())
    return path
