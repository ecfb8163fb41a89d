"""The per-request log lines of the vendor kinds mapped to canonical records in DuckDB SQL, at the speed of a
canonical file: a block of a JSON lines export is one table of lines, and one statement maps the lines it is sure
of; the others go through the kind's Python reader (ingest/usage_<vendor>.py), which gives a bad record its exact
reason, skips what is not a model call and reads the shapes this SQL leaves to it.

A line is mapped here only when it is a JSON object whose fields have the plain types the reader reads the same
way: text as JSON strings, counts as JSON whole numbers >= 0, times as the reader spells them. Anything else (a
count as text or negative, a missing required count, a lookup value that needs trimming or is not in its map, a
batch result, a cache hit, a JSON array of records) is left to the reader, so every record comes out exactly as the
reader would make it (mapped_lines_sql: `accepted` says which lines were mapped, and each canonical column is
VARCHAR as the reader's values are). The spans of an `otel_genai` export are mapped by ingest/otel_sql.py.

Each kind declares the fields it reads (paths in the log record, or in the response at response_field) and the SQL
of each canonical column; the config's lookups (core.config.Lookup) become SQL the same way for every kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from core.config import Lookup, UsageMapping
from core.sql_literals import sql_str
from ingest.usage_anthropic import BATCH_MESSAGE
from ingest.usage_canonical import COLUMNS
from ingest.vendor_records import PROVIDERS, REQUIRED, SERVICE_TIERS, BadRecord, as_time

MISSING = "MISSING"  # the type of a key that is not there (type_of)


class NotInSql(Exception):
    """The mapping cannot be said in SQL (a field name with a quote in it, a constant that is not a time): the
    Python reader reads every line."""


@dataclass
class Fields:
    """The JSON values one statement reads of each line: the leaves (`at`) in one json_transform of the line to a
    struct of JSON values, each then once as its JSON type (<f>_t: NULL when missing or null), its text (<f>_s), its
    count (<f>_n: a JSON whole number >= 0, else NULL) and itself (<f>_j), where <f> is what `at` returns; and the
    JSON types of the objects and keys whose presence the reader tests (`type_of`: 'OBJECT', 'NULL', ..., MISSING
    when missing), in one json_type of the line with a list of paths."""

    leaves: list[tuple[str, ...]] = field(default_factory=list)
    typed: list[tuple[str, ...]] = field(default_factory=list)

    def at(self, dotted: str) -> str:
        """The name of the JSON value at a dotted path of the log record."""
        keys = tuple(dotted.split("."))
        if keys not in self.leaves:
            self.leaves.append(keys)
        return f"f{self.leaves.index(keys) + 1}"

    def type_of(self, dotted: str) -> str:
        """SQL of the JSON type of the value at a dotted path of the log record."""
        keys = tuple(dotted.split("."))
        if keys not in self.typed:
            self.typed.append(keys)
        return f"coalesce(t[{self.typed.index(keys) + 2}], '{MISSING}')"  # t[1]: the line's own type

    def structure(self) -> str:
        """The json_transform structure of the leaves. Raises NotInSql when a leaf is inside another."""
        tree: dict = {}
        for keys in self.leaves:
            node = tree
            for key in keys[:-1]:
                node = node.setdefault(key, {})
                if not isinstance(node, dict):
                    raise NotInSql(".".join(keys))
            if keys[-1] in node:
                raise NotInSql(".".join(keys))
            node[keys[-1]] = "JSON"
        return json.dumps(tree)

    def type_paths(self) -> str:
        """The paths of json_type's list: the line, then the typed paths."""
        paths = ["$"] + ["$" + "".join(f".{json.dumps(k)}" for k in keys) for keys in self.typed]
        return "[" + ", ".join(sql_str(p) for p in paths) + "]"

    def columns(self) -> tuple[str, str]:
        """SQL of the columns of every leaf: (from the struct `s`, then the counts from those)."""
        values = ", ".join(
            f"{self._in_s(keys)} as f{i}_j, {json_type_of(f'f{i}_j')} as f{i}_t, {json_text_of(f'f{i}_j')} as f{i}_s"
            for i, keys in enumerate(self.leaves, start=1)
        )
        counts = ", ".join(
            f"case when f{i}_t = 'UBIGINT' then try_cast(cast(f{i}_j as varchar) as bigint) end as f{i}_n"
            for i in range(1, len(self.leaves) + 1)
        )
        return values, counts

    @staticmethod
    def _in_s(keys: tuple[str, ...]) -> str:
        return "s" + "".join(f"[{sql_str(k)}]" for k in keys)


