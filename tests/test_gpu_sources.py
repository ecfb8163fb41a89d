"""GPU rental listings (docs/spec.md#prices-and-gpu-offers, docs/prices_and_gpus.md): RunPod's GPU types, Vast.ai
offers and a GPU cloud's HTML price table, fetched over real HTTP, with one gpu_model name per GPU,
usd_per_gpu_hour, and the same observation history as scraped prices; a self-hosted deployment is priced from the
cheapest of them. Figures by hand from the fixtures in tests/fixtures/gpus/."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import Project, event, write_jsonl
from fixture_server import FixtureServer

from core.config import ConfigError, load_config
from ingest.gpu_listings import read_gpu_page, read_runpod_gpu_types, read_vast_offers
from ingest.gpu_names import gpu_model_name

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gpus"
RUNPOD = (FIXTURES / "runpod_gpuTypes_sample.json").read_bytes()
VAST = (FIXTURES / "vast_bundles_offers_trimmed_sample.json").read_bytes()
PAGE = (FIXTURES / "gpu_cloud_pricing.html").read_bytes()
PAGE_COLUMNS = {
    "gpu_model": "GPU",
    "vram_gb": "VRAM",
    "gpu_count": "GPUs",
    "usd_per_gpu_hour": "Price per GPU / hour",
    "region": "Region",
}


@pytest.fixture
def server():
    s = FixtureServer()
    yield s
    s.close()


@pytest.mark.unit
@pytest.mark.parametrize(
    "raw, vram_gb, expected",
    [
        ("NVIDIA H100 80GB HBM3", 80, "H100 SXM"),
        ("H100 SXM5 80GB", None, "H100 SXM"),
        ("H100-SXM", None, "H100 SXM"),
        ("H100 SXM", None, "H100 SXM"),
        ("H100", None, "H100 SXM"),
        ("NVIDIA H100 PCIe", 80, "H100 PCIe"),
        ("H100 PCIE", None, "H100 PCIe"),
        ("NVIDIA H100 NVL", 94, "H100 NVL"),
        ("NVIDIA H200", 141, "H200 SXM"),
        ("H200 NVL", None, "H200 NVL"),
        ("NVIDIA A100-SXM4-80GB", 80, "A100 80GB"),
        ("A100 SXM4", 40, "A100 40GB"),
        ("A100 SXM4", 80, "A100 80GB"),
        ("NVIDIA A100 80GB PCIe", 80, "A100 80GB PCIe"),
        ("A100 PCIE", 80, "A100 80GB PCIe"),
        ("Tesla V100-PCIE-16GB", 16, "V100 16GB PCIe"),
        ("AMD Instinct MI300X OAM", 192, "MI300X"),
        ("B200", 179, "B200"),
        ("GB200 NVL72", None, "GB200"),
        ("GH200", 96, "GH200"),
        ("NVIDIA L40S", 48, "L40S"),
        ("L40", None, "L40"),
        ("NVIDIA L4", 24, "L4"),
        ("NVIDIA GeForce RTX 4090", 24, "RTX 4090"),
        ("RTX PRO 6000 WS", 96, "RTX PRO 6000"),
        ("NVIDIA RTX 6000 Ada Generation", 48, "RTX 6000 Ada"),
        ("NVIDIA A10G", 24, "A10G"),
        ("A10", 24, "A10"),
    ],
)
def test_gpu_names_are_normalised_with_form_factors_kept_apart(raw, vram_gb, expected):
    assert gpu_model_name(raw, vram_gb) == (expected, True)


@pytest.mark.unit
def test_an_unrecognised_gpu_name_is_kept_as_written_and_reported():
    assert gpu_model_name("  Foo   Accelerator X1 ") == ("Foo Accelerator X1", False)


def offers(df: pl.DataFrame) -> dict[tuple, float]:
    return {
        (r["gpu_model"], r["gpu_count"], r["pricing_type"], r["region"]): r["usd_per_hour"]
        for r in df.iter_rows(named=True)
    }


@pytest.mark.unit
def test_runpod_gpu_types_become_on_demand_offers_per_cloud():
    df = read_runpod_gpu_types(RUNPOD)
    got = offers(df)
    assert got[("H100 SXM", 1, "on_demand", "secure_cloud")] == 3.49
    assert got[("H100 SXM", 1, "on_demand", "community_cloud")] == 2.69
    assert got[("H100 NVL", 1, "on_demand", "secure_cloud")] == 3.19
    assert got[("A100 80GB PCIe", 1, "on_demand", "community_cloud")] == 1.19
    assert got[("A100 40GB", 1, "on_demand", "community_cloud")] == 1.0
    assert ("A100 40GB", 1, "on_demand", "secure_cloud") not in got  # securePrice 0: not offered
    assert not any(model == "unknown" for model, *_ in got)  # no price at all
    assert df.height == 22 and set(df["provider"]) == {"runpod"}
    assert df.filter(pl.col("gpu_model") == "MI300X")["vram_gb"].to_list() == [192.0, 192.0]


@pytest.mark.unit
def test_runpod_spot_prices_are_spot_offers():
    doc = {
        "data": {
            "gpuTypes": [
                {
                    "id": "NVIDIA H100 80GB HBM3",
                    "displayName": "H100 SXM",
                    "memoryInGb": 80,
                    "securePrice": 2.99,
                    "communityPrice": 0,
                    "secureSpotPrice": 1.75,
                    "communitySpotPrice": None,
                }
            ]
        }
    }
    assert offers(read_runpod_gpu_types(json.dumps(doc).encode())) == {
        ("H100 SXM", 1, "on_demand", "secure_cloud"): 2.99,
        ("H100 SXM", 1, "spot", "secure_cloud"): 1.75,
    }


@pytest.mark.unit
def test_vast_offers_are_priced_per_offer_and_per_gpu_with_memory_variants_apart():
    df = read_vast_offers(VAST, pricing_type="on_demand")
    got = offers(df)
    assert got[("H100 SXM", 2, "on_demand", "")] == 4.534814814814815
    assert got[("A100 40GB", 1, "on_demand", "")] == 0.6044444444444445  # gpu_ram 39936 MB
    assert got[("A100 80GB", 1, "on_demand", "")] == 1.0826666666666667  # gpu_ram 81920 MB
    assert got[("A100 80GB PCIe", 1, "on_demand", "")] == 1.0022222222222221
    assert got[("H100 PCIe", 8, "on_demand", "")] == 20.70553162962963
    assert df.height == 16 and set(df["provider"]) == {"vastai"}
    assert df.filter(pl.col("gpu_model") == "H100 SXM")["vram_gb"].unique().to_list() == [80.0]


@pytest.mark.unit
def test_vast_keeps_the_cheapest_offer_per_key_and_the_listing_pricing_type():
    doc = {
        "offers": [
            {"id": 11, "gpu_name": "H100 SXM", "num_gpus": 1, "dph_total": 2.5, "gpu_ram": 81559, "geolocation": "US"},
            {"id": 12, "gpu_name": "H100 SXM", "num_gpus": 1, "dph_total": 2.2, "gpu_ram": 81559, "geolocation": "US"},
            {"id": 13, "gpu_name": "H100 SXM", "num_gpus": 1, "dph_total": 1.9, "gpu_ram": 81559, "geolocation": "SE"},
            {"id": 14, "gpu_name": "H100 SXM", "num_gpus": 0, "dph_total": 0.1},
            {"id": 15, "gpu_name": None, "num_gpus": 1, "dph_total": 0.1},
        ]
    }
    df = read_vast_offers(json.dumps(doc).encode(), pricing_type="spot")
    assert offers(df) == {("H100 SXM", 1, "spot", "US"): 2.2, ("H100 SXM", 1, "spot", "SE"): 1.9}
    assert sorted(df["source"]) == ["vast_json:12", "vast_json:13"]


@pytest.mark.unit
def test_a_gpu_price_page_with_per_gpu_prices_and_merged_cells():
    df = read_gpu_page(
        PAGE,
        provider="acmegpu",
        selector="#on-demand table",
        heading=None,
        columns=PAGE_COLUMNS,
        pricing_type="on_demand",
    )
    assert offers(df) == {
        ("H100 SXM", 1, "on_demand", "us-east"): 2.99,
        ("H100 SXM", 8, "on_demand", "us-east"): pytest.approx(8 * 2.79),  # the rowspan'd GPU cell
        ("H100 PCIe", 1, "on_demand", "us-east"): 2.25,
        ("A100 80GB PCIe", 1, "on_demand", "us-west"): 1.29,
        ("Foo Accelerator X1", 1, "on_demand", "us-west"): 0.99,  # unrecognised, kept as written
    }  # B200 "Contact sales": no price
    reserved = read_gpu_page(
        PAGE,
        provider="acmegpu",
        selector=None,
        heading="Reserved",
        pricing_type="reserved",
        columns={"gpu_model": "GPU", "usd_per_gpu_hour": "Price per GPU / hour"},
    )
    assert offers(reserved) == {("H100 SXM", 1, "reserved", ""): 1.89}


@pytest.mark.parametrize(
    "source, message",
    [
        (
            'kind = "runpod_json"\nurl = "https://x/g"\npricing_type = "spot"',
            "applies to kinds vast_json and html_table",
        ),
        (
            'kind = "vast_json"\nurl = "https://x/o"\npricing_type = "cheap"',
            "'gpu.sources\\[1\\].pricing_type' is 'cheap'",
        ),
        (
            'kind = "html_table"\nurl = "https://x/p"\nprovider = "acme"\ntable = "table"\n'
            'columns = { gpu_model = "GPU", usd_per_hour = "Price", usd_per_gpu_hour = "Per GPU" }',
            "needs exactly one of 'usd_per_hour' or 'usd_per_gpu_hour'",
        ),
        (
            'kind = "html_table"\nurl = "https://x/p"\nprovider = "acme"\ntable = "table"\nunit = "1K"\n'
            'columns = { gpu_model = "GPU", usd_per_hour = "Price" }',
            "applies to \\[\\[prices.sources\\]\\] only",
        ),
        ('kind = "runpod_json"\npath = "gpus/*.csv"', "'gpu.sources\\[1\\].path': kind 'runpod_json' reads one file"),
    ],
)
def test_bad_gpu_source_config_names_the_key(project: Project, source, message):
    write_jsonl(project.usage / "d1.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    (project.root / "gpus" / "more.csv").write_text("x\n")
    project.write_config(extra=f"[[gpu.sources]]\n{source}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(project.config)


# --- end to end: the real CLI against the local server ---------------------------------------------------


def payloads(folder: Path) -> list[Path]:
    """The landed copies in a landing folder (beside them: the .fetch.json records)."""
    return sorted(p for p in folder.iterdir() if not p.name.endswith(".fetch.json"))


def self_hosted_cost(project: Project, day: str) -> float:
    [(cost,)] = project.query(
        """select sum(cost_usd) from finance.self_hosted_allocation
                                 where deployment_id = 'llama-h100' and hour_start::date = ?""",
        [day],
    )
    return cost


def test_gpu_listings_from_urls_price_a_deployment_and_record_changes(project: Project, server, monkeypatch):
    runpod_url = server.serve("/graphql/gpuTypes", RUNPOD, etag='"rp1"')
    vast_url = server.serve("/api/v0/bundles", VAST)
    page_url = server.serve("/pricing", PAGE, content_type="text/html")
    project.write_config(
        extra=f"""
