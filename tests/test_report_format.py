"""Report wording: method labels from a method's parts, undefined spreads, rounding, collapsing."""

from __future__ import annotations

import pandas as pd

from harness.report.tables import (collapse, describe_method, format_ci, format_number, humanize, markdown, seed_spread,
                                   table_html)
from harness.workflow.runs import configured_method

VARIANTS = {
    "bnnas-budget-30pct": {"base": "bnnas", "epoch_fraction": 0.3},
    "bnnas-bn-all-ops": {"base": "bnnas", "space_knobs": {"nats-tss": {"op_bn": "all"}}},
    "bnnas-beta": {"base": "bnnas", "statistic": "beta"},
}


def described(name: str, space: str | None = None) -> str:
    return describe_method(configured_method({"method_variants": VARIANTS, "method_options": {}}, name).describe(), space)


def test_a_variant_is_described_by_its_own_parts_not_its_base_summary():
    assert "10% of the baseline epochs" in described("bnnas")
    budget = described("bnnas-budget-30pct")
    assert "30% of the baseline epochs" in budget and "10%" not in budget
    assert "every op has a BN (op_bn = all)" in described("bnnas-bn-all-ops", "nats-tss")
    assert "op_bn" not in described("bnnas")
    assert "(beta)" in described("bnnas-beta") and "(abs_gamma)" in described("bnnas")
    assert "trains BN only" in described("bnnas") and "trains all weights" in described("spos")
    assert described("params").startswith("no supernet (trivial)")


def test_a_spread_over_one_seed_is_undefined():
    assert seed_spread(float("nan"), 1) == "n/a (1 seed)"
    assert seed_spread(0.0, 1) == "n/a (1 seed)"
    assert seed_spread(0.4567, 3) == "0.46"


def test_numbers_are_rounded_to_what_carries_meaning():
    assert format_number(123456.789, 1) == "123,457"
    assert format_number(12.345, 1) == "12.3"
    assert format_number(0.000123456, 2) == "0.000123"
    assert pd.isna(format_number(float("nan"), 2))  # missing stays missing (shown as a dash)
    shown = humanize(pd.DataFrame({"train_time_s": [1234.5], "unknown_col": [0.123456]}))
    assert list(shown.columns) == ["supernet training (s)", "unknown_col"]
    assert shown.iloc[0, 0] == "1,234" and shown.iloc[0, 1] == 0.123456


def test_long_lists_are_collapsed():
    assert collapse(list(range(3))) == "0, 1, 2"
    assert collapse(list(range(12))) == "0, 1, 2, 3, … (12 in all)"


def test_tables_scroll_inside_a_wrapper_and_numbers_align_right():
    page = table_html(pd.DataFrame({"method": ["spos"], "speed-up": ["12.5×"]}))
    assert page.startswith('<div class="table-wrap">')
    assert '<td class="num">12.5×</td>' in page and "<td>spos</td>" in page


def test_a_pipe_in_a_header_or_cell_does_not_split_a_markdown_table():
    text = markdown(pd.DataFrame({"max |γ-γ0|": [0.5], "note": ["a | b"], "n": [3]}))
    header, separator, row = text.splitlines()

    def cells(line: str) -> list[str]:  # an escaped pipe is text, not a border
        return line.replace("\\|", "").split("|")[1:-1]

    assert len(cells(header)) == len(cells(separator)) == len(cells(row)) == 3
    assert "max \\|γ-γ0\\|" in header and "a \\| b" in row


def test_a_value_never_prints_outside_its_own_ci():
    assert format_ci(0.57735, 0.57735, 1.0) == "0.577 [0.577, 1.000]"
    assert format_ci(0.5, float("nan"), float("nan")) == "0.500" and format_ci(float("nan"), 0, 1) == "n/a"