def json_type_of(j: str) -> str:
    """json_type of a JSON value as json_transform writes it (compact; SQL NULL for a JSON null), told by its first
    byte when it is a string, an object or an array, without parsing it again."""
    return (
        f"(case ascii({j}) when 34 then 'VARCHAR' when 123 then 'OBJECT' when 91 then 'ARRAY' else json_type({j}) end)"
    )


def json_text_of(j: str) -> str:
    """`j ->> '$'` of a JSON value as json_transform writes it: a string with no escape in it is the text between its
    quotes, without parsing it again."""
    return f"(case when ascii({j}) = 34 and not contains({j}, '\\') then substr({j}, 2, length({j}) - 2) else {j} ->> '$' end)"


def absent(x: str) -> str:
    """The reader's None: a missing key or a JSON null."""
    return f"({x}_t is null or {x}_t = 'NULL')"


def is_text(x: str) -> str:
    return f"{x}_t = 'VARCHAR'"


def text_ok(x: str) -> str:
    """A value the reader passes on as text: a JSON string, or nothing."""
    return f"({absent(x)} or {is_text(x)})"


def text(x: str) -> str:
    return f"{x}_s"


def count_ok(x: str, *, required: bool = False) -> str:
    """A token count read like vendor_records.count: a JSON whole number >= 0 (or nothing, when not required)."""
    return f"{x}_n is not null" if required else f"({absent(x)} or {x}_n is not null)"


def count(x: str) -> str:
    return f"{x}_n"


def total(*counts: str) -> str:
    return "(" + " + ".join(f"coalesce({c}, 0)" for c in counts) + ")"


def first_count_ok(first: str, second: str) -> str:
    """ok for `first`, else `second` when first is None (the reader reads the second only then)."""
    return f"({count_ok(first)} and ({count(first)} is not null or {count_ok(second)}))"


def plain_word(x: str) -> str:
    """ASCII letters, digits, '_', '.', '-' only: text the reader's strip() and lower() leave as DuckDB's would."""
    return f"regexp_full_match({x}, '[A-Za-z0-9_.-]+')"


def named(x: str, names: dict[str, str]) -> str:
    """vendor_records.provider_name / service_tier of text x (a plain word or empty): lowered, renamed."""
    cases = " ".join(f"when {sql_str(k)} then {sql_str(v)}" for k, v in names.items())
    return f"(case lower(nullif({x}, '')) {cases} else lower(nullif({x}, '')) end)"


def named_ok(x: str) -> str:
    return f"({x} is null or {x} = '' or {plain_word(x)})"


@dataclass(frozen=True)
class Mapped:
    """A kind's SQL for one line: `ok` (the line is mapped here) and canonical column -> SQL of its value; `steps`:
    named values computed first, one after the other (each may use the ones before), so that ok and the values
    use them by name rather than repeating their SQL."""

    ok: list[str]
    values: dict[str, str]
    steps: tuple[tuple[str, str], ...] = ()


