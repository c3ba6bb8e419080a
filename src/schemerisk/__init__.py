"""schemerisk: deficit risk of health insurance schemes.

The WHO cost-sharing and health insurance premium simulation model (Carrin,
Ron & Murray 1993) as one compiled kernel, with an uncertainty layer on top.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("schemerisk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from schemerisk.errors import InputError, Problem, ScenarioError
from schemerisk.scenario import Scenario, load_scenario, parse_scenario

__all__ = [
    "InputError",
    "Problem",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "parse_scenario",
]
