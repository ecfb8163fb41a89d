"""Shared reading of the canonical CSV sheets (prices, GPU offers): strict columns, errors with file:line."""

from __future__ import annotations

from pathlib import Path

import polars as pl


class SheetError(Exception):
    """A sheet that cannot be used; the message names the file, the line and the column."""


def read_sheet(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> pl.DataFrame:
    """Read a CSV with every cell as text, check the header, and add `line` (the file's line number)."""
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SheetError(f"{path}: cannot read CSV: {exc}") from exc
    columns = [c.strip() for c in df.columns]
    df.columns = columns
    missing = [c for c in required if c not in columns]
    if missing:
        raise SheetError(
            f"{path}:1: missing column(s) {', '.join(missing)}; expected header: {','.join(required + optional)}"
        )
    unknown = [c for c in columns if c not in required + optional]
    if unknown:
        raise SheetError(
            f"{path}:1: unknown column(s) {', '.join(unknown)}; expected header: {','.join(required + optional)}"
        )
    for col in optional:
        if col not in columns:
            df = df.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    return df.with_columns(pl.col(c).str.strip_chars() for c in required + optional).with_columns(
        (pl.int_range(pl.len()) + 2).alias("line")
    )


def check_column(
    df: pl.DataFrame,
    path: Path,
    col: str,
    parsed: pl.Expr,
    expected: str,
    valid: pl.Expr | None = None,
    *,
    optional: bool = False,
) -> pl.DataFrame:
    """Replace `col` by `parsed`; the first row where it does not parse (or is not `valid`) is an error. In an
    `optional` column an empty cell stays null: only a value that does not parse is an error."""
    out = df.with_columns(parsed.alias(f"__{col}"))
    unparsed = pl.col(f"__{col}").is_null()
    if optional:
        unparsed = unparsed & pl.col(col).is_not_null()
    bad = out.filter(unparsed | (~valid if valid is not None else pl.lit(False)))
    if bad.height:
        row = bad.row(0, named=True)
        raise SheetError(f"{path}:{row['line']}: column '{col}' is {row[col]!r}, expected {expected}")
    return out.with_columns(pl.col(f"__{col}").alias(col)).drop(f"__{col}")