def openai(f: Fields, r: Callable[[str], str]) -> Mapped:
    """ingest/usage_openai.py _response: Chat Completions (usage.prompt_tokens present) or Responses API."""
    chat = f"({f.type_of(r('usage.prompt_tokens'))} <> '{MISSING}')"  # "prompt_tokens" in usage
    names = {
        "input_tokens": ("usage.prompt_tokens", "usage.input_tokens", True),
        "cache_read_tokens": ("usage.prompt_tokens_details.cached_tokens", "usage.input_tokens_details.cached_tokens"),
        "cache_write_tokens": (
            "usage.prompt_tokens_details.cache_write_tokens",
            "usage.input_tokens_details.cache_write_tokens",
        ),
        "output_tokens": ("usage.completion_tokens", "usage.output_tokens", True),
        "reasoning_tokens": (
            "usage.completion_tokens_details.reasoning_tokens",
            "usage.output_tokens_details.reasoning_tokens",
        ),
    }
    ok, values = [f"{f.type_of(r('usage'))} = 'OBJECT'"], {}
    for column, (chat_path, responses_path, *required) in names.items():
        a, b = f.at(r(chat_path)), f.at(r(responses_path))
        ok.append(
            f"(case when {chat} then {count_ok(a, required=bool(required))} "
            f"else {count_ok(b, required=bool(required))} end)"
        )
        values[column] = f"(case when {chat} then {count(a)} else {count(b)} end)"
    # resp.get("created", resp.get("created_at")): a whole number of unix seconds, or nothing
    key, at = f.at(r("created")), f.at(r("created_at"))
    present = f"({f.type_of(r('created'))} <> '{MISSING}')"
    created = f"(case when {present} then {key}_n else {at}_n end)"
    no_time = f"(case when {present} then {absent(key)} else {absent(at)} end)"
    ok.append(f"({no_time} or {created} < 253402300800)")  # (before the year 10000)
    occurred_at = f"strftime(make_timestamp({created} * 1000000), '%Y-%m-%dT%H:%M:%S+00:00')"
    tier, status = f.at(r("service_tier")), f.at(r("status"))
    ok += [text_ok(f.at(r("id"))), text_ok(f.at(r("model"))), text_ok(tier)]
    ok += [named_ok(text(tier)), text_ok(status)]
    values |= {
        "event_id": text(f.at(r("id"))),
        "occurred_at": occurred_at,
        "provider": "'openai'",
        "model": text(f.at(r("model"))),
        "service_tier": named(text(tier), SERVICE_TIERS),
        "status": f"(case {text(status)} when 'failed' then 'error' when 'cancelled' then 'cancelled' "
        "else 'success' end)",
    }
    return Mapped(ok, values)


def anthropic(f: Fields, r: Callable[[str], str]) -> Mapped:
    """ingest/usage_anthropic.py _message (a Messages response; a Message Batches result is the reader's)."""
    uncached, read = f.at(r("usage.input_tokens")), f.at(r("usage.cache_read_input_tokens"))
    creation = f.at(r("usage.cache_creation_input_tokens"))
    w5 = f.at(r("usage.cache_creation.ephemeral_5m_input_tokens"))
    w1 = f.at(r("usage.cache_creation.ephemeral_1h_input_tokens"))
    is_split = f"({f.type_of(r('usage.cache_creation'))} = 'OBJECT')"
    write_5m = f"(case when {is_split} then coalesce({count(w5)}, 0) else {count(creation)} end)"
    write_1h = f"(case when {is_split} then coalesce({count(w1)}, 0) end)"
    tier = f.at(r("usage.service_tier"))
    output, thinking = f.at(r("usage.output_tokens")), f.at(r("usage.output_tokens_details.thinking_tokens"))
    ok = [
        f"{f.type_of(r('usage'))} = 'OBJECT'",
        count_ok(uncached, required=True),
        count_ok(read),
        count_ok(creation),
        f"(not {is_split} or ({count_ok(w5)} and {count_ok(w1)} and ({count(creation)} is null or "
        f"{count(creation)} = coalesce({count(w5)}, 0) + coalesce({count(w1)}, 0))))",
        count_ok(output, required=True),
        count_ok(thinking),
        text_ok(f.at(r("id"))),
        text_ok(f.at(r("model"))),
        text_ok(tier),
        named_ok(text(tier)),
    ]
    return Mapped(
        ok,
        {
            "event_id": text(f.at(r("id"))),
            "provider": "'anthropic'",
            "model": text(f.at(r("model"))),
            "service_tier": named(text(tier), SERVICE_TIERS),
            "input_tokens": total(count(uncached), write_5m, write_1h, count(read)),
            "cache_read_tokens": count(read),
            "cache_write_tokens": write_5m,
            "cache_write_1h_tokens": write_1h,
            "output_tokens": count(output),
            "reasoning_tokens": count(thinking),
        },
    )


