-- One row per usage_date, provider, account_id of the whole history: what we computed the provider (and the account)
-- would bill. API providers: the priced calls' cost, per account_id of their usage records (NULL: the calls that name
-- none); self_hosted: each deployment's allocated + idle hours, with the deployment_id as its account (a GPU cloud's
-- bill names the deployment). Unpriced calls add nothing (their cost is unknown, not $0: they are counted in the
-- unpriced share instead).
select
    usage_date,
    provider,
    case when provider = 'self_hosted' then deployment_id else account_id end as account_id,
    sum(cost_usd) as computed_usd
from {{ ref('int_spend_daily__all_days') }}
group by usage_date, provider, case when provider = 'self_hosted' then deployment_id else account_id end
