-- One row per published usage_date, billed provider and account_id (NULL: the provider as a whole; an account only
-- when a bill names it and the computed cost knows it): our computed cost against what the vendor billed.
-- billed_usd NULL: awaiting the bill (vendors report a day or more late), not a failure and not $0.
with computed as (

    select * from {{ ref('int_billing__computed_daily') }}

),

billed as (

    select * from {{ ref('stg_raw__billed_costs') }}

),

published as (

    select usage_date from {{ ref('stg_raw__published_days') }}

),

computed_accounts as (  -- the accounts the computed cost knows: the usage records' account_id, the deployments

    select distinct provider, account_id from computed
    where account_id is not null

),

scopes as (  -- what is reconciled: each billed provider as a whole, and each account a bill names that we know

    select distinct provider, '' as scope_account from billed
    union
    select distinct billed.provider, billed.account_id as scope_account
    from billed
    inner join computed_accounts
        on billed.provider = computed_accounts.provider and billed.account_id = computed_accounts.account_id

),

computed_by_scope as (

    select computed.usage_date, scopes.provider, scopes.scope_account, sum(computed.computed_usd) as computed_usd
    from scopes
    inner join computed
        on scopes.provider = computed.provider
            and (scopes.scope_account = '' or scopes.scope_account = computed.account_id)
    group by computed.usage_date, scopes.provider, scopes.scope_account

),

billed_by_scope as (

    select billed.usage_date, scopes.provider, scopes.scope_account, sum(billed.billed_usd) as billed_usd
    from scopes
    inner join billed
        on scopes.provider = billed.provider
            and (scopes.scope_account = '' or scopes.scope_account = billed.account_id)
    group by billed.usage_date, scopes.provider, scopes.scope_account

),

reconciled as (

    select
        published.usage_date,
        scopes.provider,
        case when scopes.scope_account != '' then scopes.scope_account end as account_id,
        coalesce(computed_by_scope.computed_usd, 0) as computed_usd,
        billed_by_scope.billed_usd
    from published
    cross join scopes
    left join computed_by_scope
        on published.usage_date = computed_by_scope.usage_date
            and scopes.provider = computed_by_scope.provider
            and scopes.scope_account = computed_by_scope.scope_account
    left join billed_by_scope
        on published.usage_date = billed_by_scope.usage_date
            and scopes.provider = billed_by_scope.provider
            and scopes.scope_account = billed_by_scope.scope_account

)

select
    usage_date,
    provider,
    account_id,
    {{ money('computed_usd') }} as computed_usd,
    {{ money('billed_usd') }} as billed_usd,
    {{ money('computed_usd - billed_usd') }} as difference_usd,
    cast(computed_usd - billed_usd as double) / nullif(cast(billed_usd as double), 0) as difference_share
from reconciled