def gemini(f: Fields, r: Callable[[str], str]) -> Mapped:
    """ingest/usage_gemini.py _response."""
    prompt, tool = f.at(r("usageMetadata.promptTokenCount")), f.at(r("usageMetadata.toolUsePromptTokenCount"))
    cached, candidates = f.at(r("usageMetadata.cachedContentTokenCount")), f.at(r("usageMetadata.candidatesTokenCount"))
    thoughts = f.at(r("usageMetadata.thoughtsTokenCount"))
    ok = [f"{f.type_of(r('usageMetadata'))} = 'OBJECT'"]
    ok += [count_ok(c) for c in (prompt, tool, cached, candidates, thoughts)]
    ok += [text_ok(f.at(r(p))) for p in ("responseId", "createTime", "modelVersion")]
    return Mapped(
        ok,
        {
            "event_id": text(f.at(r("responseId"))),
            "occurred_at": text(f.at(r("createTime"))),
            "provider": "'google'",
            "model": text(f.at(r("modelVersion"))),
            "input_tokens": total(count(prompt), count(tool)),
            "cache_read_tokens": f"coalesce({count(cached)}, 0)",
            "output_tokens": total(count(candidates), count(thoughts)),
            "reasoning_tokens": f"coalesce({count(thoughts)}, 0)",
        },
    )


LITELLM_USAGE = "metadata.additional_usage_values."


