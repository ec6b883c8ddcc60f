"""Reading values.csv back: each distinct text parsed once, the numbers (and errors) of the full parse."""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ictaudit.common.tables import write_csv
from ictaudit.intake.values import VALUE_COLUMNS, _numbers, read_values

TEXTS = [
    "", "0", "-0", "1", "69", "32.2", "0.1", "1e5", "1.5E-7", "2.675", "-4", "9007199254740993", "18446744073709551617",
    "123456789012345678901234567890", "inf", "-inf", "NaN", " 7", "0.30000000000000004",
]  # fmt: skip


def reference(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.replace("", np.nan), errors="raise").astype(float)


@given(st.lists(st.sampled_from(TEXTS), max_size=30))
@settings(max_examples=300, deadline=None)
def test_distinct_texts_give_the_numbers_of_the_full_parse(texts):
    text = pd.Series(texts, dtype="str", name="value")
    try:
        expected = reference(text)
    except ValueError as e:  # "NaN", " 7", … are no numbers to to_numeric
        with pytest.raises(ValueError, match=re.escape(str(e))):
            _numbers(text)
        return
    pd.testing.assert_series_equal(_numbers(text), expected, check_exact=True)


def test_a_text_that_is_no_number_is_reported_as_by_the_full_parse():
    text = pd.Series(["1", "2", "1", "abc", "2"], dtype="str", name="value")
    with pytest.raises(ValueError) as expected:
        reference(text)
    with pytest.raises(ValueError) as got:
        _numbers(text)
    assert str(got.value) == str(expected.value)


def test_read_values_reads_what_write_csv_wrote(tmp_path):
    rows = [
        {"agency_id": "so-a", "field": f"F{i:02d}", "raw_value": t, "value": v, "source_file": "so-a.xlsx",
         "source_sha256": "ab" * 32, "sheet": "Số liệu", "cell": f"D{i + 5}", "correction_id": ""}
        for i, (t, v) in enumerate([("69", 69.0), ("32,2", 32.2), ("", np.nan), ("Có", 1.0), ("2.675", 2.675)])
    ]  # fmt: skip
    df = pd.DataFrame(rows, columns=list(VALUE_COLUMNS))
    back = read_values(write_csv(df, tmp_path / "values.csv"))
    np.testing.assert_array_equal(back["value"].to_numpy(), df["value"].to_numpy())
    assert back["raw_value"].tolist() == df["raw_value"].tolist()
