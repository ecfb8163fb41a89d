"""The figures of a week, read from the published warehouse with SQL over the finance tables, through the engine's
Reader (warehouse/engines/__init__.py), on either engine: the SQL is what DuckDB and Spark SQL both run (`$name`
parameters of single values, tables named without their schema: the Reader reads them where they are published).

Every cost rule is in dbt; these queries select a week, sum the marts' rows up to what a table shows, put the
prior week beside it and derive the figures shown from those sums (change and change %, share of cost, cost per
task, cache hit rate, failed-task share, utilisation). A Scope limits them to some rows: everything (the
showback and anomaly pages), one owner's features and tenants (a chargeback email), or the rows of no owner."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Owner
from reports.week import IsoWeek
from warehouse.engines import Reader

MONEY = "decimal(38, 12)"


@dataclass(frozen=True)
class Scope:
    features: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()
    everything: bool = False
    negate: bool = False  # the rows of none of these features and tenants

    @classmethod
    def all(cls) -> Scope:
        return cls(everything=True)

    @classmethod
    def of_owner(cls, owner: Owner) -> Scope:
        """An owner's rows: a call of one of their features, or made for one of their tenants."""
        return cls(features=owner.features, tenants=owner.tenants)

    @classmethod
    def no_owner(cls, owners: tuple[Owner, ...]) -> Scope:
        return cls(
            features=tuple(f for o in owners for f in o.features),
            tenants=tuple(t for o in owners for t in o.tenants),
            negate=True,
        )

    def params(self) -> dict:
        return {
            "everything": self.everything,
            "negate": self.negate,
            **_values("feature", self.features),
            **_values("tenant", self.tenants),
        }

    def rows(self) -> str:
        """A row of agg_cost_daily / fct_llm_tasks in the scope."""
        in_features, in_tenants = (
            _one_of("feature", "feature", self.features),
            _one_of("tenant_id", "tenant", self.tenants),
        )
        return f"($everything or (({in_features} or {in_tenants}) <> $negate))"

    def tenant_rows(self) -> str:
        """A tenant-level row (model mix) in the scope: only an owner's own tenants."""
        return f"($everything or ({_one_of('tenant_id', 'tenant', self.tenants)} <> $negate))"

    def anomalies(self) -> str:
        """An anomaly in the scope: a flagged feature or tenant of the owner (model anomalies: the pages only)."""
        in_features = _one_of("dimension_value", "feature", self.features)
        in_tenants = _one_of("dimension_value", "tenant", self.tenants)
        return (
            f"($everything or (((dimension = 'feature' and {in_features}) "
            f"or (dimension = 'tenant' and {in_tenants})) <> $negate))"
        )


def _values(name: str, values: tuple[str, ...] | list[str]) -> dict:
    """The parameters $<name>_0, $<name>_1, ... of a list of values (_one_of)."""
    return {f"{name}_{i}": value for i, value in enumerate(values)}


def _one_of(column: str, name: str, values: tuple[str, ...] | list[str]) -> str:
    """`column` is one of the values, given as the parameters of _values (no list parameter: Spark SQL has none
    DuckDB reads); false for no value."""
    return f"({column} in ({', '.join(f'${name}_{i}' for i in range(len(values)))}))" if values else "false"


def _rows(con: Reader, sql: str, params: dict) -> list[dict]:
    return con.rows(sql, params)


def _week_params(week: IsoWeek, scope: Scope, compared: bool = False) -> dict:
    return {
        "start": week.start,
        "end": week.end,
        "prior_start": week.prior.start,
        "compared": compared,
        **scope.params(),
    }


# the prior week's cost of a row of sums: NULL when the prior week is not compared (not complete), 0 when it had
# no row, NULL when every row was unpriced
PRIOR_COST = (
    f"case when not $compared then null when rows_prior_week = 0 then cast(0 as {MONEY}) "
    "else summed_prior_week_cost_usd end"
)


