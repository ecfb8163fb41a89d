"""Weekly reports: the showback and anomaly pages, their CSV files and the per-owner chargeback emails.

They read the published warehouse read-only (finance.* tables); every figure comes from the dbt marts,
this package only selects, lays out and sends (docs/spec.md#reports, docs/reports.md)."""
