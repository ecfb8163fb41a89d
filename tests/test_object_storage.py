"""Sources on object storage (issue 24 §1, ingest/object_store.py): usage and price files at s3:// paths, read by the
real `finops run` from a real S3-compatible server on localhost (moto in server mode), with credentials from the
environment that no output ever shows.

Anthropic claude-sonnet-4-6 at the article sheet's $3.00 per million input and $15.00 per million output tokens:
    1000 input + 100 output = $0.003 + $0.0015 = $0.0045 a call
    2000 input              = $0.006
"""

from __future__ import annotations

import gzip
import json
import re

import boto3
import pytest
from conftest import FIXTURES, Project, event
from moto.server import ThreadedMotoServer

from core.config import ConfigError, load_config
from ingest.object_store import StorageError, land_objects

KEY_ID, SECRET = "AKIAFINOPSTESTKEY123", "finops/test+Secret-0123456789abcdefghij"
BUCKET = "finops-exports"
DAY = "2026-11-02"


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch):
    """A client of the local server, a fresh bucket, and the credentials in the environment of `finops`."""
    monkeypatch.setenv("FINOPS_S3_KEY", KEY_ID)
    monkeypatch.setenv("FINOPS_S3_SECRET", SECRET)
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name="us-east-1"
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def configure(project: Project, endpoint: str, bucket: str = BUCKET) -> None:
    project.write_config(
        usage=f'[[usage.sources]]\nkind = "canonical"\npath = "s3://{bucket}/usage/**/*.jsonl.gz"\n',
        deployments="",
        extra=f"""
[storage.s3]
endpoint_url = "{endpoint}"
url_style = "path"
access_key_id_env = "FINOPS_S3_KEY"
secret_access_key_env = "FINOPS_S3_SECRET"
""",
    )
    text = project.config.read_text().replace('path = "prices/*.csv"', f'path = "s3://{bucket}/prices/*.csv"')
    project.config.write_text(text)
    (project.root / "prices" / "list_prices.csv").unlink()  # the prices are read from the bucket only


def put_usage(s3, key: str, events: list[dict]) -> None:
    body = gzip.compress("".join(json.dumps(e) + "\n" for e in events).encode())
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def costs(project: Project) -> list[tuple]:
    return project.query(
        f"select event_id, cost_usd from finance.fct_llm_requests where usage_date = '{DAY}' order by 1"
    )


def test_usage_and_prices_are_read_from_s3_once_and_again_when_changed(project: Project, endpoint: str, s3):
    s3.put_object(
        Bucket=BUCKET, Key="prices/list_prices.csv", Body=(FIXTURES / "prices" / "article_prices.csv").read_bytes()
    )
    put_usage(s3, "usage/team-a/day.jsonl.gz", [event("a1", f"{DAY}T09:00:00Z")])
    put_usage(s3, "usage/team-b/day.jsonl.gz", [event("b1", f"{DAY}T10:00:00Z", input_tokens=2000, output_tokens=0)])
    configure(project, endpoint)

    first = project.finops("run", "--date", DAY)
    assert first.returncode == 0, first.stderr
    assert costs(project) == [("a1", 0.0045), ("b1", 0.006)]
    assert first.stderr.count("staged ") == 2

    again = project.finops("run", "--date", DAY)  # nothing changed in the bucket: no object copied, no file read
    assert again.returncode == 0, again.stderr
    assert "2 object(s), 0 new or changed copied" in again.stderr
    assert "staged " not in again.stderr

    put_usage(  # team-b's export is rewritten with a second call: that file alone is read again
        s3,
        "usage/team-b/day.jsonl.gz",
        [event("b1", f"{DAY}T10:00:00Z", input_tokens=2000, output_tokens=0), event("b2", f"{DAY}T11:00:00Z")],
    )
    changed = project.finops("run", "--date", DAY)
    assert changed.returncode == 0, changed.stderr
    assert "2 object(s), 1 new or changed copied" in changed.stderr
    assert changed.stderr.count("staged ") == 1 and "team-b/day.jsonl.gz: 2 rows" in changed.stderr
    assert costs(project) == [("a1", 0.0045), ("b1", 0.006), ("b2", 0.0045)]

    s3.delete_object(Bucket=BUCKET, Key="usage/team-a/day.jsonl.gz")  # an export gone: its calls go with it
    gone = project.finops("run", "--date", DAY)
    assert gone.returncode == 0, gone.stderr
    assert costs(project) == [("b1", 0.006), ("b2", 0.0045)]
    for proc in (first, again, changed, gone):
        assert KEY_ID not in proc.stderr + proc.stdout and SECRET not in proc.stderr + proc.stdout