def breakdown(con: Reader, week: IsoWeek, scope: Scope, by: tuple[str, ...] = (), *, compared: bool) -> list[dict]:
    """The week's figures from agg_cost_daily per value of the `by` columns (none: one row of totals), with the
    prior week's cost when it is `compared` (complete; NULL otherwise, and so is the change). A cost is 0 when
    there were no calls, NULL when every call was unpriced."""
    keys = "".join(f"{k}, " for k in by)
    group_by = f"group by {', '.join(by)}" if by else ""
    order_by = ", ".join(["cost_usd desc nulls last", *by])
    this_week, prior_week = "usage_date >= $start", "usage_date < $start"
    sql = f"""
        with grouped as (
            select
                {keys}
                count(*) filter (where {this_week})                          as rows_this_week,
                count(*) filter (where {prior_week})                         as rows_prior_week,
                sum(cost_usd) filter (where {this_week})                     as summed_cost_usd,
                sum(cost_usd) filter (where {prior_week})                    as summed_prior_week_cost_usd,
                coalesce(sum(requests) filter (where {this_week}), 0)        as requests,
                coalesce(sum(tasks) filter (where {this_week}), 0)           as tasks,
                coalesce(sum(input_tokens) filter (where {this_week}), 0)    as input_tokens,
                coalesce(sum(cache_read_tokens) filter (where {this_week}), 0) as cache_read_tokens,
                sum(cache_savings_usd) filter (where {this_week})            as cache_savings_usd,
                coalesce(sum(retry_cost_usd) filter (where {this_week}), 0)  as retry_cost_usd,
                coalesce(sum(unpriced_requests) filter (where {this_week}), 0) as unpriced_requests,
                coalesce(sum(unpriced_tokens) filter (where {this_week}), 0) as unpriced_tokens
            from agg_cost_daily
            where usage_date >= $prior_start and usage_date < $end and {scope.rows()}
            {group_by}
        ),
        costed as (
            select
                *,
                case when rows_this_week = 0 then cast(0 as {MONEY}) else summed_cost_usd end     as cost_usd,
                {PRIOR_COST}                                                                      as prior_week_cost_usd
            from grouped
        )
        select
            {keys}
            cost_usd,
            prior_week_cost_usd,
            cost_usd - prior_week_cost_usd                                                   as change_usd,
            cast(cost_usd - prior_week_cost_usd as double) / nullif(prior_week_cost_usd, 0)  as change_ratio,
            cast(cost_usd as double) / nullif(sum(cost_usd) over (), 0)                      as share_of_cost,
            requests,
            tasks,
            cast(cast(cost_usd as double) / nullif(tasks, 0) as {MONEY})                     as cost_per_task_usd,
            cast(cache_read_tokens as double) / nullif(input_tokens, 0)                      as cache_hit_rate,
            cache_savings_usd,
            retry_cost_usd,
            unpriced_requests,
            unpriced_tokens
        from costed
        order by {order_by}"""
    return _rows(con, sql, _week_params(week, scope, compared))


def totals(con: Reader, week: IsoWeek, scope: Scope, *, compared: bool) -> dict:
    """One row: the week's totals (breakdown by nothing) plus the tasks that failed."""
    row = breakdown(con, week, scope, compared=compared)[0]
    row.update(
        _rows(
            con,
            f"""
        select count(*) filter (where not succeeded) as failed_tasks,
               cast(count(*) filter (where not succeeded) as double) / nullif(count(*), 0) as failed_task_share
        from fct_llm_tasks
        where usage_date >= $start and usage_date < $end and {scope.rows()}""",
            _week_params(week, scope),
        )[0]
    )
    return row


def whole_bill(con: Reader, week: IsoWeek, *, compared: bool) -> dict:
    """The week's whole bill from spend_daily: its total (API + self-hosted allocated + idle + unrecovered), each
    part, and the prior week's total when it is `compared`. A total is 0 when the week has no row, NULL when
    every row is unpriced."""
    this_week, prior_week = "usage_date >= $start", "usage_date < $start"
    return _rows(
        con,
        f"""
        with sums as (
            select
                count(*) filter (where {this_week})                                          as rows_this_week,
                count(*) filter (where {prior_week})                                         as rows_prior_week,
                sum(cost_usd) filter (where {this_week})                                     as summed_cost_usd,
                sum(cost_usd) filter (where {prior_week})                                    as summed_prior_week_cost_usd,
                coalesce(sum(cost_usd) filter (where {this_week} and category = 'api'), 0)   as api_usd,
                coalesce(sum(cost_usd) filter (where {this_week} and category = 'self_hosted_allocated'), 0)
                                                                                             as allocated_usd,
                coalesce(sum(cost_usd) filter (where {this_week} and category = 'self_hosted_idle'), 0)
                                                                                             as idle_usd,
                coalesce(sum(cost_usd) filter (where {this_week} and category = 'self_hosted_unrecovered'), 0)
                                                                                             as unrecovered_usd
            from spend_daily
            where usage_date >= $prior_start and usage_date < $end
        ),
        costed as (
            select
                *,
                case when rows_this_week = 0 then cast(0 as {MONEY}) else summed_cost_usd end     as cost_usd,
                {PRIOR_COST}                                                                      as prior_week_cost_usd
            from sums
        )
        select
            cost_usd,
            api_usd,
            allocated_usd,
            idle_usd,
            unrecovered_usd,
            prior_week_cost_usd,
            cost_usd - prior_week_cost_usd                                                   as change_usd,
            cast(cost_usd - prior_week_cost_usd as double) / nullif(prior_week_cost_usd, 0)  as change_ratio
        from costed""",
        _week_params(week, Scope.all(), compared),
    )[0]


