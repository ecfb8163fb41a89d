"""Usage files that cannot be read whole: a .gz file whose gzip stream breaks (not gzip, corrupt data, or a stream
that ends before its end-of-stream marker: a truncated copy), text that is not UTF-8, a file DuckDB or Spark cannot
parse. Nothing of such a file is staged: ingest/stage.py stages it as a failed file (one quarantine row saying
why and where it broke), which fails the quality gate (docs/quality.md).

DuckDB reads a gzip stream that ends early as if the data ended there (a file cut in half reads as its first half,
with no error), so `read_to_the_end` reads a .gz file to its end (ingest/usage_canonical.py: in a thread while
DuckDB reads it). Invalid UTF-8 is left to the reader where it notices it (DuckDB, Python's strict decoding), and
`read_to_the_end(path, utf8=True)` then says where it is; Spark replaces it silently, so its reader asks first.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from pathlib import Path

CHUNK = 1 << 20
STAGED_NOTHING = "nothing of the file is staged"
UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class UnreadableUsageFile(Exception):
    """A usage file that cannot be read whole: `reason` says why, where it broke and what to do; `line` is the line
    it broke in (None when not known)."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def read_to_the_end(path: Path, *, utf8: bool) -> None:
    """Read the file to its end, raising UnreadableUsageFile where a .gz file's gzip stream breaks and, with `utf8`,
    where its text is not UTF-8 (a UTF-16 file: at its start). A plain file is read only with `utf8`."""
    gz = is_gzip(path)
    if not gz and not utf8:
        return
    decoder = codecs.getincrementaldecoder("utf-8")() if utf8 else None
    line, offset = 1, 0  # the line and the byte of the text where the next chunk starts
    with open(path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        try:
            while chunk := stream.read1(CHUNK):
                if offset == 0 and chunk.startswith(UTF16_MARKS):
                    raise UnreadableUsageFile(
                        f"UTF-16 text (it starts with a UTF-16 byte-order mark); {STAGED_NOTHING}: save it as UTF-8", 1
                    )
                if decoder is not None:
                    _decode(decoder, chunk, line, offset)
                line += chunk.count(b"\n")
                offset += len(chunk)
            if decoder is not None:
                _decode(decoder, b"", line, offset, final=True)
            if gz and raw.tell() == 0:  # (even gzip of nothing has a header)
                raise gzip.BadGzipFile("Not a gzipped file (it is empty)")
        except EOFError:
            raise UnreadableUsageFile(
                f"the gzip stream ends early, in line {line:,} (byte {raw.tell():,}, the end of "
                f"the file): a truncated copy; {STAGED_NOTHING}: copy it again whole",
                line,
            ) from None
        except gzip.BadGzipFile as exc:
            if offset == 0 and str(exc).startswith("Not a gzipped file"):
                raise UnreadableUsageFile(
                    f"not a gzip file ({exc}); {STAGED_NOTHING}: name it without .gz, or compress it with gzip", 1
                ) from None
            raise _corrupt(exc, line) from None
        except zlib.error as exc:
            raise _corrupt(exc, line) from None


def _corrupt(exc: Exception, line: int) -> UnreadableUsageFile:
    return UnreadableUsageFile(
        f"corrupt gzip data in line {line:,} ({exc}); {STAGED_NOTHING}: copy it again whole", line
    )


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, line: int, offset: int, final: bool = False) -> None:
    """Decode one chunk of the text, raising UnreadableUsageFile at its first byte that is not UTF-8 (the bytes the
    decoder holds from the chunk before, at most 3 of an unfinished character, come first)."""
    held = decoder.getstate()[0]
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        data = held + chunk
        line += data[: exc.start].count(b"\n")
        raise UnreadableUsageFile(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} in line {line:,} (byte "
            f"{offset - len(held) + exc.start:,} of the text); {STAGED_NOTHING}: save it as "
            "UTF-8",
            line,
        ) from None