def litellm(f: Fields, r: Callable[[str], str]) -> Mapped:
    """ingest/usage_litellm.py _row of a row that is the line (a page or an array of rows is the reader's)."""
    a = {
        p: f.at(LITELLM_USAGE + p)
        for p in (
            "prompt_tokens_details.cached_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
            "prompt_tokens_details.cache_creation_tokens",
            "prompt_tokens_details.cache_creation_token_details.ephemeral_1h_input_tokens",
            "completion_tokens_details.reasoning_tokens",
        )
    }
    cache_read = f"coalesce({count(a['prompt_tokens_details.cached_tokens'])}, {count(a['cache_read_input_tokens'])})"
    cache_write = (
        f"coalesce({count(a['cache_creation_input_tokens'])}, "
        f"{count(a['prompt_tokens_details.cache_creation_tokens'])})"
    )
    write_1h = count(a["prompt_tokens_details.cache_creation_token_details.ephemeral_1h_input_tokens"])
    steps = (
        ("provider0", f"nullif({text(f.at('custom_llm_provider'))}, '')"),
        ("model0", f"coalesce(nullif({text(f.at('model'))}, ''), nullif({text(f.at('model_group'))}, ''))"),
        # "anthropic/claude-sonnet-4-6" -> anthropic, claude-sonnet-4-6
        ("split", "contains(model0, '/') and (provider0 is null or starts_with(model0, provider0 || '/'))"),
        ("provider", "case when split then split_part(model0, '/', 1) else provider0 end"),
        ("model", "case when split then substr(model0, strpos(model0, '/') + 1) else model0 end"),
    )
    provider, model = "provider", "model"
    status, meta_status = f.at("status"), f.at("metadata.status")
    team, key = f.at("team_id"), f.at("api_key")
    cache_hit = f.at("cache_hit")
    ok = [
        # not a /spend/logs page, JSON columns as JSON (the reader decodes them from text), not a cache hit
        f"not ({f.type_of('data')} = 'ARRAY' and {f.type_of('request_id')} = '{MISSING}')",
        f"{f.type_of('metadata')} <> 'VARCHAR'",
        f"{f.type_of('request_tags')} <> 'VARCHAR'",
        f"({absent(cache_hit)} or ({cache_hit}_t = 'BOOLEAN' and {cache_hit}_s = 'false') or ({is_text(cache_hit)} and "
        f"not contains(lower({text(cache_hit)}), 'true')))",
        *(text_ok(f.at(c)) for c in ("custom_llm_provider", "model", "model_group", "request_id", "startTime")),
        named_ok(provider),
        count_ok(f.at("prompt_tokens"), required=True),
        count_ok(f.at("completion_tokens"), required=True),
        first_count_ok(a["prompt_tokens_details.cached_tokens"], a["cache_read_input_tokens"]),
        first_count_ok(a["cache_creation_input_tokens"], a["prompt_tokens_details.cache_creation_tokens"]),
        count_ok(a["prompt_tokens_details.cache_creation_token_details.ephemeral_1h_input_tokens"]),
        f"coalesce({write_1h}, 0) <= coalesce({cache_write}, 0)",
        count_ok(a["completion_tokens_details.reasoning_tokens"]),
        text_ok(status),
        text_ok(meta_status),
        text_ok(team),
        text_ok(key),
    ]
    return Mapped(
        ok,
        {
            "event_id": text(f.at("request_id")),
            "occurred_at": text(f.at("startTime")),
            "provider": named(provider, PROVIDERS),
            "model": model,
            "account_id": f"coalesce(nullif({text(team)}, ''), nullif({text(key)}, ''))",  # usage_litellm.account
            "status": f"(case coalesce(nullif({text(status)}, ''), {text(meta_status)}) when 'failure' then 'error' "
            "else 'success' end)",
            "input_tokens": count(f.at("prompt_tokens")),
            "cache_read_tokens": cache_read,
            "cache_write_tokens": f"({cache_write} - coalesce({write_1h}, 0))",
            "cache_write_1h_tokens": write_1h,
            "output_tokens": count(f.at("completion_tokens")),
            "reasoning_tokens": count(a["completion_tokens_details.reasoning_tokens"]),
        },
        steps,
    )


# kind -> its SQL mapping, given the fields and the path of a response field (r) in the log record
KINDS: dict[str, Callable[[Fields, Callable[[str], str]], Mapped]] = {
    "openai_usage": openai,
    "anthropic_usage": anthropic,
    "gemini_usage": gemini,
    "litellm_spend_logs": litellm,
}
PER_RESPONSE = ("openai_usage", "anthropic_usage", "gemini_usage")  # the response sits at response_field


