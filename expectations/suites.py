"""The expectation suites of the quality gate (docs/spec.md#quality-gate), reviewed like code.

One suite per finance table (keys, allowed values, signs, token arithmetic) and one per cross-table
concern (sums agreeing, self-hosted cost balancing, unpriced and quarantined shares, price freshness,
row counts). Each suite names the SQL of the rows it validates in the build database (all few except the per-request and
per-task tables, which are read with only the columns checked) and the Great Expectations expectations run on
them. Money columns that may be NULL (unpriced) are fetched as
`<column>_or_0` for the sign checks (no NULL filtering over 10M rows); NULL-ness is checked on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations.expectations as gxe

from core.vocabulary import PRICING_STATUSES, SERVICE_TIERS, STATUSES

# Sums are DECIMAL(38,12) in the build: equal means equal; the suites read them as doubles.
SAME_AMOUNT = 1e-6


@dataclass(frozen=True)
class Relations:
    """Where the suites find a build's relations, and the one aggregate the engines spell differently. The suites
    read marts only: the finance tables, and the unpublished gate_* marts (dbt_project/models/marts/gate/) for what
    the gate checks them against."""

    finance: str = "finance"  # the build's finance tables
    gate: str = "gate"  # the marts only the gate reads
    raw: str = "raw"  # its inputs (the dbt sources)
    distinct_list: str = "string_agg(distinct {0}, ', ')"  # the distinct non-NULL values of {0}, comma-separated


DUCKDB = Relations()


@dataclass(frozen=True)
class Limits:
    """The configurable thresholds ([quality] in the config)."""

    max_unpriced_share: float
    max_quarantined_share: float
    max_price_age_days: int
    min_requests_vs_trailing_week: float
    max_conflicting_share: float
    max_billing_gap_share: float = 0.02
    max_billing_gap_usd: float = 1.0
    billing_gap_blocks: bool = False  # else a billing gap is a warning: the run publishes


BILLING_GAP = "billing_gap"


def warning_suites(limits: Limits) -> frozenset[str]:
    """The labels of the suites whose failure is a warning (logged and reported; the run goes on and publishes)."""
    return frozenset() if limits.billing_gap_blocks else frozenset({f"gx.{BILLING_GAP}"})


@dataclass(frozen=True)
class Suite:
    name: str
    table: str  # the finance table it guards (its Dagster asset shows the check)
    guards: str  # what finance would otherwise see
    query: str  # the rows to validate, in the build database
    expectations: tuple
    example_columns: tuple[str, ...]  # the columns that identify a failing row in the report
    # a plain select of a per-call or per-task table: GX's queries read that table where it is (on DuckDB the rows of
    # every other suite are computed once, before GX reads them: expectations/gate.py)
    read_in_place: bool = False

    @property
    def label(self) -> str:
        """The suite's name in check results and finance.data_quality_results (dbt tests are 'dbt')."""
        return f"gx.{self.name}"


def _not_negative(*columns: str) -> list:
    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in columns]


def _keys(*columns: str) -> list:
    if len(columns) == 1:
        return [
            gxe.ExpectColumnValuesToNotBeNull(column=columns[0]),
            gxe.ExpectColumnValuesToBeUnique(column=columns[0]),
        ]
    return [
        *(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in columns),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns)),
    ]


def _same(column: str = "difference") -> gxe.ExpectColumnValuesToBeBetween:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=-SAME_AMOUNT, max_value=SAME_AMOUNT)


def _in_build_days(column: str, days: list[str]) -> gxe.ExpectColumnValuesToBeInSet:
    return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=days)


