"""One name per GPU model, whatever a listing calls it: "NVIDIA H100 80GB HBM3", "H100 SXM5 80GB" and
"H100-SXM" are all "H100 SXM" (the names of finops/bundled/gpus/offers.csv).

Rules (docs/prices_and_gpus.md): vendor words (NVIDIA, AMD, Tesla, GeForce, Instinct), memory types (HBM3,
HBM3e, GDDR6...) and separators are dropped; the family is found by name (GB200 before B200, L40S before L40,
...). The form factor is kept apart for the families sold in several: H100 and H200 are "SXM" unless the name
says PCIe or NVL; A100 and V100 add their memory ("A100 80GB", from the name or the listing's VRAM) and
" PCIe" when the name says so (SXM is not written: "A100 80GB" is the SXM board). Other families are one
name each ("L40S", "B200", "MI300X", "RTX 4090"). A name with no known family is kept as written (whitespace
collapsed) and reported as unrecognised."""

from __future__ import annotations

import re

# (pattern on the cleaned upper-case name, family), most specific first
FAMILIES = [
    (r"GB300", "GB300"),
    (r"GB200", "GB200"),
    (r"GH200", "GH200"),
    (r"B300", "B300"),
    (r"B200", "B200"),
    (r"B100", "B100"),
    (r"H200", "H200"),
    (r"H100", "H100"),
    (r"H800", "H800"),
    (r"A100", "A100"),
    (r"A800", "A800"),
    (r"A10G", "A10G"),
    (r"A10", "A10"),
    (r"A40", "A40"),
    (r"A30", "A30"),
    (r"A16", "A16"),
    (r"L40S", "L40S"),
    (r"L40", "L40"),
    (r"L4", "L4"),
    (r"V100", "V100"),
    (r"T4", "T4"),
    (r"RTX ?PRO ?6000", "RTX PRO 6000"),
    (r"RTX ?6000 ?ADA", "RTX 6000 Ada"),
    (r"RTX ?A6000", "RTX A6000"),
    (r"RTX ?A5000", "RTX A5000"),
    (r"RTX ?A4000", "RTX A4000"),
    (r"RTX ?5090", "RTX 5090"),
    (r"RTX ?4090", "RTX 4090"),
    (r"RTX ?3090", "RTX 3090"),
    (r"MI355X", "MI355X"),
    (r"MI325X", "MI325X"),
    (r"MI300X", "MI300X"),
    (r"MI250X?", "MI250"),
]
_FAMILY_PATTERNS = [(re.compile(rf"\b{pattern}\b"), family) for pattern, family in FAMILIES]
_DROPPED = re.compile(r"\b(NVIDIA|AMD|TESLA|GEFORCE|INSTINCT|RADEON|HBM\d?E?|GDDR\d?X?)\b")
_MEMORY = re.compile(r"\b(\d{2,3}) ?GB\b")
SXM_BY_DEFAULT = {"H100", "H200"}  # written as "<family> SXM|PCIe|NVL"
MEMORY_VARIANTS = {"A100": (40, 80), "V100": (16, 32)}  # written as "<family> <memory>GB[ PCIe]"


def gpu_model_name(raw: str, vram_gb: float | None = None) -> tuple[str, bool]:
    """(our name for the GPU, whether its family is known). `vram_gb`, when the listing gives it, tells the
    memory variant (A100 40GB or 80GB) when the name does not."""
    cleaned = " ".join(raw.split())
    upper = _DROPPED.sub(" ", re.sub(r"[-_/,()]", " ", cleaned.upper()))
    upper = " ".join(upper.split())
    family = next((name for pattern, name in _FAMILY_PATTERNS if pattern.search(upper)), None)
    if family is None:
        return cleaned, False
    if re.search(r"\bNVL\b", upper):
        form = "NVL"
    elif re.search(r"\bPCI ?E\b", upper):
        form = "PCIe"
    else:
        form = "SXM"  # named SXM, SXM4, SXM5, HGX, or nothing: the data-centre board
    if family in SXM_BY_DEFAULT:
        return f"{family} {form}", True
    if family in MEMORY_VARIANTS:
        small, large = MEMORY_VARIANTS[family]
        named = _MEMORY.search(upper)
        memory = int(named.group(1)) if named else vram_gb
        parts = [family]
        if memory:
            parts.append(f"{large if memory > (small + large) / 2 else small}GB")
        if form == "PCIe":
            parts.append("PCIe")
        return " ".join(parts), True
    return family, True
