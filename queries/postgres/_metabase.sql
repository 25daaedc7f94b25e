{#- Macros shared by the Metabase cards. Each expands to Metabase optional clauses ([[ … ]]) around the
    dashboard's template tags, so a filter with no value drops its clause ("no value" = all).

    Date-range tags are Metabase `date` variables: start_date and end_date are UTC days, end_date inclusive.
-#}

{#- Rows whose timestamptz `column` falls on a UTC day from start_date to end_date (index-friendly). -#}
{% macro utc_days(column) -%}
[[AND {{ column }} >= {{start_date}}::timestamp AT TIME ZONE 'UTC']]
  [[AND {{ column }} < ({{end_date}} + 1)::timestamp AT TIME ZONE 'UTC']]
{%- endmacro %}

{#- Rows whose `column` (a date, or a UTC `timestamp without time zone` as Chatwoot writes) is in the range. -#}
{% macro days(column) -%}
[[AND {{ column }} >= {{start_date}}]]
  [[AND {{ column }} < {{end_date}} + 1]]
{%- endmacro %}

{#- The first UTC day after the range: end_date + 1, or tomorrow when no end date is given. -#}
{% macro range_end() -%}
coalesce([[{{end_date}} + 1, ]](now() AT TIME ZONE 'UTC')::date + 1)
{%- endmacro %}

{#- The tenant filter: a tenant id or name. -#}
{% macro tenant_filter(column) -%}
[[AND {{ column }} IN (SELECT id FROM tenants WHERE id = {{tenant}} OR name = {{tenant}})]]
{%- endmacro %}

{#- Chatwoot filters: an inbox by name, an account by name. -#}
{% macro inbox_filter(column) -%}
[[AND {{ column }} IN (SELECT id FROM inboxes WHERE name = {{inbox}})]]
{%- endmacro %}
{% macro account_filter(column) -%}
[[AND {{ column }} IN (SELECT id FROM accounts WHERE name = {{account}})]]
{%- endmacro %}
