"""The observations file of ``schemerisk update``: every kind of bad input is refused, before any
work, with the file, the line and the column named (issue 15)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import xarray as xr

from schemerisk.analysis.update import (
    ObservationsError,
    read_observations,
    reference_projection,
)
from schemerisk.cli import main
from schemerisk.uncertainty.montecarlo import bind_space

SCENARIO = "hai_phong_1993_1997"
EXAMPLE = Path(__file__).parents[2] / "scenarios" / "hai_phong_observed_1993_1994.csv"


@pytest.fixture(scope="module")
def reference() -> xr.Dataset:
    """The deterministic Hai Phong 1993-1997 projection: the valid years, outputs and names."""
    return reference_projection(bind_space(SCENARIO, SCENARIO))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "observed.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, reference: xr.Dataset, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ObservationsError) as info:
        read_observations(path, reference)
    message = str(info.value)
    assert message.startswith(str(path)), message  # every message names the file
    return message


def test_a_good_file_is_read_with_its_hash_and_absolute_errors(
    tmp_path: Path, reference: xr.Dataset
) -> None:
    text = (
        "year,output,category,service,value,rel_sd,sd\n"
        "1993,members,farmers,,27500,0.03,\n"
        "1994,services,,consultation_commune,1.5e6,,20000\n"
        "1993,balance,,,-1000000,,500000\n"
    )
    path = _write(tmp_path, text)
    obs = read_observations(path, reference)
    assert [o.line for o in obs.items] == [2, 3, 4]
    assert obs.items[0].sd == pytest.approx(0.03 * 27500)  # rel_sd x |value|
    assert obs.items[0].category == "farmers" and obs.items[0].service is None
    assert obs.items[1].sd == 20000 and obs.items[1].service == "consultation_commune"
    assert obs.items[2].sd == 500000  # a negative balance with an absolute error is fine
    assert obs.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert obs.last_year == 1994


def test_the_shipped_example_is_valid(reference: xr.Dataset) -> None:
    obs = read_observations(EXAMPLE, reference)
    assert len(obs.items) == 8 and obs.last_year == 1994


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a year outside the horizon 1993-1997
        (
            "year,output,value,rel_sd\n1999,balance,1,0.1\n",
            ["line 2", "column 'year'", "1993-1997"],
        ),
        ("year,output,value,rel_sd\n1993.5,balance,1,0.1\n", ["line 2", "not a whole year"]),
        # an unknown output, with the nearest valid name
        (
            "year,output,category,value,rel_sd\n1993,member,farmers,1,0.1\n",
            ["line 2", "column 'output'", "unknown output 'member'", "did you mean 'members'"],
        ),
        # an unknown category / service, with the nearest valid name
        (
            "year,output,category,value,rel_sd\n1993,members,farmer,1,0.1\n",
            ["line 2", "column 'category'", "unknown category 'farmer'", "'farmers'"],
        ),
        (
            "year,output,service,value,rel_sd\n1993,services,consultation_comune,1,0.1\n",
            ["line 2", "column 'service'", "'consultation_commune'"],
        ),
        # a category missing for an output by category, given for one without
        (
            "year,output,category,value,rel_sd\n1993,members,,1,0.1\n",
            ["line 2", "column 'category'", "'members' is by category"],
        ),
        (
            "year,output,category,value,rel_sd\n1993,balance,farmers,1,0.1\n",
            ["line 2", "column 'category'", "'balance' has no category"],
        ),
        # a negative or zero error
        (
            "year,output,value,rel_sd\n1993,balance,1,-0.1\n",
            ["line 2", "column 'rel_sd'", "greater than 0"],
        ),
        ("year,output,value,sd\n1993,balance,1,0\n", ["line 2", "column 'sd'", "greater than 0"]),
        # a relative error of a zero value
        ("year,output,value,rel_sd\n1993,balance,0,0.1\n", ["line 2", "absolute sd"]),
        # both or neither error on a row
        ("year,output,value,rel_sd,sd\n1993,balance,1,0.1,5\n", ["line 2", "exactly one"]),
        # non-numeric values
        (
            "year,output,value,rel_sd\n1993,balance,lots,0.1\n",
            ["line 2", "column 'value'", "'lots'"],
        ),
        ("year,output,value,rel_sd\n1993,balance,nan,0.1\n", ["line 2", "finite"]),
        ("year,output,value,rel_sd\n1993,balance,1,ten\n", ["line 2", "column 'rel_sd'", "'ten'"]),
        # a duplicate row
        (
            "year,output,value,rel_sd\n1993,balance,1,0.1\n1994,balance,1,0.1\n1993,balance,2,0.2\n",
            ["line 4", "duplicate observation of balance in 1993", "first on line 2"],
        ),
        # columns that are not the documented ones
        (
            "year,output,value,relsd\n1993,balance,1,0.1\n",
            [
                "line 1",
                "column 'relsd'",
                "unknown column",
                "did you mean 'rel_sd'",
                "missing the error",
            ],
        ),
        ("year,value,rel_sd\n1993,1,0.1\n", ["line 1", "column 'output'", "missing required"]),
        (
            "year,output,value,rel_sd\n1993,balance,1\n",
            ["line 2", "3 fields, but the header has 4"],
        ),
        ("", ["empty"]),
        ("year,output,value,rel_sd\n", ["header only"]),
        # yes/no and by-tier outputs cannot be observed
        (
            "year,output,value,rel_sd\n1993,in_equilibrium,1,0.1\n",
            ["unknown output 'in_equilibrium'"],
        ),
    ],
)
def test_bad_input_names_file_line_and_column(
    tmp_path: Path, reference: xr.Dataset, text: str, expected: list[str]
) -> None:
    message = _problems(tmp_path, reference, text)
    for part in expected:
        assert part in message, (part, message)


def test_every_problem_is_listed_at_once(tmp_path: Path, reference: xr.Dataset) -> None:
    text = "year,output,value,rel_sd\n2020,balance,1,0.1\n1993,balanse,1,0.1\n1994,balance,1,0\n"
    message = _problems(tmp_path, reference, text)
    assert "3 problems" in message
    assert all(f"line {i}" in message for i in (2, 3, 4))


def test_cli_refuses_bad_observations_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "year,output,value,rel_sd\n1993,balanse,1,0.1\n")
    out = tmp_path / "posterior.nc"
    code = main(["update", SCENARIO, SCENARIO, str(path), "-n", "100", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err and "line 2" in err and "did you mean 'balance'" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_missing_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["update", SCENARIO, SCENARIO, str(tmp_path / "nope.csv"), "-n", "100"])
    assert code == 2 and "nope.csv" in capsys.readouterr().err
