"""The finops config file (TOML): read, validated and resolved once per command.

Every key is declared in SCHEMA below with its type and default. Unknown keys, wrong types and
missing required keys raise ConfigError naming the file and the key (the CLI exits 2).
Relative paths are resolved against the folder of the config file; an s3:// path is kept as a URL ([storage.s3]).
"""

from __future__ import annotations

import glob
import importlib.util
import re
import sys
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import soupsieve

from core.bounds import PORT, Bounds
from core.spark_config import ENGINES, SPARK_KEYS, SparkSettings, spark_settings
from core.vocabulary import ALLOCATIONS, BILLING_KINDS, GPU_KINDS, PRICE_KINDS, PRICINGS, SHEET_KINDS, USAGE_KINDS


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


# html_table columns: our field -> the header text on the page (the first field is required)
PRICE_TABLE_FIELDS = ("model", "input", "output", "cache_read", "cache_write", "cache_write_1h")
GPU_TABLE_FIELDS = ("gpu_model", "usd_per_hour", "usd_per_gpu_hour", "gpu_count", "vram_gb", "region")
PRICE_UNITS = ("1M", "1K")  # a bare price in an html_table is USD per million (1M) or per thousand (1K) tokens

# section -> key -> (type, default) or (type, default, Bounds) for a number. A default of REQUIRED means the key
# must be given.
REQUIRED = object()
SHARE = Bounds(0, 1)
ALERT_LEVEL = Bounds(0, 10, low_excluded=True)  # a budget's alert level: 0.8 = 80% of it, up to 10 x
_SOURCE_KEYS = {
    "kind": (str, REQUIRED),
    "path": (str, None),
    "url": (str, None),
    "name": (str, None),
    "effective_from": (str, None),
}
# Vendor usage kinds (docs/usage_exports.md): where a canonical column the export does not carry comes from.
LOOKUP_COLUMNS = (
    "event_id",
    "occurred_at",
    "tenant_id",
    "feature",
    "task_id",
    "provider",
    "model",
    "service_tier",
    "account_id",
)
RESPONSE_KINDS = ("openai_usage", "anthropic_usage", "gemini_usage")  # logs that carry the vendor's response
_LOOKUP_KEYS = {
    "field": (str, None),
    "value": (str, None),
    "map": (dict, None),
    "default": (str, None),
    "prefix": (str, None),
}
_USAGE_SOURCE_KEYS = {**_SOURCE_KEYS, "response_field": (str, None), **dict.fromkeys(LOOKUP_COLUMNS, (object, None))}
# price and GPU sources may be fetched (url) and scraped (html_table): docs/prices_and_gpus.md
_FETCHED_SOURCE_KEYS = {
    **_SOURCE_KEYS,
    "timeout_seconds": ((int, float), 30.0, Bounds(0, 3600, low_excluded=True)),
    "max_bytes": (int, 20_000_000, Bounds(1)),
    "provider": (str, None),
    "table": (str, None),
    "heading": (str, None),
    "columns": (dict, None),
    "unit": (str, "1M"),
    "models": (dict, None),
    "pricing_type": (str, "on_demand"),
}
# A source's name: it names its landing folder and stored files, so never a path
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# A size DuckDB reads as a memory_limit ("3GB", "512MB", "1.5GiB")
MEMORY_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")


SCHEMA: dict[str, dict[str, tuple]] = {
    "warehouse": {
        "path": (str, REQUIRED),
        "memory_limit": (str, "3GB"),
        "max_calls_per_build": (int, 10_000_000, Bounds(1)),
        "engine": (str, "duckdb"),
        "spark": (dict, None),
    },
    "landing": {"dir": (str, None)},
    "reports": {"dir": (str, None), "outbox": (str, None)},
    "prices.sources": _FETCHED_SOURCE_KEYS,
    "gpu.sources": _FETCHED_SOURCE_KEYS,
    "billing.sources": _FETCHED_SOURCE_KEYS,
    "usage.sources": _USAGE_SOURCE_KEYS,
    "deployments": {
        "id": (str, REQUIRED),
        "hourly_cost_usd": ((int, float), None, Bounds(0)),
        "gpu": (str, None),
        "gpu_count": (int, None, Bounds(1)),
        "pricing": (str, "on_demand"),
        "output_weight": ((int, float), 1.0, Bounds(0)),
        "compare_with": (str, None),
        "allocation": (str, "hourly_share"),
        "rate_usd_per_million_weighted_tokens": ((int, float, str), None),
    },
    "self_host_options": {
        "id": (str, REQUIRED),
        "model": (str, REQUIRED),
        "gpu": (str, REQUIRED),
        "gpu_count": (int, REQUIRED, Bounds(1)),
        "output_tokens_per_second": ((int, float), REQUIRED, Bounds(0, low_excluded=True)),
        "replaces": (list, REQUIRED),
        "pricing": (str, "on_demand"),
        "ops_usd_per_month": ((int, float), 0.0, Bounds(0)),
        "max_utilisation": ((int, float), 1.0, Bounds(0, 1, low_excluded=True)),
    },
    "owners": {"email": (str, REQUIRED), "name": (str, REQUIRED), "features": (list, []), "tenants": (list, [])},
    "budgets": {
        "name": (str, REQUIRED),
        "tenant_id": (str, None),
        "feature": (str, None),
        "owner": (str, None),
        "monthly_usd": ((int, float), REQUIRED, Bounds(0, low_excluded=True)),
        "alert_at": (list, [0.8, 1.0]),
    },
    "alerts": {
        "webhook_url": (str, None),
        "token_env": (str, None),
        "timeout_seconds": ((int, float), 10.0, Bounds(0, 300, low_excluded=True)),
    },
    "anomalies": {"ratio": ((int, float), 1.5, Bounds(1)), "min_usd": ((int, float), 10.0, Bounds(0))},
    "quality": {
        "max_unpriced_share": ((int, float), 0.05, SHARE),
        "max_price_age_days": (int, 7, Bounds(0)),
        "max_quarantined_share": ((int, float), 0.01, SHARE),
        "min_requests_vs_trailing_week": ((int, float), 0.25, SHARE),
        "max_conflicting_share": ((int, float), 0.0, SHARE),
        "earliest_usage_date": (str, "2000-01-01"),
        "max_usage_days_ahead": (int, 1, Bounds(0)),
        "max_billing_gap_share": ((int, float), 0.02, Bounds(0)),
        "max_billing_gap_usd": ((int, float), 1.0, Bounds(0)),
        "billing_gap_blocks": (bool, False),
    },
    "smtp": {
        "host": (str, REQUIRED),
        "port": (int, 25, PORT),
        "starttls": (bool, False),
        "username_env": (str, None),
        "password_env": (str, None),
        "from": (str, "finops@example.com"),
        "allow_plain_login": (bool, False),
    },
}
TOP_LEVEL = {
    "warehouse",
    "landing",
    "reports",
    "prices",
    "gpu",
    "billing",
    "usage",
    "deployments",
    "self_host_options",
    "owners",
    "budgets",
    "alerts",
    "anomalies",
    "quality",
    "smtp",
    "storage",
}


