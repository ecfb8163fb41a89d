{#- The spend category (var('spend_categories')) of a self-hosted allocation row, from its tenant_id: the idle
    hours ('__idle__'), what rate_card calls did not pay of the busy hours ('__unrecovered__'), or the calls' share.
    One mapping for spend_daily and the FOCUS export. -#}
{% macro self_hosted_category(tenant_id) -%}
    case {{ tenant_id }}
        when '__idle__' then 'self_hosted_idle'
        when '__unrecovered__' then 'self_hosted_unrecovered'
        else 'self_hosted_allocated'
    end
{%- endmacro %}
