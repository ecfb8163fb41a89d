"""Vendor usage exports for the benchmark: the calls of a canonical usage file written again as each vendor kind
writes them (a per-request log line each; OTel: one OTLP export of one span a line), with the mapping that reads
them back. Written by DuckDB from the canonical file, so that 1M records of each take seconds.

    python benchmarks/vendor_exports.py CANONICAL.jsonl OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from core.config import Lookup, UsageMapping
from core.sql_literals import sql_str

ASKED = {"tenant_id": Lookup(field="metadata.tenant"), "feature": Lookup(field="metadata.feature")}

# kind -> (file name, the mapping that reads it, the select that writes one line of it from a canonical call)
KINDS: dict[str, tuple[str, UsageMapping, str]] = {
    "openai_usage": (
        "openai_chat_log.jsonl",
        UsageMapping(where="bench", lookups=ASKED, response_field="response"),
        """select {'id': event_id, 'object': 'chat.completion', 'created': epoch(occurred_at)::bigint,
                   'model': model, 'service_tier': 'default',
                   'usage': {'prompt_tokens': input_tokens, 'completion_tokens': output_tokens,
                             'total_tokens': input_tokens + output_tokens,
                             'prompt_tokens_details': {'cached_tokens': cache_read_tokens},
                             'completion_tokens_details': {'reasoning_tokens': reasoning_tokens}}} as response,
                  {'tenant': tenant_id, 'feature': feature} as metadata""",
    ),
    "anthropic_usage": (
        "anthropic_messages_log.jsonl",
        UsageMapping(where="bench", lookups={**ASKED, "occurred_at": Lookup(field="ts")}, response_field="response"),
        """select strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%gZ') as ts,
                  {'id': event_id, 'type': 'message', 'role': 'assistant', 'model': model,
                   'usage': {'input_tokens': input_tokens - coalesce(cache_read_tokens, 0)
                                             - coalesce(cache_write_tokens, 0),
                             'cache_creation_input_tokens': coalesce(cache_write_tokens, 0),
                             'cache_read_input_tokens': coalesce(cache_read_tokens, 0),
                             'output_tokens': output_tokens, 'service_tier': 'standard'}} as response,
                  {'tenant': tenant_id, 'feature': feature} as metadata""",
    ),
    "gemini_usage": (
        "gemini_log.jsonl",
        UsageMapping(where="bench", lookups=ASKED, response_field="response"),
        """select {'responseId': event_id, 'modelVersion': model,
                   'createTime': strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%fZ'),
                   'usageMetadata': {'promptTokenCount': input_tokens, 'candidatesTokenCount': output_tokens,
                                     'cachedContentTokenCount': cache_read_tokens,
                                     'totalTokenCount': input_tokens + output_tokens}} as response,
                  {'tenant': tenant_id, 'feature': feature} as metadata""",
    ),
    "otel_genai": (
        "otel_spans.jsonl",
        UsageMapping(
            where="bench", lookups={"tenant_id": Lookup(field="tenant.id"), "feature": Lookup(field="app.feature")}
        ),
        """select [{'resource': {'attributes': [{'key': 'tenant.id', 'value': json_object('stringValue', tenant_id)}]},
                    'scopeSpans': [{'spans': [{
                        'traceId': md5(event_id), 'spanId': left(md5(event_id || 's'), 16),
                        'name': 'chat ' || model,
                        'startTimeUnixNano': (epoch_us(occurred_at) * 1000)::varchar,
                        'attributes': [
                            {'key': 'gen_ai.operation.name', 'value': json_object('stringValue', 'chat')},
                            {'key': 'gen_ai.provider.name', 'value': json_object('stringValue', provider)},
                            {'key': 'gen_ai.response.model', 'value': json_object('stringValue', model)},
                            {'key': 'app.feature', 'value': json_object('stringValue', feature)},
                            {'key': 'gen_ai.usage.input_tokens', 'value': json_object('intValue', input_tokens::varchar)},
                            {'key': 'gen_ai.usage.output_tokens', 'value': json_object('intValue', output_tokens::varchar)}
                        ]}]}]}] as resourceSpans""",
    ),
    "litellm_spend_logs": (
        "litellm_spend_logs.jsonl",
        UsageMapping(
            where="bench",
            lookups={
                "tenant_id": Lookup(field="request_tags", prefix="tenant:"),
                "feature": Lookup(field="request_tags", prefix="feature:"),
            },
        ),
        """select event_id as request_id, 'acompletion' as call_type,
                  strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%f+00:00') as startTime, model,
                  provider as custom_llm_provider, input_tokens as prompt_tokens,
                  output_tokens as completion_tokens, 'False' as cache_hit, 'success' as status,
                  {'additional_usage_values': {'cache_read_input_tokens': cache_read_tokens}} as metadata,
                  ['tenant:' || tenant_id, 'feature:' || feature] as request_tags""",
    ),
}


def write_exports(canonical: Path, out_dir: Path) -> dict[str, Path]:
    """One file per vendor kind with the calls of the canonical JSONL file (its valid records); kind -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"""create temp table calls as
                    select * replace (cast(occurred_at as timestamp) as occurred_at)
                    from read_json({sql_str(str(canonical))}, format = 'newline_delimited', ignore_errors = true)
                    where event_id is not null and input_tokens is not null and output_tokens is not null
                      and try_cast(occurred_at as timestamp) is not null""")
    paths = {}
    for kind, (name, _, select) in KINDS.items():
        paths[kind] = out_dir / name
        con.execute(f"copy ({select} from calls) to {sql_str(str(paths[kind]))} (format json)")
    con.close()
    return paths


if __name__ == "__main__":
    for kind, path in write_exports(Path(sys.argv[1]), Path(sys.argv[2])).items():
        print(kind, path)
