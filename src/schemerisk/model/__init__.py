"""The model: input layout, the compiled kernel and its results as xarray."""

from schemerisk.model.kernel import Modifications, run_kernel
from schemerisk.model.layout import ModelInputs, compile_inputs
from schemerisk.model.project import as_scenario, project
from schemerisk.model.results import DEFAULT_KEEP, OUTPUT_VARIABLES, add_memoranda, rows_to_dataset

__all__ = [
    "DEFAULT_KEEP",
    "OUTPUT_VARIABLES",
    "ModelInputs",
    "Modifications",
    "add_memoranda",
    "as_scenario",
    "compile_inputs",
    "project",
    "rows_to_dataset",
    "run_kernel",
]