def daily_by_feature(con: Reader, week: IsoWeek, scope: Scope) -> list[dict]:
    return _rows(
        con,
        f"""
        select usage_date, feature, sum(cost_usd) as cost_usd
        from agg_cost_daily
        where usage_date >= $start and usage_date < $end and {scope.rows()}
        group by usage_date, feature
        order by usage_date, feature""",
        _week_params(week, scope),
    )


def unpriced_by_model(con: Reader, week: IsoWeek, scope: Scope) -> list[dict]:
    """Calls with no price in force: how many, their tokens, and which features and tenants made them (listed here:
    DuckDB and Spark SQL spell an ordered list of distinct values differently)."""
    rows = _rows(
        con,
        f"""
        select provider || '/' || model as model, feature, tenant_id, sum(unpriced_requests) as unpriced_requests,
               sum(unpriced_tokens) as unpriced_tokens
        from agg_cost_daily
        where usage_date >= $start and usage_date < $end and unpriced_requests > 0 and {scope.rows()}
        group by provider, model, feature, tenant_id""",
        _week_params(week, scope),
    )
    models: dict[str, dict] = {}
    for row in rows:
        model = models.setdefault(
            row["model"],
            {"model": row["model"], "unpriced_requests": 0, "unpriced_tokens": 0, "features": set(), "tenants": set()},
        )
        model["unpriced_requests"] += row["unpriced_requests"]
        model["unpriced_tokens"] += row["unpriced_tokens"]
        model["features"].add(row["feature"])
        model["tenants"].add(row["tenant_id"])
    return [
        {**m, "features": ", ".join(sorted(m["features"])), "tenants": ", ".join(sorted(m["tenants"]))}
        for m in sorted(models.values(), key=lambda m: (-m["unpriced_requests"], m["model"]))
    ]


def top_tasks(con: Reader, week: IsoWeek, scope: Scope, limit: int = 10) -> list[dict]:
    return _rows(
        con,
        f"""
        select task_id, tenant_id, feature, started_at, requests, retries, succeeded, cost_usd, retry_cost_usd
        from fct_llm_tasks
        where usage_date >= $start and usage_date < $end and {scope.rows()}
        order by cost_usd desc nulls last, task_id
        limit {int(limit)}""",
        _week_params(week, scope),
    )


def self_hosted(con: Reader, week: IsoWeek) -> list[dict]:
    """Per deployment: the cost charged to calls (allocated), what rate_card calls did not pay of the busy hours
    (unrecovered), the idle hours, and how busy it was (utilisation: the busy hours' share of the cost)."""
    return _rows(
        con,
        """
        with hours as (
            select deployment_id, hour_start, bool_or(tenant_id <> '__idle__') as busy,
                   sum(cost_usd) filter (where tenant_id not in ('__idle__', '__unrecovered__')) as allocated_usd,
                   sum(cost_usd) filter (where tenant_id = '__unrecovered__') as unrecovered_usd,
                   sum(cost_usd) filter (where tenant_id = '__idle__') as idle_usd,
                   sum(requests) as requests
            from self_hosted_allocation
            where usage_date >= $start and usage_date < $end
            group by deployment_id, hour_start
        )
        select deployment_id,
               coalesce(sum(allocated_usd), 0) as allocated_usd,
               coalesce(sum(unrecovered_usd), 0) as unrecovered_usd,
               coalesce(sum(idle_usd), 0) as idle_usd,
               sum(coalesce(allocated_usd, 0) + coalesce(unrecovered_usd, 0) + coalesce(idle_usd, 0)) as total_usd,
               cast(sum(coalesce(allocated_usd, 0) + coalesce(unrecovered_usd, 0)) as double)
                   / nullif(sum(coalesce(allocated_usd, 0) + coalesce(unrecovered_usd, 0) + coalesce(idle_usd, 0)), 0)
                   as utilisation,
               count(*) filter (where busy) as busy_hours,
               count(*) as hours,
               sum(requests) as requests
        from hours
        group by deployment_id
        order by deployment_id""",
        {"start": week.start, "end": week.end},
    )