@dataclass(frozen=True)
class Lookup:
    """Where one canonical column of a vendor usage record comes from: a field of the record (optionally
    translated by `map`, or picked from a list by `prefix`) or a constant `value`."""

    field: str | None = None
    value: str | None = None
    map: dict[str, str] | None = None
    default: str | None = None  # when the field is missing, empty or not in `map`
    prefix: str | None = None  # take the first string starting with it (of a list), prefix removed


@dataclass(frozen=True)
class UsageMapping:
    """How a vendor usage source fills the canonical columns its export does not carry."""

    where: str  # the config key of the source, e.g. usage.sources[1]
    lookups: dict[str, Lookup]  # canonical column -> Lookup
    response_field: str | None = None  # where the vendor response sits in a log line; None: the line is it


@dataclass(frozen=True)
class HtmlTable:
    """Where an html_table source's table is on the page, and what its columns mean."""

    provider: str  # whose prices or offers the table lists
    selector: str | None  # a CSS selector of the table (or of an element holding it)
    heading: str | None  # or: text of the heading the table follows
    columns: tuple[tuple[str, str], ...]  # (our field, the column's header text on the page)
    unit: str = "1M"  # prices: a bare number is USD per 1M or per 1K tokens
    models: tuple[tuple[str, str], ...] = ()  # prices: (name on the page, model id); only these rows kept


@dataclass(frozen=True)
class Source:
    kind: str
    name: str
    position: int  # order in the config; later sources win over earlier ones
    path: Path | None = None  # an s3:// path: where its objects are copied (ingest/object_store.py)
    object_url: str | None = None  # the s3://bucket/key glob given as `path`
    effective_from: str | None = None
    mapping: UsageMapping | None = None  # vendor usage kinds only
    url: str | None = None
    timeout_seconds: float = 30.0  # url: the deadline of an attempt: connecting, headers, the whole body
    max_bytes: int = 20_000_000  # url: a larger response is refused
    table: HtmlTable | None = None  # html_table kinds
    pricing_type: str = "on_demand"  # vast_json, GPU html_table: what the listing's prices are

    def files(self) -> list[Path]:
        """The files this source's path (a glob) matches now, sorted."""
        return sorted(Path(p) for p in glob.glob(str(self.path), recursive=True) if Path(p).is_file())


@dataclass(frozen=True)
class S3Settings:
    """[storage.s3]: how s3:// paths are reached; the credentials are read from the environment variables named
    here, at the run, never from the config."""

    endpoint_url: str | None = None  # None: AWS S3; else an S3-compatible server, e.g. "http://127.0.0.1:9000"
    region: str | None = None  # None: AWS_REGION, AWS_DEFAULT_REGION or us-east-1
    url_style: str = "vhost"  # vhost (bucket.host/key) or path (host/bucket/key: most S3-compatible servers)
    access_key_id_env: str = "AWS_ACCESS_KEY_ID"
    secret_access_key_env: str = "AWS_SECRET_ACCESS_KEY"
    session_token_env: str = "AWS_SESSION_TOKEN"


@dataclass(frozen=True)
class Deployment:
    id: str
    output_weight: float
    hourly_cost_usd: float | None = None
    gpu: str | None = None
    gpu_count: int | None = None
    pricing: str = "on_demand"
    compare_with: tuple[str, str] | None = None  # (provider, model): the API its tokens are priced at, for comparison
    allocation: str = "hourly_share"  # hourly_share | rate_card (docs/decisions.md)
    # rate_card: USD per 1M weighted tokens, or "auto" (the previous month's cost / its weighted tokens)
    rate_usd_per_million_weighted_tokens: float | str | None = None

    @property
    def fixed_rate(self) -> float | None:
        """The configured rate card rate (raw.deployments); None for hourly_share and for "auto"."""
        rate = self.rate_usd_per_million_weighted_tokens
        return None if rate is None or rate == "auto" else float(rate)