def test_a_missing_bucket_exits_2_naming_the_source_and_path_without_the_secret(
    project: Project, endpoint: str, s3, monkeypatch: pytest.MonkeyPatch
):
    configure(project, endpoint, bucket="no-such-bucket")
    proc = project.finops("run", "--date", DAY)
    assert proc.returncode == 2, proc.stderr
    assert "finops: source 'prices_0' (s3://no-such-bucket/prices/*.csv): cannot list the objects" in proc.stderr
    assert "NoSuchBucket" in proc.stderr and "FINOPS_S3_KEY and FINOPS_S3_SECRET" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert KEY_ID not in proc.stderr + proc.stdout and SECRET not in proc.stderr + proc.stdout


def test_no_object_matching_exits_2(project: Project, endpoint: str, s3):
    s3.put_object(
        Bucket=BUCKET, Key="prices/list_prices.csv", Body=(FIXTURES / "prices" / "article_prices.csv").read_bytes()
    )
    configure(project, endpoint)
    proc = project.finops("run", "--date", DAY)
    assert proc.returncode == 2, proc.stderr
    assert f"source 'usage_0' (s3://{BUCKET}/usage/**/*.jsonl.gz): no object matches" in proc.stderr


def load(tmp_path, storage: str, path: str = f"s3://{BUCKET}/usage/**/*.jsonl.gz"):
    config = tmp_path / "finops.toml"
    config.write_text(
        f'[warehouse]\npath = "wh/finops.duckdb"\n\n[[usage.sources]]\nkind = "canonical"\npath = "{path}"\n\n{storage}'
    )
    return load_config(config)


@pytest.mark.unit
def test_an_s3_path_is_kept_as_a_url_and_copied_under_the_data_folder(tmp_path):
    cfg = load(tmp_path, '[storage.s3]\nendpoint_url = "http://127.0.0.1:9000"\nurl_style = "path"\n')
    [src] = cfg.usage_sources
    assert src.object_url == f"s3://{BUCKET}/usage/**/*.jsonl.gz"
    assert src.path == tmp_path / "wh" / "finops.data" / "s3" / BUCKET / "usage" / "**" / "*.jsonl.gz"
    assert (cfg.s3.endpoint_url, cfg.s3.url_style, cfg.s3.access_key_id_env) == (
        "http://127.0.0.1:9000",
        "path",
        "AWS_ACCESS_KEY_ID",
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("storage", "path", "message"),
    [
        ('[storage.s3]\nurl_style = "virtual"\n', None, "key 'storage.s3.url_style' is 'virtual', expected one of: "),
        (
            '[storage.s3]\nendpoint_url = "minio:9000"\n',
            None,
            "key 'storage.s3.endpoint_url' is 'minio:9000', expected",
        ),
        ('[storage.s3]\nsecret_access_key = "x"\n', None, "unknown key 'storage.s3.secret_access_key'"),
        ("", f"s3://{BUCKET}", f"key 'usage.sources[0].path' is 's3://{BUCKET}', expected s3://bucket/key"),
    ],
)
def test_bad_storage_config_is_refused_naming_the_key(tmp_path, storage: str, path: str | None, message: str):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, storage, *([path] if path else []))


def test_a_one_file_kind_matching_two_objects_is_refused(tmp_path, endpoint: str, s3):
    for name in ("a.json", "b.json"):
        s3.put_object(Bucket=BUCKET, Key=f"catalog/{name}", Body=b"{}")
    storage = f"""
[[prices.sources]]
kind = "litellm_json"
name = "litellm"
path = "s3://{BUCKET}/catalog/*.json"

[storage.s3]
endpoint_url = "{endpoint}"
url_style = "path"
access_key_id_env = "FINOPS_S3_KEY"
secret_access_key_env = "FINOPS_S3_SECRET"
"""
    cfg = load(tmp_path, storage)
    with pytest.raises(
        StorageError,
        match=re.escape(
            "source 'litellm' (s3://finops-exports/catalog/*.json): kind "
            "'litellm_json' reads one file, but 2 objects match"
        ),
    ):
        land_objects(cfg, cfg.price_sources)
