"""Annex II of Carrin, Ron & Murray (1993): Sheet C of scenario B, as printed.

Transcribed from ``shared/spec/HAI_PHONG.md`` (itself from the paper's Annex II,
"Cost-sharing and health insurance premium simulation model, version 2.1").
Amounts are in thousands of VND and people in thousands, as printed; each row
records how many decimals were printed, which sets its tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrintedRow:
    """One printed row of Annex II.

    Attributes
    ----------
    label : str
        The row as the paper names it.
    values : tuple of float
        1993..1997, as printed.
    decimals : int
        Decimals printed (0 for "24,984,000", 3 for "1500.000", 2 for "9.04 %").
    scale : float
        Our value is divided by this before comparing (1000 for "thousands").
    percent : bool
        Printed as a percentage of a share.
    """

    label: str
    values: tuple[float, ...]
    decimals: int
    scale: float = 1000.0
    percent: bool = False


YEARS = (1993, 1994, 1995, 1996, 1997)
K = 1000.0

#: each row: (our variable, selection) -> PrintedRow
ANNEX_II_SCENARIO_B: dict[tuple[str, tuple[tuple[str, str], ...]], PrintedRow] = {
    ("domestic_price_index", ()): PrintedRow(
        "domestic price index", (100.00, 115.00, 132.25, 152.09, 174.90), 2, 1.0
    ),
    ("external_price_index", ()): PrintedRow(
        "external price index", (100.00, 105.00, 110.25, 115.76, 121.55), 2, 1.0
    ),
    ("exchange_rate", ()): PrintedRow(
        "exchange rate (VND/US$)", (10500.00, 11500.00, 12595.24, 13794.78, 15108.57), 2, 1.0
    ),
    ("total_population", ()): PrintedRow(
        "population", (1500.000, 1533.000, 1566.726, 1601.194, 1636.420), 3
    ),
    ("population", (("category", "dependants"),)): PrintedRow(
        "dependants", (585.000, 597.870, 611.023, 624.466, 638.204), 3
    ),
    ("population", (("category", "farmers"),)): PrintedRow(
        "farm-se-sp", (755.000, 771.610, 788.585, 805.934, 823.665), 3
    ),
    ("services", (("service", "inpatient_day_city"),)): PrintedRow(
        "inpatient days, city/provincial", (268800, 274714, 280757, 286934, 293247), 0, 1.0
    ),
    ("services", (("service", "inpatient_day_district"),)): PrintedRow(
        "inpatient days, district", (928800, 949234, 970117, 991459, 1013271), 0, 1.0
    ),
    ("services", (("service", "consultation_city"),)): PrintedRow(
        "consultations, city/provincial", (225000, 229950, 235009, 240179, 245463), 0, 1.0
    ),
    ("services", (("service", "consultation_district"),)): PrintedRow(
        "consultations, district", (1680000, 1716960, 1754733, 1793337, 1832791), 0, 1.0
    ),
    ("services", (("service", "consultation_commune"),)): PrintedRow(
        "consultations, commune", (345000, 352590, 360347, 368275, 376377), 0, 1.0
    ),
    ("patient_cost", ()): PrintedRow(
        "patient cost (current)", (24984000, 29363695, 34511151, 40560956, 47671291), 0
    ),
    ("government_cost", ()): PrintedRow("government cost (current)", (0, 0, 0, 0, 0), 0),
    ("total_cost_constant", ()): PrintedRow(
        "total cost (constant prices)", (24984000, 25533648, 26095388, 26669487, 27256216), 0
    ),
    ("total_members", ()): PrintedRow(
        "total membership", (300.000, 368.942, 447.039, 528.394, 613.112), 3
    ),
    ("members", (("category", "dependants"),)): PrintedRow(
        "members: dependants", (58.500, 89.681, 122.205, 156.116, 191.461), 3
    ),
    ("members", (("category", "farmers"),)): PrintedRow(
        "members: farm-se-sp", (81.500, 115.742, 157.717, 201.484, 247.099), 3
    ),
    ("members", (("category", "government_admin"),)): PrintedRow(
        "members: government administrative", (67.500, 68.985, 70.503, 72.054, 73.639), 3
    ),
    ("members", (("category", "industrial"),)): PrintedRow(
        "members: industrial", (70.000, 71.540, 73.114, 74.722, 76.366), 3
    ),
    ("members", (("category", "retired_government"),)): PrintedRow(
        "members: retired government", (22.500, 22.995, 23.501, 24.018, 24.546), 3
    ),
    ("total_exempted_members", ()): PrintedRow("members exempted", (0, 0, 0, 0, 0), 0),
    ("premium", (("category", "dependants"),)): PrintedRow(
        "premium: dependants (VND)", (5000, 7500, 10000, 13000, 16000), 0, 1.0
    ),
    ("premium", (("category", "farmers"),)): PrintedRow(
        "premium: farm-se-sp", (11000, 16500, 21000, 25500, 30000), 0, 1.0
    ),
    ("premium", (("category", "government_admin"),)): PrintedRow(
        "premium: government administrative", (24000, 27600, 31740, 36501, 41976), 0, 1.0
    ),
    ("premium", (("category", "industrial"),)): PrintedRow(
        "premium: industrial", (35010, 40262, 46301, 53246, 61233), 0, 1.0
    ),
    ("premium", (("category", "retired_government"),)): PrintedRow(
        "premium: retired government", (12000, 13800, 15870, 18251, 20988), 0, 1.0
    ),
    ("total_expenditure", ()): PrintedRow(
        "total expenditure", (5496480, 7641495, 10508009, 14145066, 18734787), 0
    ),
    ("admin_expenditure", ()): PrintedRow(
        "of which admin", (499680, 574632, 660827, 759951, 873943), 0
    ),
    ("health_care_payments", ()): PrintedRow(
        "of which health care payments", (4996800, 7066863, 9847182, 13385115, 17860844), 0
    ),
    ("premium_revenue", ()): PrintedRow(
        "total revenue from premiums", (5529700, 7683963, 10530045, 14214372, 18758734), 0
    ),
    ("balance", ()): PrintedRow("balance", (33220, 42469, 22036, 69306, 23947), 0),
    ("health_care_payments_per_member", ()): PrintedRow(
        "health care payments per insured (VND)", (16656, 19154, 22028, 25332, 29131), 0, 1.0
    ),
    ("admin_share_of_revenue", ()): PrintedRow(
        "admin as % of premium revenue", (9.04, 7.48, 6.28, 5.35, 4.66), 2, 1.0, percent=True
    ),
    ("copayments", ()): PrintedRow("co-payments by the insured", (0, 0, 0, 0, 0), 0),
    ("user_fees", ()): PrintedRow(
        "fees paid by the non-insured", (19987200, 22296833, 24663969, 27175840, 29810447), 0
    ),
    ("user_fees_share", ()): PrintedRow(
        "financing share: user fees", (80.0, 75.9, 71.5, 67.0, 62.5), 1, 1.0, percent=True
    ),
    ("health_care_payments_share", ()): PrintedRow(
        "financing share: insurance", (20.0, 24.1, 28.5, 33.0, 37.5), 1, 1.0, percent=True
    ),
}