@dataclass(frozen=True)
class SelfHostOption:
    """A self-hosted deployment one could rent instead of paying an API (docs/decisions.md#rent-vs-api)."""

    id: str
    model: str  # the open-weights model it would serve
    gpu: str  # normalised gpu_model of the offers
    gpu_count: int  # GPUs per node
    output_tokens_per_second: float  # sustained per node at full batch
    replaces: tuple[tuple[str, str], ...]  # (provider, model) whose usage would move to it
    pricing: str = "on_demand"
    ops_usd_per_month: float = 0.0
    max_utilisation: float = 1.0


@dataclass(frozen=True)
class Owner:
    email: str
    name: str
    features: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        """'Search Team' -> 'search-team': the owner's file name in the outbox (<slug>.eml)."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


@dataclass(frozen=True)
class Budget:
    """A monthly budget on the spend of a tenant, a feature and/or an owner's scope (all of the bill when none)."""

    name: str
    monthly_usd: float
    tenant_id: str | None = None
    feature: str | None = None
    owner: str | None = None  # the name of an [[owners]] entry: its features and tenants; alerts go to its email
    alert_at: tuple[float, ...] = (0.8, 1.0)  # shares of monthly_usd, ascending


@dataclass(frozen=True)
class Alerts:
    """Where budget alerts are POSTed (JSON {"text": ...}); the bearer token comes from the env var token_env."""

    webhook_url: str | None = None
    token_env: str | None = None
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 25
    starttls: bool = False
    username_env: str | None = None
    password_env: str | None = None
    sender: str = "finops@example.com"


def data_dir_of(warehouse_path: Path) -> Path:
    """<stem>.data beside the published file: the pipeline's state, staged inputs, partitions, builds."""
    return warehouse_path.with_name(warehouse_path.stem + ".data")


@dataclass(frozen=True)
class Config:
    path: Path
    warehouse_path: Path
    landing_dir: Path
    reports_dir: Path
    outbox_dir: Path
    price_sources: tuple[Source, ...]
    gpu_sources: tuple[Source, ...]
    usage_sources: tuple[Source, ...]
    deployments: tuple[Deployment, ...] = ()
    self_host_options: tuple[SelfHostOption, ...] = ()
    billing_sources: tuple[Source, ...] = ()
    owners: tuple[Owner, ...] = ()
    budgets: tuple[Budget, ...] = ()
    alerts: Alerts = Alerts()
    anomaly_ratio: float = 1.5
    anomaly_min_usd: float = 10.0
    max_unpriced_share: float = 0.05
    max_price_age_days: int = 7
    max_quarantined_share: float = 0.01
    max_conflicting_share: float = 0.0
    min_requests_vs_trailing_week: float = 0.25
    # the usage window: a record from before earliest_usage_date, or more than max_usage_days_ahead days after the
    # day of the run, is quarantined (ingest.usage_canonical.UsageWindow)
    earliest_usage_date: date = date(2000, 1, 1)
    max_usage_days_ahead: int = 1
    # billing_gap: a day's computed cost differs from the vendor's bill by more than both (a warning, or a failed
    # gate with billing_gap_blocks)
    max_billing_gap_share: float = 0.02
    max_billing_gap_usd: float = 1.0
    billing_gap_blocks: bool = False
    smtp: Smtp | None = None
    memory_limit: str = "3GB"  # DuckDB's memory_limit in each step of a run; beyond it DuckDB spills to disk
    max_calls_per_build: int = 10_000_000  # a run of more calls is built and published in several builds
    engine: str = "duckdb"  # duckdb | spark ([warehouse.spark]: core/spark_config.py)
    spark: SparkSettings | None = None
    s3: S3Settings = S3Settings()

    @property
    def data_dir(self) -> Path:
        """Where the pipeline keeps its own state: staged inputs, per-day partitions, build files."""
        return data_dir_of(self.warehouse_path)


def _check_table(where: str, table: object, schema: dict, cfg_path: Path) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{cfg_path}: [{where}] must be a table, got {type(table).__name__}")
    for key in table:
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            raise ConfigError(f"{cfg_path}: unknown key '{where}.{key}' (allowed: {allowed})")
    out = {}
    for key, (typ, default, *bounds) in schema.items():
        if key not in table:
            if default is REQUIRED:
                raise ConfigError(f"{cfg_path}: missing required key '{where}.{key}'")
            out[key] = default
            continue
        value = table[key]
        types = typ if isinstance(typ, tuple) else (typ,)
        # TOML booleans are ints in Python; never accept one where a number is expected.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join(t.__name__ for t in types)
            raise ConfigError(
                f"{cfg_path}: key '{where}.{key}' must be {expected}, got {type(value).__name__} {value!r}"
            )
        if bounds and not bounds[0].allow(value):
            number = "a whole number" if types == (int,) else "a number"
            raise ConfigError(f"{cfg_path}: key '{where}.{key}' is {value!r}, expected {number} {bounds[0]}")
        out[key] = value
    return out


def _array(doc: dict, dotted: str, cfg_path: Path) -> list[dict]:
    section, _, sub = dotted.partition(".")
    value = doc.get(section, {} if sub else [])
    if sub:
        if not isinstance(value, dict):
            raise ConfigError(f"{cfg_path}: [{section}] must be a table")
        extra = set(value) - {sub}
        if extra:
            raise ConfigError(f"{cfg_path}: unknown key '{section}.{sorted(extra)[0]}' (allowed: {sub})")
        value = value.get(sub, [])
    if not isinstance(value, list):
        raise ConfigError(f"{cfg_path}: '{dotted}' must be an array of tables ([[{dotted}]])")
    return [_check_table(f"{dotted}[{i}]", item, SCHEMA[dotted], cfg_path) for i, item in enumerate(value)]