[[gpu.sources]]
kind = "runpod_json"
name = "runpod"
url = "{runpod_url}"

[[gpu.sources]]
kind = "vast_json"
name = "vast"
url = "{vast_url}"

[[gpu.sources]]
kind = "html_table"
name = "acmegpu"
url = "{page_url}"
provider = "acmegpu"
table = "#on-demand table"
columns = {{ gpu_model = "GPU", vram_gb = "VRAM", gpu_count = "GPUs", usd_per_gpu_hour = "Price per GPU / hour", region = "Region" }}
"""
    )

    def calls(day: str) -> list[dict]:
        return [
            event(
                f"sh-{day}",
                f"{day}T10:00:00Z",
                provider="self_hosted",
                model="llama-3.3-70b",
                deployment_id="llama-h100",
                input_tokens=1_000,
                output_tokens=100,
            ),
            event(f"api-{day}", f"{day}T10:00:00Z"),
        ]

    write_jsonl(project.usage / "d1.jsonl", calls("2026-11-02"))
    monkeypatch.setenv("FINOPS_FETCH_DATE", "2026-11-03")
    out = project.finops("run", "--date", "2026-11-02", check=True)
    assert " ERROR " not in out.stderr
    assert "html_table: GPU name(s) not recognised, kept as written: Foo Accelerator X1" in out.stderr

    rows = project.query("""select provider, gpu_model, gpu_count, pricing_type, region, usd_per_hour, usd_per_gpu_hour,
                                   observed_on::varchar, landed_file
                            from finance.gpu_offers where gpu_model = 'H100 SXM' and source_name <> 'gpu_0'
                            order by provider, gpu_count, region""")
    landing = project.root / "warehouse" / "landing"
    [acme_copy] = payloads(landing / "acmegpu" / "2026-11-03")
    [runpod_copy] = payloads(landing / "runpod" / "2026-11-03")
    [vast_copy] = payloads(landing / "vast" / "2026-11-03")
    assert rows == [
        ("acmegpu", "H100 SXM", 1, "on_demand", "us-east", 2.99, 2.99, "1970-01-01", str(acme_copy)),
        (
            "acmegpu",
            "H100 SXM",
            8,
            "on_demand",
            "us-east",
            pytest.approx(22.32),
            pytest.approx(2.79),
            "1970-01-01",
            str(acme_copy),
        ),
        ("runpod", "H100 SXM", 1, "on_demand", "community_cloud", 2.69, 2.69, "1970-01-01", str(runpod_copy)),
        ("runpod", "H100 SXM", 1, "on_demand", "secure_cloud", 3.49, 3.49, "1970-01-01", str(runpod_copy)),
        (
            "vastai",
            "H100 SXM",
            1,
            "on_demand",
            "",
            2.2693333333333334,
            2.2693333333333334,
            "1970-01-01",
            str(vast_copy),
        ),
        ("vastai", "H100 SXM", 2, "on_demand", "", 4.534814814814815, 2.2674074074074075, "1970-01-01", str(vast_copy)),
        ("vastai", "H100 SXM", 4, "on_demand", "", 12.805333333333332, 3.201333333333333, "1970-01-01", str(vast_copy)),
    ]
    assert project.query("select count(*) from finance.gpu_offers where gpu_model = 'Foo Accelerator X1'") == [(1,)]
    # 8 x H100 SXM at the cheapest latest on-demand offer: Vast.ai's 2-GPU offer, 4.534815 / 2 per GPU-hour
    assert self_hosted_cost(project, "2026-11-02") == pytest.approx(24 * 8 * 4.534814814814815 / 2, abs=1e-6)

    # later: Vast.ai's 2-GPU offer drops to $4.00/h; RunPod answers 304, the page is the same
    offers_now = json.loads(VAST)
    offers_now[4]["dph_total"] = 4.0
    server.serve("/api/v0/bundles", json.dumps(offers_now).encode())
    write_jsonl(project.usage / "d2.jsonl", calls("2026-11-05"))
    runpod_rows = project.query("select count(*) from finance.gpu_offers where source_name = 'runpod'")
    monkeypatch.setenv("FINOPS_FETCH_DATE", "2026-11-05")
    out = project.finops("run", "--date", "2026-11-05", check=True)
    assert server.statuses("/graphql/gpuTypes") == [200, 304]
    assert project.query("select count(*) from finance.gpu_offers where source_name = 'runpod'") == runpod_rows
    assert payloads(landing / "acmegpu" / "2026-11-05") == []  # the same bytes: not landed again
    [new_vast_copy] = payloads(landing / "vast" / "2026-11-05")
    assert project.query("""select observed_on::varchar, usd_per_hour, landed_file from finance.gpu_offers
                            where provider = 'vastai' and gpu_model = 'H100 SXM' and gpu_count = 2
                            order by 1""") == [
        ("1970-01-01", 4.534814814814815, str(vast_copy)),
        ("2026-11-05", 4.0, str(new_vast_copy)),
    ]
    assert self_hosted_cost(project, "2026-11-05") == pytest.approx(24 * 8 * 2.0, abs=1e-6)  # 384
    assert self_hosted_cost(project, "2026-11-02") == pytest.approx(24 * 8 * 4.534814814814815 / 2, abs=1e-6)
    assert "re-costed" not in out.stdout
