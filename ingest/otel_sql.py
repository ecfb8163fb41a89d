"""kind = "otel_genai" mapped in DuckDB SQL, like the log lines of the other kinds (ingest/vendor_sql.py): a line of
a JSON lines export is an OTLP export (resourceSpans / scopeSpans / spans) and each model-call span in it becomes a
record exactly as ingest/usage_otel.py makes it; the other spans are skipped and counted.

A line is mapped here only when the reader would read every span in it the same way: each span is a JSON object
whose compact text (DuckDB's) has no fractional number (see raw_ok), with traceId and spanId non-empty text,
startTimeUnixNano digits (as text or a number), and the attributes read as text, as whole numbers (intValue digits
in text or a JSON number) or nothing (not an array or key/value list). Any other line is the reader's, whole, so
quarantine reasons, lines and raw text stay the reader's. The SQL gives one row per span of a mapped line and one
row per line left to the reader (mapped_spans_sql). A mapped span's raw text is its compact text: a quarantined
record shows Python's JSON of it, as the reader's (usage_exports.RAW_TEXT).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from core.config import UsageMapping
from core.sql_literals import sql_str
from ingest.usage_canonical import COLUMNS
from ingest.usage_otel import MODEL_CALLS
from ingest.vendor_records import PROVIDERS, SERVICE_TIERS
from ingest.vendor_sql import (
    NotInSql,
    absent,
    count,
    count_ok,
    is_text,
    json_text_of,
    json_type_of,
    lookup_sql,
    named,
    named_ok,
    text,
    text_ok,
)

# the parts of a line and of a span the SQL reads (json_transform structures; values as JSON text)
ATTRIBUTES = [{"key": "JSON", "value": "JSON"}]
EXPORT = {"resourceSpans": [{"resource": {"attributes": ATTRIBUTES}, "scopeSpans": [{"spans": ["JSON"]}]}]}
SPAN = {"traceId": "JSON", "spanId": "JSON", "startTimeUnixNano": "JSON", "status": "JSON", "attributes": ATTRIBUTES}
_ERROR_CODES = "('2', 'STATUS_CODE_ERROR')"  # usage_otel._ERROR: 2 as a number or as text, or the enum's name


@dataclass
class Attributes:
    """The attributes one statement reads of each span: `at` gives the name <a> of an attribute's value, whose
    columns are then <a>_j (the AnyValue's inner JSON value, usage_otel.any_value), <a>_t (its JSON type: NULL
    when there is none), <a>_s (its text), <a>_n (a whole number >= 0, as a JSON number or digits in text, else
    NULL), <a>_kind (the AnyValue's kind, e.g. stringValue) and <a>_p (the key is among the attributes); a lookup
    field reads the span's attribute, else the resource's (usage_otel.records' find)."""

    names: list[tuple[str, bool]] = field(default_factory=list)  # (attribute name, then the resource's)
    counted: set[str] = field(default_factory=set)  # the names of those read as counts (<a>_n)

    def at(self, name: str, *, resource: bool = False) -> str:
        if any(c in name for c in '"\\') or not name.isprintable():
            raise NotInSql(name)
        if (name, resource) not in self.names:
            self.names.append((name, resource))
        return f"a{self.names.index((name, resource)) + 1}"

    def count_at(self, name: str) -> str:
        """`at` of an attribute read as a count."""
        self.counted.add(self.at(name))
        return self.at(name)

    def lookup(self, name: str) -> str:
        return self.at(name, resource=True)

    def columns(self) -> tuple[str, str]:
        """SQL of every attribute's (value, presence) from `attributes` and `resource`, then its typed columns."""
        picked = []
        for i, (name, resource) in enumerate(self.names, start=1):
            key = sql_str(json.dumps(name, ensure_ascii=False))
            span = f"list_filter(attributes, e -> e.key = {key})"
            picked.append(f"{span}[-1].value as a{i}_v0, len({span}) > 0 as a{i}_p")
            if resource:  # the span's attribute when the span has the key, else the resource's
                picked.append(f"list_filter(resource, e -> e.key = {key})[-1].value as a{i}_rv")
        typed = []
        for i, (_, resource) in enumerate(self.names, start=1):
            v = f"(case when a{i}_p then a{i}_v0 else a{i}_rv end)" if resource else f"a{i}_v0"
            typed.append(f"json_keys({v})[1] as a{i}_kind, json_extract({v}, '$.*')[1] as a{i}_j")
        return ", ".join(picked), ", ".join(typed)

    def values(self) -> str:
        return ", ".join(
            f"{json_type_of(f'a{i}_j')} as a{i}_t, {json_text_of(f'a{i}_j')} as a{i}_s"
            for i in range(1, len(self.names) + 1)
        )

    def counts(self) -> str:
        return ", ".join(
            f"case when {a}_t = 'UBIGINT' then try_cast({a}_s as bigint) when {a}_t = 'VARCHAR' and "
            f"regexp_full_match({a}_s, '[0-9]{{1,18}}') then cast({a}_s as bigint) end as {a}_n"
            for a in sorted(self.counted)
        )

    def plain(self) -> str:
        """SQL: no attribute read is an array or a key/value list (the reader's Python lists and dicts)."""
        return " and ".join(
            f"coalesce(a{i}_kind not in ('arrayValue', 'kvlistValue'), true)" for i in range(1, len(self.names) + 1)
        )


def raw_ok(x: str) -> str:
    """Compact JSON text x (DuckDB's) that Python's json.loads reads as it reads the span's own text: no number
    written with a fraction or an exponent (a float, or an integer too large for 64 bits: DuckDB writes those as
    doubles), no escaped UTF-16 surrogate. (A number-like text in a string after ':' or ',' sends its line to the
    reader too: it is only slower.)"""
    return f"not regexp_matches({x}, '[:,\\[]-?[0-9]+[.eE]|\\\\u[dD][89a-fA-F]')"


def _first_count(a: Attributes, name: str, deprecated: str, *, required: str) -> tuple[str, str]:
    """(ok, value) of usage_otel._first_count: the count under its name, else under its deprecated name."""
    x, old = a.count_at(name), a.count_at(deprecated)
    use_old = f"({old}_p and not {x}_p)"
    ok_x = f"(case when {required} then {count_ok(x, required=True)} else {count_ok(x)} end)"
    ok_old = f"(case when {required} then {count_ok(old, required=True)} else {count_ok(old)} end)"
    return f"(case when {use_old} then {ok_old} else {ok_x} end)", f"(case when {use_old} then {old}_n else {x}_n end)"


def _either(first: str, second: str) -> str:
    """SQL of Python's `first or second` of two attributes read as text."""
    return f"(case when coalesce({text(first)}, '') <> '' then {text(first)} else {text(second)} end)"


def mapped_spans_sql(mapping: UsageMapping, lines: str) -> str:
    """SQL over `lines` (line_no, line) giving line_no, line, accepted, skipped and every canonical column as
    VARCHAR: one row per span of a line mapped here (accepted; `line` is the span's raw text; skipped: not a model
    call) and one row per line left to the reader (not accepted; `line` is the line). Raises NotInSql when the
    mapping cannot be said in SQL."""
    a = Attributes()
    op = a.at("gen_ai.operation.name")
    model_call = (
        f"coalesce(({is_text(op)} and {text(op)} in ({', '.join(sql_str(c) for c in MODEL_CALLS)})) or "
        f"({absent(op)} and ({a.at('gen_ai.usage.input_tokens')}_p or {a.at('gen_ai.usage.prompt_tokens')}_p)), false)"
    )
    embeddings = f"coalesce({is_text(op)} and {text(op)} = 'embeddings', false)"
    input_ok, input_tokens = _first_count(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", required="true")
    output_ok, output_tokens = _first_count(
        a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", required=f"not {embeddings}"
    )
    optional = {
        "cache_read_tokens": a.count_at("gen_ai.usage.cache_read.input_tokens"),
        "cache_write_tokens": a.count_at("gen_ai.usage.cache_creation.input_tokens"),
        "reasoning_tokens": a.count_at("gen_ai.usage.reasoning.output_tokens"),
    }
    texts = [
        a.at(n) for n in ("gen_ai.provider.name", "gen_ai.system", "gen_ai.response.model", "gen_ai.request.model")
    ]
    provider, model = _either(*texts[:2]), _either(*texts[2:])
    tier_attribute = a.at("openai.response.service_tier")
    texts.append(tier_attribute)
    tier = text(tier_attribute)
    start = "start_t = 'UBIGINT' or (start_t = 'VARCHAR' and regexp_full_match(start_s, '[0-9]{1,19}'))"
    ok = [
        "span_t = 'OBJECT'",
        raw_ok("span"),
        "trace_t = 'VARCHAR' and trace_s <> '' and span_id_t = 'VARCHAR' and span_id_s <> ''",
        f"(start_t is null or start_t = 'NULL' or {start})",
        "coalesce(code_t <> 'DOUBLE', true)",  # 2.0 == 2 in Python: the reader's
        input_ok,
        output_ok,
        *(count_ok(x) for x in optional.values()),
        *(text_ok(x) for x in texts),
        named_ok(provider),
        named_ok(tier),
    ]
    nanos = "cast(start_s as hugeint)"
    micros = f"cast({nanos} % 1000000000 // 1000 as integer)"
    values = {
        "event_id": "trace_s || '-' || span_id_s",
        # usage_otel's from_unix: datetime.isoformat(), microseconds only when there are some
        "occurred_at": f"""(case when start_s is not null then
            strftime(make_timestamp(cast({nanos} // 1000000000 as bigint) * 1000000), '%Y-%m-%dT%H:%M:%S')
            || case when {micros} > 0 then '.' || lpad({micros}::varchar, 6, '0') else '' end || '+00:00' end)""",
        "provider": named(provider, PROVIDERS),
        "model": model,
        "service_tier": named(tier, SERVICE_TIERS),
        "status": f"(case when (code_t = 'UBIGINT' and code_s = '2') or (code_t = 'VARCHAR' and code_s in "
        f"{_ERROR_CODES}) then 'error' else 'success' end)",
        "input_tokens": input_tokens,
        "output_tokens": f"coalesce({output_tokens}, 0)",
        **{column: count(x) for column, x in optional.items()},
    }
    for column, lookup in mapping.lookups.items():
        lookup_ok, values[column] = lookup_sql(a.lookup, column, lookup)
        ok.append(lookup_ok)
    accepted = f"({model_call} and {' and '.join(f'coalesce({c}, false)' for c in ok)})"
    span_ok = f"coalesce(span_t = 'OBJECT' and {a.plain()} and (not {model_call} or {accepted}), false)"
    columns = ", ".join(f"cast({values.get(c, 'null')} as varchar) as {c}" for c in COLUMNS)
    picked, typed = a.columns()
    spans = """flatten(list_transform(coalesce(x.resourceSpans, []), r -> flatten(list_transform(
                   coalesce(r.scopeSpans, []), ss -> list_transform(coalesce(ss.spans, []),
                   sp -> {'span': sp, 'resource': r.resource.attributes})))))"""
    return f"""
        with exports as (
            select line_no, line, line_ok, case when line_ok then {spans} end as spans
            from (select line_no, line, line_ok,
                         case when line_ok then json_transform(line, {sql_str(json.dumps(EXPORT))}) end as x
                  from (select line_no, line, coalesce(t[1] = 'OBJECT' and t[2] = 'ARRAY', false) as line_ok
                        from (select line_no, line, try(json_type(line, ['$', '$.resourceSpans'])) as t
                              from {lines})))
        ),
        span_rows as (
            select *, {a.counts()}
            from (select *, {a.values()},
                         json_type(code) as code_t, code ->> '$' as code_s
                  from (select *, {typed}, {json_text_of("s.traceId")} as trace_s, {json_type_of("s.traceId")} as trace_t,
                               {json_text_of("s.spanId")} as span_id_s, {json_type_of("s.spanId")} as span_id_t,
                               {json_text_of("s.startTimeUnixNano")} as start_s,
                               {json_type_of("s.startTimeUnixNano")} as start_t,
                               case when json_type(s.status) = 'OBJECT' then s.status -> '$.code' end as code
                        from (select *, {picked}
                              from (select line_no, span, json_type(span) as span_t, resource, s,
                                           coalesce(s.attributes, []) as attributes
                                    from (select line_no, u.span as span, u.resource as resource,
                                                 json_transform(u.span, {sql_str(json.dumps(SPAN))}) as s
                                          from (select line_no, unnest(spans) as u from exports where line_ok))))))
        ),
        checked as (select *, {span_ok} as span_ok from span_rows),
        left_lines as (select distinct line_no from checked where not span_ok)
        select line_no, cast(span as varchar) as line, true as accepted, not {model_call} as skipped, {columns}
        from checked
        where line_no not in (select line_no from left_lines)
        union all
        select line_no, line, false, false, {", ".join(f"null as {c}" for c in COLUMNS)}
        from exports
        where not line_ok or line_no in (select line_no from left_lines)"""