def _sources(
    doc: dict, dotted: str, kinds: tuple[str, ...], base: Path, cfg_path: Path, data_dir: Path
) -> tuple[Source, ...]:
    out = []
    for i, raw in enumerate(_array(doc, dotted, cfg_path)):
        where = f"{dotted}[{i}]"
        if raw["kind"] not in kinds:
            raise ConfigError(f"{cfg_path}: key '{where}.kind' is '{raw['kind']}', expected one of: {', '.join(kinds)}")
        if (raw["path"] is None) == (raw["url"] is None):
            raise ConfigError(f"{cfg_path}: {where} needs exactly one of 'path' or 'url'")
        if raw["url"] is not None and dotted == "usage.sources":
            raise ConfigError(f"{cfg_path}: key '{where}.url': kind '{raw['kind']}' reads local files only; use 'path'")
        if raw["name"] is not None and not SOURCE_NAME.fullmatch(raw["name"]):
            raise ConfigError(
                f"{cfg_path}: key '{where}.name' is '{raw['name']}', expected a simple name (letters, "
                "digits, '_', '-', '.', starting with a letter or digit): it names the source's "
                "folders and files"
            )
        object_url = raw["path"] if raw["path"] and raw["path"].startswith("s3://") else None
        if object_url is not None:
            path = s3_copy_path(data_dir, object_url, f"{cfg_path}: key '{where}.path'")
        else:
            path = resolve_path(base, raw["path"]) if raw["path"] else None
        options = _fetched_source_options(raw, dotted, where, cfg_path) if dotted != "usage.sources" else {}
        src = Source(
            kind=raw["kind"],
            name=raw["name"] or f"{dotted.split('.')[0]}_{i}",
            position=i,
            path=path,
            object_url=object_url,
            effective_from=raw["effective_from"],
            url=raw["url"],
            **options,
            mapping=_usage_mapping(raw, where, cfg_path) if dotted == "usage.sources" else None,
        )
        if src.object_url is not None:
            pass  # listed at the run (ingest/object_store.py): no network while the config is read
        elif path is not None:
            files = src.files()  # a recursive glob: once
            if not files:
                raise ConfigError(f"{cfg_path}: key '{where}.path': no file matches {path}")
            if dotted in ("prices.sources", "gpu.sources") and raw["kind"] not in SHEET_KINDS and len(files) > 1:
                raise ConfigError(
                    f"{cfg_path}: key '{where}.path': kind '{raw['kind']}' reads one file, but "
                    f"{path} matches {len(files)}"
                )
        out.append(src)
    return tuple(out)


def _lookup(where: str, table: object, cfg_path: Path) -> Lookup:
    if not isinstance(table, dict):
        raise ConfigError(
            f"{cfg_path}: key '{where}' must be a table such as {{ field = \"metadata.tenant\" }} or "
            f'{{ value = "acme" }}, got {type(table).__name__} {table!r}'
        )
    raw = _check_table(where, table, _LOOKUP_KEYS, cfg_path)
    if (raw["field"] is None) == (raw["value"] is None):
        raise ConfigError(f"{cfg_path}: key '{where}' needs exactly one of 'field' or 'value'")
    for key in ("map", "default", "prefix"):
        if raw["value"] is not None and raw[key] is not None:
            raise ConfigError(f"{cfg_path}: key '{where}.{key}' goes with 'field', not with 'value'")
    for key, value in (raw["map"] or {}).items():
        if not isinstance(value, str):
            raise ConfigError(f"{cfg_path}: key '{where}.map.{key}' must be str, got {type(value).__name__} {value!r}")
    if raw["field"] == "" or raw["value"] == "":
        raise ConfigError(f"{cfg_path}: key '{where}' has an empty 'field' or 'value'")
    return Lookup(**raw)


def _usage_mapping(raw: dict, where: str, cfg_path: Path) -> UsageMapping | None:
    """The lookups of a [[usage.sources]] entry; tenant_id and feature are required for every vendor kind."""
    given = [c for c in LOOKUP_COLUMNS if raw[c] is not None]
    if raw["kind"] == "canonical":
        extra = given + (["response_field"] if raw["response_field"] is not None else [])
        if extra:
            raise ConfigError(
                f"{cfg_path}: key '{where}.{extra[0]}': kind 'canonical' reads every column from the "
                f"file; lookups are for the vendor kinds (docs/usage_exports.md)"
            )
        return None
    for column in ("tenant_id", "feature"):
        if raw[column] is None:
            raise ConfigError(
                f"{cfg_path}: missing required key '{where}.{column}': kind '{raw['kind']}' has no "
                f'{column} of ours; say where it comes from, e.g. {column} = {{ field = "..." }}, '
                f'{{ field = "...", map = {{ ... }} }} or {{ value = "..." }} '
                f"(docs/usage_exports.md)"
            )
    if raw["response_field"] is not None and raw["kind"] not in RESPONSE_KINDS:
        raise ConfigError(
            f"{cfg_path}: key '{where}.response_field' is for kinds {', '.join(RESPONSE_KINDS)}, not '{raw['kind']}'"
        )
    return UsageMapping(
        where=where,
        lookups={c: _lookup(f"{where}.{c}", raw[c], cfg_path) for c in given},
        response_field=raw["response_field"],
    )


