"""A plausible agency that passes every logic check: the baseline of the validation tests, the check
scenarios and ``benchmarks/validation_2000.py`` (a case changes a few of its values)."""

from ictaudit.rules.rubric import Rubric

PLAUSIBLE_COUNTS = {
    "F01": 50, "F02": 40, "F03": 45, "F04": 40, "F08": 40, "F11": 2, "F12": 40, "F14": 100, "F15": 80,
    "F16": 5, "F17": 50, "F18": 3, "F19": 4, "F23": 100, "F25": 100, "F26": 80, "F27": 50, "F28": 10,
    "F29": 10, "F30": 5, "F31": 50, "F32": 20, "F33": 5, "F39": 2, "F40": 1, "F41": 10,
    "X00": 10, "X01": 100, "X02": 50, "X03": 50, "X04": 8, "X05": 50, "X06": 8, "X07": 8, "X08": 8,
}  # fmt: skip
PLAUSIBLE_DECIMALS = {"F05": 20.0, "F44": 100.5}


def plausible_values(rubric: Rubric, form_id: str) -> dict[str, float]:
    """Field code → value for a consistent agency of ``form_id`` (every yes/no field Có)."""
    out = {}
    for spec in rubric.fields_for_form(form_id):
        if spec.type == "yesno":
            out[spec.code] = 1.0
        else:
            out[spec.code] = float({**PLAUSIBLE_COUNTS, **PLAUSIBLE_DECIMALS}.get(spec.code, 1))
    return out
