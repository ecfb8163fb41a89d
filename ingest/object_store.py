"""Sources on object storage: a `path` of s3://bucket/key (a glob: *, **, ?) is listed and read by DuckDB's httpfs
extension (the duckdb-extension-httpfs package, loaded by the path of its file: nothing is downloaded at run time).

Each object the glob matches is copied, when new or changed (its size or Last-Modified differ from the copy's), to
<warehouse>.data/s3/<bucket>/<key> with the object's Last-Modified as its mtime; a copy whose object is gone is
removed. Every reader then reads the copies exactly as local files: the staging of usage files reads a file once
unless it changes (ingest/stage.py), prices, GPU offers and bills are landed and parsed as from a local path
(ingest/fetched_sources.py), and Spark reads the copies too (no hadoop-aws). An object is thus fetched over the
network once per change, and read whole before anything of it is staged (a .gz object cut short is seen as such).

[storage.s3] (core/config.py S3Settings) says where the objects are: endpoint_url, region, url_style. The
credentials come from the environment only (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or the
variables [storage.s3] names); none is ever written in a message: an error naming one says '***' instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from glob import glob
from pathlib import Path

import duckdb
import duckdb_extension_httpfs

from core.config import S3_COPIES, Config, S3Settings, Source, s3_copy_path
from core.files import write_atomically
from core.sql_literals import sql_str
from core.vocabulary import GPU_KINDS, PRICE_KINDS, SHEET_KINDS

log = logging.getLogger("finops")


class StorageError(Exception):
    """Objects that cannot be listed or read: the message names the source, the s3:// path and what to do (exit 2)."""


@dataclass(frozen=True)
class StoredObject:
    url: str  # s3://bucket/key
    size: int
    mtime_ns: int  # its Last-Modified


def httpfs_extension() -> Path:
    """The httpfs extension file the duckdb-extension-httpfs package ships for this DuckDB version."""
    folder = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    return folder / "httpfs.duckdb_extension"


def _secrets(s3: S3Settings) -> dict[str, str]:
    """The credentials in the environment: secret option -> value (none set: anonymous requests)."""
    given = {
        "KEY_ID": os.environ.get(s3.access_key_id_env),
        "SECRET": os.environ.get(s3.secret_access_key_env),
        "SESSION_TOKEN": os.environ.get(s3.session_token_env),
    }
    return {option: value for option, value in given.items() if value}


def s3_connection(s3: S3Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that reads s3:// paths with [storage.s3] and the environment's credentials."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"load {sql_str(str(httpfs_extension()))}")
    options = {
        **_secrets(s3),
        "REGION": s3.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "URL_STYLE": s3.url_style,
    }
    if s3.endpoint_url:
        scheme, _, host = s3.endpoint_url.partition("://")
        options.update(ENDPOINT=host.rstrip("/"), USE_SSL="true" if scheme == "https" else "false")
    listed = ", ".join(f"{k} {v if k == 'USE_SSL' else sql_str(v)}" for k, v in options.items())
    try:
        con.execute(f"create secret finops_s3 (type s3, {listed})")
    except duckdb.Error as exc:  # (DuckDB may quote the statement: its credentials are replaced in _said)
        con.close()
        raise StorageError(f"[storage.s3]: cannot set up the S3 access: {_said(exc, s3)}") from None
    return con


def land_objects(cfg: Config, sources: Iterable[Source]) -> None:
    """Copy the new and changed objects of every s3:// source to its local folder (Source.path) and remove the copies
    of objects gone; raises StorageError when a source's objects cannot be listed or read, or none match."""
    remote = [src for src in sources if src.object_url is not None]
    if not remote:
        return
    con = s3_connection(cfg.s3)
    try:
        for src in remote:
            _land(con, cfg, src)
    finally:
        con.close()


def _land(con: duckdb.DuckDBPyConnection, cfg: Config, src: Source) -> None:
    where = f"source '{src.name}' ({src.object_url})"
    objects = _listed(con, cfg, src, where)
    if not objects:
        raise StorageError(
            f"{where}: no object matches; check the bucket, the key pattern and [storage.s3] (endpoint_url, region)"
        )
    if src.kind in (*PRICE_KINDS, *GPU_KINDS) and src.kind not in SHEET_KINDS and len(objects) > 1:
        raise StorageError(f"{where}: kind '{src.kind}' reads one file, but {len(objects)} objects match")
    copies = {s3_copy_path(cfg.data_dir, obj.url, where): obj for obj in objects}
    copied = 0
    for path, obj in copies.items():
        try:
            st = path.stat()
            if (st.st_size, st.st_mtime_ns) == (obj.size, obj.mtime_ns):
                continue
        except FileNotFoundError:
            pass
        body = _fetched(con, cfg, obj.url, where)
        write_atomically(path, body)
        os.utime(path, ns=(obj.mtime_ns, obj.mtime_ns))
        copied += 1
    gone = [Path(p) for p in glob(str(src.path), recursive=True) if Path(p).is_file() and Path(p) not in copies]
    for path in gone:
        path.unlink()
    log.info(
        "%s: %d object(s), %d new or changed copied under %s, %d copy(ies) of objects gone removed",
        where,
        len(objects),
        copied,
        cfg.data_dir / S3_COPIES,
        len(gone),
    )


def _listed(con: duckdb.DuckDBPyConnection, cfg: Config, src: Source, where: str) -> list[StoredObject]:
    try:
        rows = con.execute(
            "select filename, size, epoch_ns(last_modified) from read_blob(?) order by filename", [src.object_url]
        ).fetchall()
    except duckdb.Error as exc:
        raise StorageError(f"{where}: cannot list the objects: {_said(exc, cfg.s3)}; {_what_to_do(cfg.s3)}") from None
    return [StoredObject(url, size, mtime_ns) for url, size, mtime_ns in rows]


def _fetched(con: duckdb.DuckDBPyConnection, cfg: Config, url: str, where: str) -> bytes:
    try:
        return con.execute("select content from read_blob(?)", [url]).fetchone()[0]
    except duckdb.Error as exc:
        raise StorageError(f"{where}: cannot read {url}: {_said(exc, cfg.s3)}; {_what_to_do(cfg.s3)}") from None


def _said(exc: duckdb.Error, s3: S3Settings) -> str:
    """DuckDB's message, on one line, any credential in it replaced by ***."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip() and not line.startswith("LINE "))
    text = " ".join(word for word in text.split(" ") if word != "^")
    for value in _secrets(s3).values():
        text = text.replace(value, "***")
    return text


def _what_to_do(s3: S3Settings) -> str:
    return (
        "check the bucket name, [storage.s3] endpoint_url, region and url_style, and the credentials in "
        f"{s3.access_key_id_env} and {s3.secret_access_key_env}"
    )
