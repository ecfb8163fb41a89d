"""The conformance suite of a FOCUS 1.2 export (`finops export focus`, docs/focus.md): the rules of the FinOps
Foundation's FOCUS 1.2 specification a cost and usage dataset of usage charges must meet, checked with Great
Expectations on the written file (CSV or Parquet) itself, not on the query that made it.

Declared here from the specification, independently of the export's own column list (warehouse/focus.py): the
columns FOCUS 1.2 defines and those it makes mandatory, custom columns prefixed x_, the types (decimal,
ISO 8601 UTC date-times, ISO 4217 currency, JSON objects), the allowed values, and the nullability rules of usage
rows (ChargeCategory Usage, no ChargeClass Correction: the quantities, units, unit prices and SKU columns are then
not null)."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import great_expectations.expectations as gxe
import pandas as pd

from expectations.results import CheckResult
from expectations.suites import Suite

# Every column FOCUS 1.2 defines; any other column of a dataset must start with x_.
FOCUS_COLUMNS = frozenset(
    [
        "AvailabilityZone",
        "BilledCost",
        "BillingAccountId",
        "BillingAccountName",
        "BillingAccountType",
        "BillingCurrency",
        "BillingPeriodEnd",
        "BillingPeriodStart",
        "CapacityReservationId",
        "CapacityReservationStatus",
        "ChargeCategory",
        "ChargeClass",
        "ChargeDescription",
        "ChargeFrequency",
        "ChargePeriodEnd",
        "ChargePeriodStart",
        "CommitmentDiscountCategory",
        "CommitmentDiscountId",
        "CommitmentDiscountName",
        "CommitmentDiscountQuantity",
        "CommitmentDiscountStatus",
        "CommitmentDiscountType",
        "CommitmentDiscountUnit",
        "ConsumedQuantity",
        "ConsumedUnit",
        "ContractedCost",
        "ContractedUnitPrice",
        "EffectiveCost",
        "InvoiceId",
        "InvoiceIssuerName",
        "ListCost",
        "ListUnitPrice",
        "PricingCategory",
        "PricingCurrency",
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
        "PricingQuantity",
        "PricingUnit",
        "ProviderName",
        "PublisherName",
        "RegionId",
        "RegionName",
        "ResourceId",
        "ResourceName",
        "ResourceType",
        "ServiceCategory",
        "ServiceName",
        "ServiceSubcategory",
        "SkuId",
        "SkuMeter",
        "SkuPriceDetails",
        "SkuPriceId",
        "SubAccountId",
        "SubAccountName",
        "SubAccountType",
        "Tags",
    ]
)
# The columns FOCUS 1.2 makes mandatory (present in every dataset), and those of them that are never null.
MANDATORY = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
]
NOT_NULL = [
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
]
# Not null in a usage row that is not a correction (ChargeCategory Usage, ChargeClass null): every row of the export.
NOT_NULL_IN_USAGE = [
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingQuantity",
    "PricingUnit",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "SkuId",
    "SkuPriceId",
    "PricingCategory",
]
DECIMALS = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "ConsumedQuantity",
    "PricingQuantity",
    "ListUnitPrice",
    "ContractedUnitPrice",
]
DATETIMES = ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"]
JSON_OBJECTS = ["Tags", "SkuPriceDetails"]
ALLOWED = {
    "ChargeCategory": ["Usage", "Purchase", "Tax", "Credit", "Adjustment"],
    "ChargeClass": ["Correction"],
    "ChargeFrequency": ["One-Time", "Recurring", "Usage-Based"],
    "PricingCategory": ["Standard", "Dynamic", "Committed", "Other"],
    "ServiceCategory": [
        "AI and Machine Learning",
        "Analytics",
        "Business Applications",
        "Compute",
        "Databases",
        "Developer Tools",
        "Multicloud",
        "Identity",
        "Integration",
        "Internet of Things",
        "Management and Governance",
        "Media",
        "Migration",
        "Mobile",
        "Networking",
        "Security",
        "Storage",
        "Web",
        "Other",
    ],
    "ServiceSubcategory": [
        "AI Platforms",
        "Bots",
        "Generative AI",
        "Machine Learning",
        "Natural Language Processing",
        "Other (AI and Machine Learning)",
    ],
}
DECIMAL = r"^-?[0-9]+(?:\.[0-9]+)?$"
DATETIME_UTC = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"  # FOCUS: ISO 8601, UTC, Z
CURRENCY = r"^[A-Z]{3}$"  # ISO 4217
# A unit: plural units, or a power of ten and plural units ("Tokens", "1000000 Tokens", "Hours")
UNIT = r"^(?:[0-9]+ )?[A-Z][A-Za-z-]*s(?: [A-Za-z]+)*$"


def focus_suite(columns: list[str]) -> Suite:
    """The suite for a file with these columns (the expectations on a column FOCUS makes optional run when the file
    has it)."""
    present = set(columns)
    expectations = [
        gxe.ExpectTableColumnsToMatchSet(column_set=sorted(present | set(MANDATORY)), exact_match=True),
        *(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in NOT_NULL + NOT_NULL_IN_USAGE),
        *(gxe.ExpectColumnValuesToMatchRegex(column=c, regex=DECIMAL) for c in DECIMALS if c in present),
        *(gxe.ExpectColumnValuesToMatchRegex(column=c, regex=DATETIME_UTC) for c in DATETIMES),
        *(gxe.ExpectColumnValuesToBeJsonParseable(column=c) for c in JSON_OBJECTS if c in present),
        *(gxe.ExpectColumnValuesToBeInSet(column=c, value_set=v) for c, v in ALLOWED.items() if c in present),
        gxe.ExpectColumnValuesToMatchRegex(column="BillingCurrency", regex=CURRENCY),
        *(gxe.ExpectColumnValuesToMatchRegex(column=c, regex=UNIT) for c in ("ConsumedUnit", "PricingUnit")),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ChargePeriodEnd", column_B="ChargePeriodStart"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="BillingPeriodEnd", column_B="BillingPeriodStart"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="ChargePeriodEnd", column_B="BillingPeriodStart", or_equal=False
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="BillingPeriodEnd", column_B="ChargePeriodStart", or_equal=False
        ),
    ]
    return Suite(
        name="focus_1_2",
        table="focus export",
        guards="a FOCUS file a FinOps tool rejects or reads wrongly",
        query="(the written file)",
        expectations=tuple(expectations),
        example_columns=("ChargePeriodStart", "SkuPriceId"),
    )


def custom_column_problems(columns: list[str]) -> list[str]:
    """Columns neither FOCUS 1.2 defines nor prefixed x_ (FOCUS: a custom column's name starts with x_)."""
    return [c for c in columns if c not in FOCUS_COLUMNS and not c.startswith("x_")]


def read_as_text(path: Path) -> pd.DataFrame:
    """A written FOCUS file as the text a tool reads: CSV fields as they are (an empty field is null), Parquet values
    as DuckDB prints them (a decimal in fixed point with its scale: 0.000000000000, not Arrow's 0E-12)."""
    with duckdb.connect() as con:
        if path.suffix.lower() == ".parquet":
            relation = con.read_parquet(str(path))
        else:
            relation = con.read_csv(str(path), all_varchar=True, header=True)
        return relation.project(", ".join(f'cast("{c}" as varchar) as "{c}"' for c in relation.columns)).df()


def check_focus_file(path: Path) -> list[CheckResult]:
    """Validate a written FOCUS file: one CheckResult per expectation, and one per custom column not prefixed x_."""
    from expectations.gate import gx_context, validate_batch

    frame = read_as_text(path)
    suite = focus_suite(list(frame.columns))
    batch = (
        gx_context()
        .data_sources.add_pandas("focus_export")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    results = validate_batch(batch, suite, time.perf_counter())
    return results + [
        CheckResult(suite.label, "custom column prefixed x_", suite.table, False, 1, f"{c}: not a FOCUS 1.2 column")
        for c in custom_column_problems(list(frame.columns))
    ]