def lookup_sql(at: Callable[[str], str], column: str, lookup: Lookup) -> tuple[str, str]:
    """(ok, value) of one config lookup, like usage_exports._looked_up, where `at` names the value of the lookup's
    field (Fields.at): the lines it cannot say are the reader's."""
    if lookup.value is not None:
        value = lookup.value
        if column == "occurred_at":
            try:
                value = as_time(value, "value")
            except BadRecord:
                raise NotInSql(column) from None
        return "true", sql_str(value)
    x = at(lookup.field)
    if lookup.prefix is not None:
        items = f"(case when {x}_t = 'ARRAY' then json_extract({x}_j, '$[*]') else [{x}_j] end)"
        picked = (
            f"list_filter({items}, e -> {json_type_of('e')} = 'VARCHAR' and "
            f"starts_with({json_text_of('e')}, {sql_str(lookup.prefix)}))"
        )
        found, found_ok = f"substr({picked}[1] ->> '$', {len(lookup.prefix) + 1})", "true"
    else:
        found = f"(case when {x}_t in ('VARCHAR', 'UBIGINT', 'BIGINT') then {x}_s end)"
        found_ok = f"({absent(x)} or {x}_t in ('VARCHAR', 'UBIGINT', 'BIGINT'))"
    # text the reader's strip() leaves as it is (ASCII, no space, at both ends); empty text is None
    stripped_ok = f"(coalesce({found}, '') = '' or (left({found}, 1) between '!' and '~' and right({found}, 1) between '!' and '~'))"
    given = f"nullif({found}, '')"
    fallback = sql_str(lookup.default) if lookup.default is not None else "null"
    none_ok = "true" if lookup.default is not None or column not in REQUIRED else f"{given} is not null"
    if lookup.map is None:
        value = f"coalesce({given}, {fallback})"
        map_ok = "true"
    else:
        cases = " ".join(f"when {sql_str(k)} then {sql_str(v)}" for k, v in lookup.map.items())
        value = f"(case {given} {cases} else {fallback} end)"
        keys = ", ".join(sql_str(k) for k in lookup.map)
        map_ok = "true" if lookup.default is not None else f"({given} is null or {given} in ({keys}))"
    ok = [found_ok, stripped_ok, none_ok, map_ok]
    if column == "occurred_at":  # a number would be unix seconds (as_time): the reader's
        ok.append(f"not regexp_full_match(coalesce({value}, ''), '\\s*\\d+(\\.\\d+)?\\s*')")
    return " and ".join(ok), value


def mapped_lines_sql(kind: str, mapping: UsageMapping, lines: str) -> str:
    """SQL over `lines` (line_no, line) giving line_no, line, accepted, skipped (never: a log line is one record)
    and every canonical column as VARCHAR.
    Raises NotInSql when the kind or the mapping cannot be said in SQL."""
    if kind not in KINDS:
        raise NotInSql(kind)
    f = Fields()
    response = mapping.response_field if kind in PER_RESPONSE else None
    mapped = KINDS[kind](f, lambda path: f"{response}.{path}" if response else path)
    ok = [f"{f.type_of(response)} = 'OBJECT'"] if response else []
    ok += mapped.ok
    values = dict(mapped.values)
    if kind == "anthropic_usage":  # a Message Batches result ({"custom_id", "result": {"type"}}) is the reader's
        batch = _anthropic_batch(response)
        if batch is not None:
            ok.append(
                f"not ({f.type_of(batch('custom_id'))} <> '{MISSING}' and {f.type_of(batch('result'))} = 'OBJECT' "
                f"and {f.type_of(batch('result.type'))} <> '{MISSING}')"
            )
    for column, lookup in mapping.lookups.items():
        lookup_ok, values[column] = lookup_sql(f.at, column, lookup)
        ok.append(lookup_ok)
    columns = ", ".join(f"cast({values.get(c, 'null')} as varchar) as {c}" for c in COLUMNS)
    extracted, counts = f.columns()
    accepted = " and ".join(f"coalesce({c}, false)" for c in ok)
    read = f"""
        select *, {counts}
        from (select line_no, line, t, {extracted}
              from (select line_no, line, t,
                           case when t[1] = 'OBJECT' then json_transform(line, {sql_str(f.structure())}) end as s
                    from (select line_no, line, try(json_type(line, {f.type_paths()})) as t  -- NULL: not JSON
                          from {lines})))"""
    for name, sql in mapped.steps:
        read = f"select *, {sql} as {name} from ({read})"
    return f"""
        select line_no, line, coalesce(t[1] = 'OBJECT' and {accepted}, false) as accepted,
               false as skipped, {columns}
        from ({read})"""


def _anthropic_batch(response: str | None) -> Callable[[str], str] | None:
    """Where usage_anthropic._response_of looks for a Message Batches result: the log record itself when
    response_field is unset or "result.message", the object before ".result.message" in it; None: nowhere."""
    suffix = "." + BATCH_MESSAGE
    if response in (None, BATCH_MESSAGE):
        return lambda path: path
    if response.endswith(suffix):
        return lambda path: f"{response.removesuffix(suffix)}.{path}"
    return None