def billing(con: Reader, week: IsoWeek) -> list[dict]:
    """Per billed provider (finance.billing_reconciliation, the provider as a whole): the week's computed cost, and
    over the days with a bill the billed sum and the difference; the days still awaiting their bill."""
    return _rows(
        con,
        """
        select provider,
               sum(computed_usd) as computed_usd,
               sum(billed_usd) as billed_usd,
               sum(difference_usd) as difference_usd,
               cast(sum(difference_usd) as double) / nullif(cast(sum(billed_usd) as double), 0) as difference_share,
               count(billed_usd) as days_billed,
               count(*) - count(billed_usd) as days_awaiting_bill
        from billing_reconciliation
        where account_id is null and usage_date >= $start and usage_date < $end
        group by provider
        order by provider""",
        {"start": week.start, "end": week.end},
    )


def anomalies(con: Reader, week: IsoWeek, scope: Scope) -> list[dict]:
    return _rows(
        con,
        f"""
        select usage_date, dimension, dimension_value, observed_usd, baseline_usd, ratio, increase_usd
        from cost_anomalies
        where usage_date >= $start and usage_date < $end and {scope.anomalies()}
        order by usage_date, increase_usd desc, dimension, dimension_value""",
        _week_params(week, scope),
    )


def anomaly_drivers(con: Reader, week: IsoWeek, scope: Scope, top: int = 3) -> list[dict]:
    """The `top` drivers that rose most inside each flagged slice, per driver dimension."""
    return _rows(
        con,
        f"""
        select usage_date, dimension, dimension_value, driver_dimension, driver_value, observed_usd, baseline_usd,
               increase_usd, share_of_increase, driver_rank
        from cost_anomaly_drivers
        where usage_date >= $start and usage_date < $end and increase_usd > 0 and driver_rank <= {int(top)}
          and {scope.anomalies()}
        order by usage_date, dimension, dimension_value, driver_dimension, driver_rank""",
        _week_params(week, scope),
    )


def premium_shares(con: Reader, week: IsoWeek, scope: Scope) -> list[dict]:
    """Every tenant's share of spend on premium models this week and the week before (is_alert: it jumped)."""
    return _rows(
        con,
        f"""
        select tenant_id, cost_usd, premium_cost_usd, premium_share, prior_week_premium_share,
               premium_share_change, is_alert
        from premium_share_weekly
        where week_start = $start and {scope.tenant_rows()}
        order by is_alert desc, premium_share_change desc nulls last, tenant_id""",
        _week_params(week, scope),
    )


def premium_models(con: Reader, week: IsoWeek, tenants: list[str]) -> list[dict]:
    """The premium models of some tenants, this week against the week before (what moved their share)."""
    return _rows(
        con,
        f"""
        select tenant_id, provider || '/' || model as model,
               coalesce(sum(cost_usd) filter (where week_start = $start), 0) as cost_usd,
               coalesce(sum(cost_usd) filter (where week_start = $prior_start), 0) as prior_week_cost_usd,
               coalesce(sum(cost_usd) filter (where week_start = $start), 0)
                 - coalesce(sum(cost_usd) filter (where week_start = $prior_start), 0) as change_usd
        from model_mix_weekly
        where is_premium and week_start in ($start, $prior_start) and {_one_of("tenant_id", "tenant", tenants)}
        group by tenant_id, provider, model
        order by tenant_id, change_usd desc, model""",
        {"start": week.start, "prior_start": week.prior.start, **_values("tenant", tenants)},
    )


def premium_model_names(con: Reader, week: IsoWeek) -> list[str]:
    """The premium models that had calls this week or the week before."""
    return [
        r["model"]
        for r in _rows(
            con,
            """
        select distinct provider || '/' || model as model from model_mix_weekly
        where is_premium and week_start in ($start, $prior_start) order by model""",
            {"start": week.start, "prior_start": week.prior.start},
        )
    ]


def budget_status(con: Reader, week: IsoWeek, budgets: tuple[str, ...] | None = None) -> list[dict]:
    """Each budget's finance.budget_status_daily row as of the week's last published day (its month to that day);
    `budgets`: only these names (None: every budget)."""
    rows = _rows(
        con,
        """
        select budget, month, as_of_date, budget_usd, spent_usd, forecast_month_usd, spent_share, forecast_share,
               status
        from budget_status_daily
        where as_of_date = (select max(as_of_date) from budget_status_daily
                            where as_of_date >= $start and as_of_date < $end)
        order by budget""",
        {"start": week.start, "end": week.end},
    )
    return [r for r in rows if budgets is None or r["budget"] in budgets]