def _fetched_source_options(raw: dict, dotted: str, where: str, cfg_path: Path) -> dict:
    """The url and html_table keys of a price or GPU source, checked against its kind."""
    kind = raw["kind"]

    def refuse(key: str, why: str) -> None:
        if raw[key] != SCHEMA[dotted][key][1]:
            raise ConfigError(f"{cfg_path}: key '{where}.{key}' {why}")

    if raw["url"] is not None and not raw["url"].startswith(("http://", "https://")):
        raise ConfigError(f"{cfg_path}: key '{where}.url' is '{raw['url']}', expected an http:// or https:// URL")
    if raw["url"] is None:
        refuse("timeout_seconds", "applies to url sources only")
        refuse("max_bytes", "applies to url sources only")
    if dotted == "billing.sources":
        refuse("effective_from", "applies to price and GPU sources only (a bill dates its own rows)")
    if raw["effective_from"] is not None:
        try:
            date.fromisoformat(raw["effective_from"])
        except ValueError:
            raise ConfigError(
                f"{cfg_path}: key '{where}.effective_from' is '{raw['effective_from']}', expected a date YYYY-MM-DD"
            ) from None
    is_prices = dotted == "prices.sources"
    if kind != "html_table":
        for key in ("provider", "table", "heading", "columns", "unit", "models"):
            refuse(key, "applies to kind html_table only")
    if not (kind == "vast_json" or (kind == "html_table" and dotted == "gpu.sources")):
        refuse("pricing_type", "applies to kinds vast_json and html_table of [[gpu.sources]] only")
    if raw["pricing_type"] not in PRICINGS:
        raise ConfigError(
            f"{cfg_path}: key '{where}.pricing_type' is '{raw['pricing_type']}', expected one of: {', '.join(PRICINGS)}"
        )
    options = {
        "timeout_seconds": float(raw["timeout_seconds"]),
        "max_bytes": raw["max_bytes"],
        "pricing_type": raw["pricing_type"],
    }
    if kind != "html_table":
        return options

    if not is_prices:
        refuse("unit", "applies to [[prices.sources]] only")
        refuse("models", "applies to [[prices.sources]] only")
    if not raw["provider"]:
        raise ConfigError(f"{cfg_path}: key '{where}.provider' is required for kind html_table (whose prices)")
    if (raw["table"] is None) == (raw["heading"] is None):
        raise ConfigError(
            f"{cfg_path}: {where} needs exactly one of 'table' (a CSS selector) or 'heading' (the "
            "text of the heading before the table)"
        )
    if raw["table"] is not None:
        try:
            soupsieve.compile(raw["table"])
        except soupsieve.SelectorSyntaxError as exc:
            raise ConfigError(f"{cfg_path}: key '{where}.table' is not a CSS selector: {exc}") from None
    fields = PRICE_TABLE_FIELDS if is_prices else GPU_TABLE_FIELDS
    columns = raw["columns"] or {}
    for field, title in columns.items():
        if field not in fields:
            raise ConfigError(f"{cfg_path}: unknown key '{where}.columns.{field}' (allowed: {', '.join(fields)})")
        if not isinstance(title, str) or not title.strip():
            raise ConfigError(f"{cfg_path}: key '{where}.columns.{field}' must be the column's header text")
    if fields[0] not in columns:
        raise ConfigError(
            f"{cfg_path}: key '{where}.columns.{fields[0]}' is required (the header of the {fields[0]} column)"
        )
    if is_prices and not set(columns) & set(PRICE_TABLE_FIELDS[1:]):
        raise ConfigError(
            f"{cfg_path}: key '{where}.columns' names no price column (one of: {', '.join(PRICE_TABLE_FIELDS[1:])})"
        )
    if not is_prices and ("usd_per_hour" in columns) == ("usd_per_gpu_hour" in columns):
        raise ConfigError(
            f"{cfg_path}: key '{where}.columns' needs exactly one of 'usd_per_hour' or 'usd_per_gpu_hour'"
        )
    if raw["unit"] not in PRICE_UNITS:
        raise ConfigError(
            f"{cfg_path}: key '{where}.unit' is '{raw['unit']}', expected one of: {', '.join(PRICE_UNITS)}"
        )
    models = raw["models"] or {}
    if not all(isinstance(v, str) and v for v in models.values()):
        raise ConfigError(f"{cfg_path}: key '{where}.models' must map each name on the page to a model id (string)")
    options["table"] = HtmlTable(
        provider=raw["provider"].lower(),
        selector=raw["table"],
        heading=raw["heading"],
        columns=tuple(columns.items()),
        unit=raw["unit"],
        models=tuple(models.items()),
    )
    return options


def resolve_path(base: Path, value: str) -> Path:
    """A path in the config: `~` is the home folder; a relative path is relative to the config's folder (base)."""
    return (base / Path(value).expanduser()).resolve()


def _read_toml(cfg_path: Path) -> dict:
    try:
        data = cfg_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{cfg_path}: cannot read the config file: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{cfg_path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); a TOML file "
            "is UTF-8: save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg_path}: not valid TOML: {exc}") from None


