"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DatasetOption = Annotated[
    Optional[str],
    typer.Option("--dataset", "-d", help="A registered dataset name (bench data list) or a path to a data file or folder."),
]
SeedOption = Annotated[Optional[int], typer.Option("--seed", help="Random seed (default 0).")]
DeviceOption = Annotated[Optional[str], typer.Option("--device", help="cpu, cuda or cuda:N (default: CUDA when present, else CPU).")]
SpecOption = Annotated[
    Optional[list[Path]],
    typer.Option("--spec", help="A run spec YAML file; command-line options override it. Repeatable: several specs (board trainings) in one command.", exists=False),
]
