"""GPU rental listings -> GPU offer rows (gpu_model names normalised by ingest/gpu_names.py).

- runpod_json: RunPod's GPU types ({"data": {"gpuTypes": [...]}}): securePrice / communityPrice are on-demand
  prices per GPU-hour in the Secure and Community clouds, secureSpotPrice / communitySpotPrice the spot ones;
  the cloud is the offer's region ("secure_cloud", "community_cloud"). A price of 0 or none: not offered.
  Monthly/weekly savings-plan prices and lowestPrice are not read.
- vast_json: Vast.ai offers (a list, or {"offers": [...]}): dph_total (USD per hour for the whole offer) over
  num_gpus GPUs of gpu_name with gpu_ram MB each; geolocation, when present, is the region. The source's
  pricing_type says what the listing is (on_demand by default; spot for an interruptible/bid listing).
- html_table: a GPU cloud's price page; the config names the table and its columns.
Several offers of one (provider, region, gpu_model, gpu_count, pricing_type) in one listing: the cheapest is
kept (the deployment cost rule takes the cheapest anyway, and one offer per key keeps "the latest offer"
well defined)."""

from __future__ import annotations

import logging
from decimal import Decimal

import polars as pl

from ingest.gpu_names import gpu_model_name
from ingest.gpu_sheet import GPU_KEY, GPU_SEEN_SCHEMA
from ingest.html_table import find_table, parse_count, parse_hourly_price, read_columns
from ingest.payload import PayloadError, load_json

log = logging.getLogger("finops")

RUNPOD_PRICES = {
    "securePrice": ("on_demand", "secure_cloud"),
    "communityPrice": ("on_demand", "community_cloud"),
    "secureSpotPrice": ("spot", "secure_cloud"),
    "communitySpotPrice": ("spot", "community_cloud"),
}


class _Offers:
    """Offers as read, the cheapest per key, and the GPU names not recognised (warned about once)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.rows: dict[tuple, dict] = {}
        self.unrecognised: set[str] = set()
        self.skipped = 0

    def add(
        self,
        *,
        provider: str,
        raw_name: str,
        gpu_count: int,
        vram_gb: float | None,
        pricing_type: str,
        region: str,
        usd_per_hour: float,
        source: str,
    ) -> None:
        gpu_model, known = gpu_model_name(raw_name, vram_gb)
        if not known:
            self.unrecognised.add(gpu_model)
        row = {
            "provider": provider,
            "gpu_model": gpu_model,
            "gpu_count": gpu_count,
            "vram_gb": vram_gb,
            "pricing_type": pricing_type,
            "region": region,
            "usd_per_hour": usd_per_hour,
            "source": source,
        }
        key = tuple(row[k] for k in GPU_KEY)
        if key not in self.rows or usd_per_hour < self.rows[key]["usd_per_hour"]:
            self.rows[key] = row

    def frame(self) -> pl.DataFrame:
        if not self.rows:
            raise PayloadError("no GPU offers with a price found")
        if self.unrecognised:
            log.warning(
                "%s: GPU name(s) not recognised, kept as written: %s", self.kind, ", ".join(sorted(self.unrecognised))
            )
        if self.skipped:
            log.info("%s: %d listing entries without a usable name, count or price skipped", self.kind, self.skipped)
        return pl.DataFrame([self.rows[k] for k in sorted(self.rows)], schema=GPU_SEEN_SCHEMA)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def read_runpod_gpu_types(data: bytes) -> pl.DataFrame:
    doc = load_json(data)
    types = doc.get("data", {}).get("gpuTypes") if isinstance(doc, dict) and isinstance(doc.get("data"), dict) else None
    if not isinstance(types, list):
        raise PayloadError('expected {"data": {"gpuTypes": [...]}} (RunPod\'s GPU types)')
    offers = _Offers("runpod_json")
    for gpu in types:
        if not isinstance(gpu, dict) or not isinstance(gpu.get("id"), str):
            offers.skipped += 1
            continue
        vram = _number(gpu.get("memoryInGb")) or None
        name = gpu["id"]
        if not gpu_model_name(name, vram)[1] and isinstance(gpu.get("displayName"), str):
            name = gpu["displayName"]
        for field, (pricing_type, cloud) in RUNPOD_PRICES.items():
            price = _number(gpu.get(field))
            if price:  # 0 or missing: not offered in that cloud
                offers.add(
                    provider="runpod",
                    raw_name=name,
                    gpu_count=1,
                    vram_gb=vram,
                    pricing_type=pricing_type,
                    region=cloud,
                    usd_per_hour=price,
                    source=f"runpod_json:{gpu['id']}",
                )
    return offers.frame()


def read_vast_offers(data: bytes, *, pricing_type: str) -> pl.DataFrame:
    doc = load_json(data)
    listing = doc.get("offers") if isinstance(doc, dict) else doc
    if not isinstance(listing, list):
        raise PayloadError('expected a list of offers, or {"offers": [...]} (Vast.ai\'s offer search)')
    offers = _Offers("vast_json")
    for number, offer in enumerate(listing, start=1):
        if not isinstance(offer, dict):
            offers.skipped += 1
            continue
        count, price, ram_mb = (
            _number(offer.get("num_gpus")),
            _number(offer.get("dph_total")),
            _number(offer.get("gpu_ram")),
        )
        if not isinstance(offer.get("gpu_name"), str) or not count or count < 1 or price is None or price < 0:
            offers.skipped += 1
            continue
        offers.add(
            provider="vastai",
            raw_name=offer["gpu_name"],
            gpu_count=int(count),
            vram_gb=round(ram_mb / 1024) if ram_mb else None,
            pricing_type=pricing_type,
            region=str(offer.get("geolocation") or ""),
            usd_per_hour=price,
            source=f"vast_json:{offer.get('id', f'offer {number}')}",
        )
    return offers.frame()


def read_gpu_page(
    html: bytes, *, provider: str, selector: str | None, heading: str | None, columns: dict[str, str], pricing_type: str
) -> pl.DataFrame:
    table = find_table(html, selector=selector, heading=heading)
    offers = _Offers("html_table")
    for number, cells in read_columns(table, columns):
        name = cells["gpu_model"]
        try:
            count = parse_count(cells["gpu_count"]) if "gpu_count" in cells else 1
            vram = parse_count(cells["vram_gb"]) if cells.get("vram_gb") else None
            if "usd_per_hour" in cells:
                price = parse_hourly_price(cells["usd_per_hour"])
            else:
                per_gpu = parse_hourly_price(cells["usd_per_gpu_hour"])
                price = None if per_gpu is None else per_gpu * Decimal(count or 1)
        except PayloadError as exc:
            raise PayloadError(f"table row {number} ('{name}'): {exc}") from None
        if not name or price is None:
            continue
        if not count:
            raise PayloadError(f"table row {number} ('{name}'): GPU count {cells.get('gpu_count')!r} is not a number")
        offers.add(
            provider=provider,
            raw_name=name,
            gpu_count=count,
            vram_gb=vram,
            pricing_type=pricing_type,
            region=cells.get("region", ""),
            usd_per_hour=float(price),
            source=f"html_table:{name}",
        )
    return offers.frame()