def load_config(path: str | Path) -> Config:
    cfg_path = Path(path).expanduser().resolve()
    if not cfg_path.is_file():
        raise ConfigError(f"{cfg_path}: config file not found")
    doc = _read_toml(cfg_path)
    for key in doc:
        if key not in TOP_LEVEL:
            raise ConfigError(f"{cfg_path}: unknown key '{key}' (allowed: {', '.join(sorted(TOP_LEVEL))})")
    base = cfg_path.parent

    if "warehouse" not in doc:
        raise ConfigError(f"{cfg_path}: missing required section [warehouse]")
    wh = _check_table("warehouse", doc["warehouse"], SCHEMA["warehouse"], cfg_path)
    if not wh["path"].strip():
        raise ConfigError(
            f"{cfg_path}: key 'warehouse.path' is empty, expected the published warehouse file, "
            'e.g. "warehouse/finops.duckdb"'
        )
    warehouse_path = resolve_path(base, wh["path"])
    if warehouse_path.is_dir():
        raise ConfigError(
            f"{cfg_path}: key 'warehouse.path' is the folder {warehouse_path}, expected the published "
            f'warehouse file, e.g. "{wh["path"].rstrip("/")}/finops.duckdb"'
        )
    if not MEMORY_SIZE.fullmatch(wh["memory_limit"]):
        raise ConfigError(
            f'{cfg_path}: key \'warehouse.memory_limit\' must be a size like "3GB" or "512MB", '
            f"got {wh['memory_limit']!r}"
        )
    if wh["engine"] not in ENGINES:
        raise ConfigError(
            f"{cfg_path}: key 'warehouse.engine' is '{wh['engine']}', expected one of: {', '.join(ENGINES)}"
        )
    if wh["spark"] is not None and wh["engine"] != "spark":
        raise ConfigError(
            f"{cfg_path}: [warehouse.spark] is set but 'warehouse.engine' is '{wh['engine']}' (set engine = \"spark\")"
        )
    landing = _check_table("landing", doc.get("landing", {}), SCHEMA["landing"], cfg_path)
    reports = _check_table("reports", doc.get("reports", {}), SCHEMA["reports"], cfg_path)

    usage_sources = _sources(doc, "usage.sources", USAGE_KINDS, base, cfg_path, data_dir_of(warehouse_path))
    if not usage_sources:
        raise ConfigError(f"{cfg_path}: at least one [[usage.sources]] is required")

    deployments = []
    for i, raw in enumerate(_array(doc, "deployments", cfg_path)):
        where = f"deployments[{i}]"
        if (raw["hourly_cost_usd"] is None) == (raw["gpu"] is None):
            raise ConfigError(f"{cfg_path}: {where} ('{raw['id']}') needs exactly one of 'hourly_cost_usd' or 'gpu'")
        if raw["gpu"] is not None and not raw["gpu_count"]:
            raise ConfigError(f"{cfg_path}: key '{where}.gpu_count' is required with 'gpu' (a whole number >= 1)")
        if raw["pricing"] not in PRICINGS:
            raise ConfigError(
                f"{cfg_path}: key '{where}.pricing' is '{raw['pricing']}', expected one of: {', '.join(PRICINGS)}"
            )
        deployments.append(
            Deployment(
                id=raw["id"],
                output_weight=float(raw["output_weight"]),
                hourly_cost_usd=raw["hourly_cost_usd"],
                gpu=raw["gpu"],
                gpu_count=raw["gpu_count"],
                pricing=raw["pricing"],
                compare_with=_provider_model(raw["compare_with"], f"{where}.compare_with", cfg_path),
                **_allocation(raw, where, cfg_path),
            )
        )
    ids = [d.id for d in deployments]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{cfg_path}: deployments: duplicate id in {ids}")

    owners = []
    for i, raw in enumerate(_array(doc, "owners", cfg_path)):
        for key in ("features", "tenants"):
            if not all(isinstance(v, str) for v in raw[key]):
                raise ConfigError(f"{cfg_path}: key 'owners[{i}].{key}' must be an array of strings")
        owner = Owner(
            email=raw["email"], name=raw["name"], features=tuple(raw["features"]), tenants=tuple(raw["tenants"])
        )
        if not re.fullmatch(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+", owner.email):
            raise ConfigError(
                f"{cfg_path}: key 'owners[{i}].email' is '{owner.email}', expected one address like team@example.com"
            )
        if not owner.features and not owner.tenants:
            raise ConfigError(f"{cfg_path}: owners[{i}] ('{owner.name}') needs 'features' or 'tenants' (or both)")
        if not owner.slug:
            raise ConfigError(f"{cfg_path}: key 'owners[{i}].name' needs a letter or digit (it names the .eml file)")
        for other in owners:
            if owner.email == other.email or owner.slug == other.slug:
                raise ConfigError(
                    f"{cfg_path}: owners[{i}] ('{owner.name}', {owner.email}) has the same email or "
                    f"file name as owner '{other.name}' ({other.email})"
                )
        owners.append(owner)

    price_sources = _sources(doc, "prices.sources", PRICE_KINDS, base, cfg_path, data_dir_of(warehouse_path))
    gpu_sources = _sources(doc, "gpu.sources", GPU_KINDS, base, cfg_path, data_dir_of(warehouse_path))
    billing_sources = _sources(doc, "billing.sources", BILLING_KINDS, base, cfg_path, data_dir_of(warehouse_path))
    names = [s.name for s in price_sources + gpu_sources + billing_sources]
    if len(set(names)) != len(names):  # a source's name keys its landing folder and its stored rows
        raise ConfigError(
            f"{cfg_path}: [[prices.sources]], [[gpu.sources]] and [[billing.sources]] names must be unique, got {names}"
        )

    anomalies = _check_table("anomalies", doc.get("anomalies", {}), SCHEMA["anomalies"], cfg_path)
    quality = _check_table("quality", doc.get("quality", {}), SCHEMA["quality"], cfg_path)
    try:
        earliest_usage_date = date.fromisoformat(quality["earliest_usage_date"])
    except ValueError:
        raise ConfigError(
            f"{cfg_path}: key 'quality.earliest_usage_date' is '{quality['earliest_usage_date']}', "
            "expected a date YYYY-MM-DD"
        ) from None
    smtp = None
    if "smtp" in doc:
        s = _check_table("smtp", doc["smtp"], SCHEMA["smtp"], cfg_path)
        if s["username_env"] and not s["starttls"] and not s["allow_plain_login"]:
            raise ConfigError(
                f"{cfg_path}: [smtp] logs in (username_env) without STARTTLS, so the password would "
                "cross the network in clear text; set starttls = true, or allow_plain_login = true "
                "for a server reached over a trusted network (e.g. localhost)"
            )
        smtp = Smtp(
            host=s["host"],
            port=s["port"],
            starttls=s["starttls"],
            username_env=s["username_env"],
            password_env=s["password_env"],
            sender=s["from"],
        )

    return Config(
        path=cfg_path,
        warehouse_path=warehouse_path,
        landing_dir=resolve_path(base, landing["dir"]) if landing["dir"] else warehouse_path.parent / "landing",
        reports_dir=resolve_path(base, reports["dir"]) if reports["dir"] else warehouse_path.parent / "reports",
        outbox_dir=resolve_path(base, reports["outbox"]) if reports["outbox"] else warehouse_path.parent / "outbox",
        price_sources=price_sources,
        gpu_sources=gpu_sources,
        usage_sources=usage_sources,
        deployments=tuple(deployments),
        self_host_options=_self_host_options(doc, cfg_path),
        billing_sources=billing_sources,
        owners=tuple(owners),
        budgets=_budgets(doc, owners, cfg_path),
        alerts=_alerts(doc, cfg_path),
        anomaly_ratio=float(anomalies["ratio"]),
        anomaly_min_usd=float(anomalies["min_usd"]),
        max_unpriced_share=float(quality["max_unpriced_share"]),
        max_price_age_days=quality["max_price_age_days"],
        max_quarantined_share=float(quality["max_quarantined_share"]),
        min_requests_vs_trailing_week=float(quality["min_requests_vs_trailing_week"]),
        earliest_usage_date=earliest_usage_date,
        max_usage_days_ahead=quality["max_usage_days_ahead"],
        max_conflicting_share=float(quality["max_conflicting_share"]),
        max_billing_gap_share=float(quality["max_billing_gap_share"]),
        max_billing_gap_usd=float(quality["max_billing_gap_usd"]),
        billing_gap_blocks=quality["billing_gap_blocks"],
        smtp=smtp,
        memory_limit=wh["memory_limit"],
        max_calls_per_build=wh["max_calls_per_build"],
        engine=wh["engine"],
        spark=_spark(wh["spark"] or {}, base, warehouse_path, cfg_path) if wh["engine"] == "spark" else None,
        s3=_storage_s3(doc.get("storage", {}), cfg_path),
    )


def _budgets(doc: dict, owners: list[Owner], cfg_path: Path) -> tuple[Budget, ...]:
    """The [[budgets]]: unique names, an owner that is an [[owners]] name, alert levels ascending shares > 0."""
    budgets = []
    for i, raw in enumerate(_array(doc, "budgets", cfg_path)):
        where = f"budgets[{i}]"
        if raw["owner"] is not None and raw["owner"] not in {o.name for o in owners}:
            names = ", ".join(o.name for o in owners) or "none configured"
            raise ConfigError(
                f"{cfg_path}: key '{where}.owner' is '{raw['owner']}', expected the name of an [[owners]] entry "
                f"({names})"
            )
        levels = raw["alert_at"]
        if (
            not levels
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and ALERT_LEVEL.allow(v) for v in levels)
            or list(levels) != sorted(set(levels))
        ):
            raise ConfigError(
                f"{cfg_path}: key '{where}.alert_at' is {levels!r}, expected ascending shares of the budget "
                f"{ALERT_LEVEL}, e.g. [0.8, 1.0]"
            )
        if raw["name"] in {b.name for b in budgets} or not raw["name"].strip():
            raise ConfigError(
                f"{cfg_path}: key '{where}.name' is '{raw['name']}': budget names must be unique, not empty"
            )
        budgets.append(
            Budget(
                name=raw["name"],
                monthly_usd=float(raw["monthly_usd"]),
                tenant_id=raw["tenant_id"],
                feature=raw["feature"],
                owner=raw["owner"],
                alert_at=tuple(float(v) for v in levels),
            )
        )
    return tuple(budgets)