def build_suites(
    limits: Limits, days: list[str], relations: Relations = DUCKDB, allow_empty: bool = False
) -> list[Suite]:
    """Every suite of the gate for a build of `days` (ISO dates), reading the build's `relations`; allow_empty
    (`--allow-empty`): a day with no usage record is not checked against its trailing week."""
    finance, gate, raw = relations.finance, relations.gate, relations.raw
    tokens = (
        "input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
        "reasoning_tokens",
    )
    return [
        Suite(
            "fct_llm_requests",
            "fct_llm_requests",
            "duplicate or unidentified calls, negative tokens or costs, cache tokens above the prompt, "
            "reasoning above the output, rows outside the run's days, unknown status/tier, a priced call "
            "without a cost or an unpriced call with one (unpriced is never $0)",
            f"""select event_id, cast(usage_date as string) as usage_date, {", ".join(tokens)},
                       cache_read_tokens + cache_write_tokens + cache_write_1h_tokens as cache_tokens,
                       cast(coalesce(cost_usd, 0) as double) as cost_usd_or_0,
                       cast(coalesce(list_cost_usd, 0) as double) as list_cost_usd_or_0,
                       cost_usd is null as cost_is_null, pricing_status = 'unpriced' as is_unpriced,
                       status, service_tier, pricing_status
                from {finance}.fct_llm_requests""",
            (
                *_keys("event_id"),
                gxe.ExpectColumnValuesToNotBeNull(column="usage_date"),
                _in_build_days("usage_date", days),
                *_not_negative(*tokens, "cost_usd_or_0", "list_cost_usd_or_0"),
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="input_tokens", column_B="cache_tokens", or_equal=True
                ),
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="output_tokens", column_B="reasoning_tokens", or_equal=True
                ),
                gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(STATUSES)),
                gxe.ExpectColumnValuesToBeInSet(column="service_tier", value_set=list(SERVICE_TIERS)),
                gxe.ExpectColumnValuesToBeInSet(column="pricing_status", value_set=list(PRICING_STATUSES)),
                # a cost exactly when priced: NULL for unpriced calls (never $0), present for every other call
                gxe.ExpectColumnPairValuesToBeEqual(column_A="cost_is_null", column_B="is_unpriced"),
            ),
            ("event_id", "usage_date", "pricing_status"),
            read_in_place=True,
        ),
        Suite(
            "fct_llm_tasks",
            "fct_llm_tasks",
            "duplicate tasks, negative costs or tokens, tasks without requests or with more failed requests "
            "than requests",
            f"""select task_id, cast(usage_date as string) as usage_date, requests,
                      failed_requests, retries, cast(coalesce(cost_usd, 0) as double) as cost_usd_or_0,
                      cast(coalesce(retry_cost_usd, 0) as double) as retry_cost_usd_or_0, input_tokens, output_tokens
               from {finance}.fct_llm_tasks""",
            (
                *_keys("task_id"),
                gxe.ExpectColumnValuesToBeBetween(column="requests", min_value=1),
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="requests", column_B="failed_requests", or_equal=True
                ),
                *_not_negative(
                    "failed_requests",
                    "retries",
                    "input_tokens",
                    "output_tokens",
                    "cost_usd_or_0",
                    "retry_cost_usd_or_0",
                ),
            ),
            ("task_id", "usage_date"),
            read_in_place=True,
        ),
        Suite(
            "agg_cost_daily",
            "agg_cost_daily",
            "a day/tenant/feature/model counted twice, rows outside the run's days, negative sums, "
            "a cache hit rate outside 0..1",
            f"""select cast(usage_date as string) as usage_date, tenant_id, feature, provider, model, requests,
                      input_tokens, output_tokens, cast(cost_usd as double) as cost_usd,
                      cast(retry_cost_usd as double) as retry_cost_usd, cache_hit_rate, unpriced_requests
               from {finance}.agg_cost_daily""",
            (
                *_keys("usage_date", "tenant_id", "feature", "provider", "model"),
                _in_build_days("usage_date", days),
                *_not_negative(
                    "requests", "input_tokens", "output_tokens", "cost_usd", "retry_cost_usd", "unpriced_requests"
                ),
                gxe.ExpectColumnValuesToBeBetween(column="cache_hit_rate", min_value=0, max_value=1),
            ),
            ("usage_date", "tenant_id", "feature", "provider", "model"),
        ),
        Suite(
            "showback_weekly",
            "showback_weekly",
            "a week/tenant/feature counted twice, negative costs",
            f"""select cast(week_start as string) as week_start, tenant_id, feature,
                      cast(cost_usd as double) as cost_usd, cast(prior_week_cost_usd as double) as prior_week_cost_usd,
                      tasks, cast(cost_per_task_usd as double) as cost_per_task_usd, cache_hit_rate
               from {finance}.showback_weekly""",
            (
                *_keys("week_start", "tenant_id", "feature"),
                *_not_negative("cost_usd", "prior_week_cost_usd", "tasks", "cost_per_task_usd"),
                gxe.ExpectColumnValuesToBeBetween(column="cache_hit_rate", min_value=0, max_value=1),
            ),
            ("week_start", "tenant_id", "feature"),
        ),
        Suite(
            "self_hosted_allocation",
            "self_hosted_allocation",
            "an hour booked twice to the same tenant and feature, negative allocations (only __unrecovered__, what "
            "a rate_card deployment's calls paid over its cost, may be negative)",
            f"""select deployment_id, cast(hour_start as string) as hour_start, tenant_id, feature,
                      cast(case when tenant_id <> '__unrecovered__' then cost_usd end as double) as cost_usd,
                      weighted_tokens
               from {finance}.self_hosted_allocation""",
            (
                *_keys("deployment_id", "hour_start", "tenant_id", "feature"),
                *_not_negative("cost_usd", "weighted_tokens"),
            ),
            ("deployment_id", "hour_start", "tenant_id", "feature"),
        ),
        Suite(
            "sums_agree",
            "agg_cost_daily",
            "totals that differ between tables: a day's requests and cost in fct_llm_requests vs "
            "agg_cost_daily; the tasks with a call on a build day or its neighbours, as they will be published "
            "(rebuilt and kept), vs the requests they group (a task counted twice across midnight); each week of "
            "showback_weekly vs its days",
            f"""with req as (
                   select usage_date, count(*) as n, coalesce(sum(cost_usd), 0) as cost
                   from {finance}.fct_llm_requests group by usage_date),
               agg as (
                   select usage_date, sum(requests) as n, coalesce(sum(cost_usd), 0) as cost
                   from {finance}.agg_cost_daily group by usage_date),
               days as (select usage_date from req union select usage_date from agg),
               task_requests as (  -- the calls of the tasks this build rebuilds, wherever they are published
                   select count(*) as n, coalesce(sum(cost_usd), 0) as cost from {gate}.gate_task_requests),
               tasks as (  -- those tasks as the days before, of and after the build days will be published
                   select coalesce(sum(requests), 0) as n, coalesce(sum(cost_usd), 0) as cost
                   from {finance}.fct_llm_tasks
                   where task_id in (select task_id from {gate}.gate_task_requests)),
               weeks as (
                   select cast(date_trunc('week', usage_date) as date) as week_start, sum(cost_usd) as cost
                   from {gate}.gate_cost_daily_history group by 1),
               showback as (select week_start, sum(cost_usd) as cost from {finance}.showback_weekly group by 1)
               select 'cost: fct_llm_requests vs agg_cost_daily' as sum_checked, cast(days.usage_date as string) as of,
                      cast(coalesce(req.cost, 0) as double) as left_value, cast(coalesce(agg.cost, 0) as double) as right_value,
                      cast(coalesce(req.cost, 0) - coalesce(agg.cost, 0) as double) as difference
               from days left join req using (usage_date) left join agg using (usage_date)
               union all
               select 'requests: fct_llm_requests vs agg_cost_daily', cast(days.usage_date as string),
                      coalesce(req.n, 0), coalesce(agg.n, 0), coalesce(req.n, 0) - coalesce(agg.n, 0)
               from days left join req using (usage_date) left join agg using (usage_date)
               union all
               select 'cost: fct_llm_tasks as published vs their requests', 'rebuilt tasks',
                      cast(tasks.cost as double), cast(task_requests.cost as double),
                      cast(tasks.cost - task_requests.cost as double)
               from tasks, task_requests
               union all
               select 'requests: fct_llm_tasks as published vs their requests', 'rebuilt tasks',
                      tasks.n, task_requests.n, tasks.n - task_requests.n
               from tasks, task_requests
               union all
               select 'cost: showback_weekly vs agg_cost_daily', cast(weeks.week_start as string),
                      cast(coalesce(showback.cost, 0) as double), cast(weeks.cost as double),
                      cast(coalesce(showback.cost, 0) - weeks.cost as double)
               from weeks left join showback using (week_start)
               where weeks.week_start in (select cast(date_trunc('week', usage_date) as date) from days)""",
            (_same(),),
            ("sum_checked", "of", "left_value", "right_value"),
        ),
        Suite(
            "self_hosted_balance",
            "self_hosted_allocation",
            "self-hosted cost that is lost or invented: each deployment hour's allocations (tenants + "
            "__unrecovered__ + __idle__) must add up to the hour's cost, to the cent",
            f"""with booked as (
                   select deployment_id, hour_start, sum(cost_usd) as cost
                   from {finance}.self_hosted_allocation group by 1, 2)
               select hours.deployment_id, cast(hours.hour_start as string) as hour_start,
                      cast(hours.hourly_cost_usd as double) as hourly_cost_usd,
                      cast(booked.cost as double) as booked_usd,
                      cast(coalesce(booked.cost, 0) - coalesce(hours.hourly_cost_usd, 0) as double) as difference
               from {gate}.gate_self_hosted_hours as hours
               left join booked on booked.deployment_id = hours.deployment_id
                               and booked.hour_start = hours.hour_start""",
            (gxe.ExpectColumnValuesToBeBetween(column="difference", min_value=-0.005, max_value=0.005),),
            ("deployment_id", "hour_start", "hourly_cost_usd", "booked_usd"),
        ),
        Suite(
            "unpriced_share",
            "fct_llm_requests",
            f"a day where too many calls have no price in force (more than {limits.max_unpriced_share:.1%}): "
            "a missing or misspelt price, not a $0 day",
            f"""select cast(usage_date as string) as usage_date, count(*) as requests,
                      count(case when pricing_status = 'unpriced' then 1 end) as unpriced_requests,
                      count(case when pricing_status = 'unpriced' then 1 end) * 1.0 / count(*) as unpriced_share,
                      coalesce({
                relations.distinct_list.format(
                    "case when pricing_status = 'unpriced' then provider || '/' || model end"
                )
            },
                               '') as unpriced_models
               from {finance}.fct_llm_requests group by usage_date""",
            (
                gxe.ExpectColumnValuesToBeBetween(
                    column="unpriced_share", min_value=0, max_value=limits.max_unpriced_share
                ),
            ),
            ("usage_date", "requests", "unpriced_requests", "unpriced_models"),
        ),
        Suite(
            "quarantine_share",
            "quarantine",
            f"a usage file with too many unreadable or rule-breaking records (more than "
            f"{limits.max_quarantined_share:.1%}), every record of it broken, or a file that could not be read whole: "
            "a changed export format or a truncated copy, not a quiet day",
            f"""with reasons as (   -- each file's most frequent quarantine reason
                   select file, reason, row_number() over (partition by file order by count(*) desc, reason) as rank
                   from {raw}.quarantine
                   where file in (select file from {raw}.usage_files)
                   group by file, reason)
               select files.file, files.records, files.quarantined,
                      files.quarantined * 1.0 / nullif(files.records + files.quarantined, 0) as quarantined_share,
                      reasons.reason as main_reason
               from {raw}.usage_files as files
               left join reasons on reasons.file = files.file and reasons.rank = 1""",
            (
                gxe.ExpectColumnValuesToBeBetween(
                    column="quarantined_share", min_value=0, max_value=limits.max_quarantined_share
                ),
            ),
            ("file", "records", "quarantined", "main_reason"),
        ),
        Suite(
            "duplicate_events",
            "fct_llm_requests",
            f"a day where more than {limits.max_conflicting_share:.1%} of the calls were recorded twice with "
            "different contents (the same event_id with other tokens, model, tier, time or attribution): the first "
            "occurrence is billed and the other is not, and no one can tell which was right. Exact repeats are "
            "counted once and pass",
            f"""with repeated as (
                   select usage_date,
                          count(case when versions = 1 then 1 end) as exact_repeats,
                          count(case when versions > 1 then 1 end) as conflicting_events,
                          {relations.distinct_list.format("case when versions > 1 and example <= 5 then event_id end")}
                              as conflicting_examples
                   from (select usage_date, event_id, versions,
                                row_number() over (partition by usage_date, versions > 1 order by event_id) as example
                         from {gate}.gate_repeated_events) as ranked
                   group by usage_date),
               calls as (
                   select usage_date, cast(sum(requests) as bigint) as calls
                   from {finance}.agg_cost_daily group by usage_date)
               select cast(calls.usage_date as string) as usage_date, calls.calls,
                      coalesce(repeated.exact_repeats, 0) as exact_repeats,
                      coalesce(repeated.conflicting_events, 0) as conflicting_events,
                      coalesce(repeated.conflicting_events, 0) * 1.0 / calls.calls as conflicting_share,
                      coalesce(repeated.conflicting_examples, '') as conflicting_examples
               from calls left join repeated on repeated.usage_date = calls.usage_date""",
            (
                gxe.ExpectColumnValuesToBeBetween(
                    column="conflicting_share", min_value=0, max_value=limits.max_conflicting_share
                ),
            ),
            ("usage_date", "calls", "conflicting_events", "exact_repeats", "conflicting_examples"),
        ),
        Suite(
            "price_freshness",
            "price_history",
            f"costs computed from prices older than {limits.max_price_age_days} days: a price source "
            "(url) whose last good fetch is too old prices a model used that day",
            f"""with used as (
                   select distinct cast(usage_date as string) as usage_date, provider, model
                   from {finance}.fct_llm_requests where pricing_status = 'priced')
               select distinct used.usage_date, used.provider, used.model, sources.source_name, sources.age_days
               from used
               join {raw}.price_rows as prices on prices.provider = used.provider and prices.model = used.model
               join {raw}.price_sources as sources on sources.source_name = prices.source_name""",
            (gxe.ExpectColumnValuesToBeBetween(column="age_days", min_value=0, max_value=limits.max_price_age_days),),
            ("usage_date", "provider", "model", "source_name", "age_days"),
        ),
        Suite(
            BILLING_GAP,
            "billing_reconciliation",
            f"computed cost that differs from what the vendor billed for a day by more than "
            f"{limits.max_billing_gap_share:.1%} and more than ${limits.max_billing_gap_usd:,.2f} (a wrong price, an "
            "unmapped export, a missing usage file); days awaiting their bill are not checked",
            f"""select cast(usage_date as string) as usage_date, provider, account_id,
                      cast(computed_usd as double) as computed_usd, cast(billed_usd as double) as billed_usd,
                      cast(difference_usd as double) as difference_usd, difference_share,
                      case when abs(difference_usd) > {limits.max_billing_gap_usd}
                                and coalesce(abs(difference_share) > {limits.max_billing_gap_share}, true)
                           then 1 else 0 end as gap_over_limits
               from {finance}.billing_reconciliation
               where billed_usd is not null""",
            (gxe.ExpectColumnValuesToBeBetween(column="gap_over_limits", min_value=0, max_value=0),),
            ("usage_date", "provider", "account_id", "computed_usd", "billed_usd", "difference_usd"),
        ),
        Suite(
            "row_counts",
            "fct_llm_requests",
            f"a day whose calls collapse to under {limits.min_requests_vs_trailing_week:.0%} of the trailing "
            "7-day mean, or a day with no call at all after days with calls: a missing or truncated usage export "
            "(today's unfinished day, published with --partial, is not checked; an empty day is with "
            "--allow-empty)",
            f"""with daily as (
                   select usage_date, cast(sum(requests) as bigint) as requests
                   from {gate}.gate_cost_daily_history group by 1),
               trailing_week as (  -- the mean of the 7 days before each run day, and how many of them are there
                   select run_days.usage_date, sum(history.requests) / 7.0 as trailing_mean, count(*) as days
                   from {raw}.build_days as run_days
                   join daily as history on history.usage_date >= run_days.usage_date - 7
                                        and history.usage_date < run_days.usage_date
                   group by run_days.usage_date)
               select cast(run_days.usage_date as string) as usage_date,
                      coalesce(today.requests, 0) as requests,
                      trailing_week.trailing_mean,
                      case when published.status = 'complete' and trailing_week.days = 7
                                or published.status = 'empty' and not {"true" if allow_empty else "false"}
                           then coalesce(today.requests, 0) / nullif(trailing_week.trailing_mean, 0)
                      end as ratio
               from {raw}.build_days as run_days
               join {raw}.published_days as published on published.usage_date = run_days.usage_date
               left join daily as today on today.usage_date = run_days.usage_date
               left join trailing_week on trailing_week.usage_date = run_days.usage_date""",
            (gxe.ExpectColumnValuesToBeBetween(column="ratio", min_value=limits.min_requests_vs_trailing_week),),
            ("usage_date", "requests", "trailing_mean"),
        ),
    ]
