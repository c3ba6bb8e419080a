"""The report's section on observations (``schemerisk report --observed``): valid HTML5 with the
update's own numbers, embedded figures, and a bad file refused before the study runs (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

import html5lib
import matplotlib
import pytest

matplotlib.use("Agg")

from schemerisk.analysis.update import (
    Update,
    read_observations,
    reference_projection,
    risk_table,
    update,
)
from schemerisk.cli import main
from schemerisk.reports.update import update_section
from schemerisk.uncertainty.montecarlo import bind_space

SCENARIO = "hai_phong_1993_1997"
EXAMPLE = Path(__file__).parents[2] / "scenarios" / "hai_phong_observed_1993_1994.csv"


@pytest.fixture(scope="module")
def result() -> Update:
    space = bind_space(SCENARIO, SCENARIO)
    obs = read_observations(EXAMPLE, reference_projection(space))
    return update(space, obs, 1500, seed=2, method="is", progress=False)


def test_section_is_valid_html5_with_the_updates_numbers(result: Update) -> None:
    section = update_section(result, 0.05, "8.")
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
        f"<body>{section}</body></html>"
    )
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(page)
    assert parser.errors == []
    assert section.startswith('<h2 id="update">8. Updated with what the scheme has observed')
    assert "Effective sample size of the importance weights" in section
    assert result.observations.sha256[:12] in section
    assert len(re.findall(r'<img src="data:image/png;base64,', section)) == 3
    risk = risk_table(result)
    # the 1997 row carries the weighted P(deficit) of risk_table, rounded to 0.1 %
    row = re.search(r"<td class=\"l\">1997</td>(.*?)</tr>", section)
    assert row is not None
    assert f"{risk.loc[1997, 'posterior_p_deficit']:.1%}" in row.group(1)
    for o in result.observations.items:
        assert o.label in section


def test_report_refuses_a_bad_observations_file_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "obs.csv"
    bad.write_text("year,output,value,rel_sd\n2050,balance,1,0.1\n", encoding="utf-8")
    out = tmp_path / "report.html"
    code = main(
        [
            "report",
            "-o",
            str(out),
            "--observed",
            str(bad),
            "-n",
            "100",
            "-N",
            "8",
            "--max-base-samples",
            "8",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and "line 2" in err and "1993-1997" in err
    assert not out.exists()