def _alerts(doc: dict, cfg_path: Path) -> Alerts:
    """[alerts]: an http(s) webhook_url; token_env names an environment variable (the token never sits in the file)."""
    raw = _check_table("alerts", doc.get("alerts", {}), SCHEMA["alerts"], cfg_path)
    url = raw["webhook_url"]
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{cfg_path}: key 'alerts.webhook_url' is '{url}', expected an http:// or https:// URL")
    if raw["token_env"] is not None and url is None:
        raise ConfigError(f"{cfg_path}: key 'alerts.token_env' goes with 'alerts.webhook_url' (the token it sends)")
    return Alerts(webhook_url=url, token_env=raw["token_env"], timeout_seconds=float(raw["timeout_seconds"]))


def _allocation(raw: dict, where: str, cfg_path: Path) -> dict:
    """A deployment's allocation and rate card rate: hourly_share (no rate) or rate_card with a rate >= 0 or "auto"."""
    allocation, rate = raw["allocation"], raw["rate_usd_per_million_weighted_tokens"]
    if allocation not in ALLOCATIONS:
        raise ConfigError(
            f"{cfg_path}: key '{where}.allocation' is '{allocation}', expected one of: {', '.join(ALLOCATIONS)}"
        )
    key = f"'{where}.rate_usd_per_million_weighted_tokens'"
    if allocation == "hourly_share":
        if rate is not None:
            raise ConfigError(f'{cfg_path}: key {key} goes with allocation = "rate_card", not "hourly_share"')
        return {"allocation": allocation}
    if rate is None:
        raise ConfigError(
            f'{cfg_path}: key {key} is required with allocation = "rate_card": USD per 1M weighted tokens '
            '(e.g. 0.8) or "auto" (the previous month\'s cost / its weighted tokens)'
        )
    if rate != "auto" and (isinstance(rate, str) or not Bounds(0).allow(rate)):
        raise ConfigError(f'{cfg_path}: key {key} is {rate!r}, expected a number >= 0 or "auto"')
    return {"allocation": allocation, "rate_usd_per_million_weighted_tokens": rate}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def _spark(raw: dict, base: Path, warehouse_path: Path, cfg_path: Path) -> SparkSettings:
    missing = [
        package
        for package, module in (("pyspark", "pyspark"), ("dbt-spark", "dbt.adapters.spark"))
        if not _installed(module)
    ]
    if missing:
        raise ConfigError(
            f"{cfg_path}: key 'warehouse.engine' is \"spark\" but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed in this Python ({sys.executable}); "
            'install the Spark extra (pip install -e ".[spark]", docs/spark.md) or set '
            'engine = "duckdb"'
        )
    checked = _check_table("warehouse.spark", raw, SPARK_KEYS, cfg_path)
    try:
        return spark_settings(checked, base, data_dir_of(warehouse_path))
    except ValueError as exc:
        raise ConfigError(f"{cfg_path}: {exc}") from None


def _provider_model(value: str | None, key: str, cfg_path: Path) -> tuple[str, str] | None:
    """ "provider/model" -> (provider, model): the provider and model exactly as the usage records name them."""
    if value is None:
        return None
    provider, slash, model = value.partition("/")
    if not (slash and provider.strip() and model.strip()):
        raise ConfigError(
            f"{cfg_path}: key '{key}' is {value!r}, expected \"provider/model\" as the usage records name them, "
            'e.g. "anthropic/claude-sonnet-4-6"'
        )
    return provider, model


def _self_host_options(doc: dict, cfg_path: Path) -> tuple[SelfHostOption, ...]:
    """[[self_host_options]]: the deployments one could rent instead of an API (finance.rent_vs_api_monthly)."""
    options = []
    for i, raw in enumerate(_array(doc, "self_host_options", cfg_path)):
        where = f"self_host_options[{i}]"
        if raw["pricing"] not in PRICINGS:
            raise ConfigError(
                f"{cfg_path}: key '{where}.pricing' is '{raw['pricing']}', expected one of: {', '.join(PRICINGS)}"
            )
        if not raw["replaces"] or not all(isinstance(v, str) for v in raw["replaces"]):
            raise ConfigError(
                f"{cfg_path}: key '{where}.replaces' must be a non-empty array of \"provider/model\" strings "
                '(the API usage that would move to this option), e.g. ["deepseek/deepseek-v4-pro"]'
            )
        replaces = tuple(_provider_model(v, f"{where}.replaces", cfg_path) for v in raw["replaces"])
        if len(set(replaces)) != len(replaces):
            raise ConfigError(f"{cfg_path}: key '{where}.replaces' names a provider/model twice: {raw['replaces']}")
        options.append(
            SelfHostOption(
                id=raw["id"],
                model=raw["model"],
                gpu=raw["gpu"],
                gpu_count=raw["gpu_count"],
                output_tokens_per_second=float(raw["output_tokens_per_second"]),
                replaces=replaces,
                pricing=raw["pricing"],
                ops_usd_per_month=float(raw["ops_usd_per_month"]),
                max_utilisation=float(raw["max_utilisation"]),
            )
        )
    ids = [o.id for o in options]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{cfg_path}: self_host_options: duplicate id in {ids}; give each option its own id")
    return tuple(options)


def default_config_path() -> Path:
    """The bundled config that runs on the bundled sample data (used when --config is not given)."""
    return Path(__file__).resolve().parent.parent / "finops" / "bundled" / "finops.toml"


S3_KEYS = {
    "endpoint_url": (str, None),
    "region": (str, None),
    "url_style": (str, "vhost"),
    "access_key_id_env": (str, "AWS_ACCESS_KEY_ID"),
    "secret_access_key_env": (str, "AWS_SECRET_ACCESS_KEY"),
    "session_token_env": (str, "AWS_SESSION_TOKEN"),
}
URL_STYLES = ("vhost", "path")
S3_COPIES = "s3"  # <warehouse>.data/s3/<bucket>/<key>: the copies of s3:// objects (ingest/object_store.py)


def _storage_s3(storage: object, cfg_path: Path) -> S3Settings:
    """[storage.s3] (docs/spec.md#config); the defaults reach AWS S3 with the standard AWS_* variables."""
    raw = _check_table("storage", storage, {"s3": (dict, None)}, cfg_path)["s3"]
    s3 = _check_table("storage.s3", raw or {}, S3_KEYS, cfg_path)
    if s3["url_style"] not in URL_STYLES:
        raise ConfigError(
            f"{cfg_path}: key 'storage.s3.url_style' is '{s3['url_style']}', expected one of: {', '.join(URL_STYLES)}"
        )
    endpoint = s3["endpoint_url"]
    if endpoint is not None and not re.fullmatch(r"https?://[^/\s]+/?", endpoint):
        raise ConfigError(
            f"{cfg_path}: key 'storage.s3.endpoint_url' is '{endpoint}', expected http(s)://host[:port] "
            '(e.g. "http://127.0.0.1:9000"); leave it out for AWS S3'
        )
    return S3Settings(**s3)


def s3_copy_path(data_dir: Path, url: str, where: str) -> Path:
    """Where the objects an s3://bucket/key glob matches are copied: <data_dir>/s3/<bucket>/<key glob>."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    parts = key.split("/")
    if not bucket or not key or ".." in parts or "" in parts:
        raise ConfigError(f"{where} is '{url}', expected s3://bucket/key (a glob such as s3://bucket/usage/*.jsonl.gz)")
    return data_dir / S3_COPIES / bucket / key
