"""``bench validate``: check run specs without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from harness import hookimpl
from harness.plugin.commands import CommandRegistry
from harness.cli.state import cli_state
from harness.errors import BenchError, SpecError
from harness.plugin.host import Host
from harness.search.spec import is_search_file
from harness.specs import RunSpec, load_spec

console = Console(highlight=False, soft_wrap=True)


def check_spec(host: Host, spec: RunSpec, source: str) -> None:
    """Names resolve and every config key is one the component knows; nothing is built."""
    checks = [("model", spec.model, spec.model_config, host.registries.models)]
    if spec.objective is not None:
        checks.append(("objective", spec.objective, spec.objective_config, host.registries.objectives))
    for key, name, config, registry in checks:
        try:
            entry = registry.get(name)
        except BenchError as error:
            raise SpecError(source, key, str(error)) from None
        for option in config:
            if option not in entry.defaults:
                known = ", ".join(sorted(entry.defaults)) or "none"
                raise SpecError(source, f"{key}_config.{option}", f"{key} '{name}' has no such option. Known options: {known}")
    if spec.objective is not None:  # nothing is loaded here, so the dataset's task is checked when it runs
        model_tasks = host.registries.models.get(spec.model).tasks
        objective_tasks = host.registries.objectives.get(spec.objective).tasks
        if not set(model_tasks) & set(objective_tasks):
            raise SpecError(
                source, "objective", f"objective '{spec.objective}' serves {', '.join(objective_tasks)}, but model '{spec.model}' serves {', '.join(model_tasks)}"
            )
    try:
        host.resolve_dataset(spec.dataset, spec.dataset_config)
    except BenchError as error:
        raise SpecError(source, "dataset", str(error)) from None


def check_search(host: Host, file: Path) -> None:
    """A search spec (``kind: search``): its base run, families, parameters, sampler and pruner."""
    from harness.search.study import make_pruner, make_sampler
    from harness.search.space import build_plan
    from harness.search.spec import check_pbt_options, load_search_spec

    search = load_search_spec(file)
    check_spec(host, search.base, f"{file} (base)")
    build_plan(host, search)
    if search.sampler["name"] == "pbt":  # Ray Tune's scheduler, not an Optuna sampler
        check_pbt_options(search.sampler, f"{file}")
    else:
        make_sampler(search.sampler, source=f"{file}: key 'sampler'")
    make_pruner(search.pruner, source=f"{file}: key 'pruner'")


def validate_command(
    ctx: typer.Context,
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Spec files or folders (default: specs/).")] = None,
) -> None:
    """Validate every run and search spec (YAML safe-loaded, keys, types, registered names, config keys, search spaces)."""
    host = cli_state(ctx).host
    files: list[Path] = []
    for path in paths or [Path("specs")]:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            files.append(path)
        else:
            raise BenchError(f"{path}: no such spec file or folder")
    if not files:
        raise BenchError(f"no spec files found in {', '.join(str(p) for p in paths or [Path('specs')])}")
    failures = 0
    for file in files:
        if file.name.startswith("_") or ".base." in file.name:
            pass  # bases are validated through the specs that include them, but must still parse
        try:
            if is_search_file(file):
                check_search(host, file)
            else:
                spec = load_spec(file)
                if not (file.name.startswith("_") or ".base." in file.name):
                    check_spec(host, spec, str(file))
        except BenchError as error:
            failures += 1
            console.print(f"[red]FAIL[/] {error}")
            continue
        console.print(f"[green]ok[/]   {file}")
    if failures:
        raise BenchError(f"{failures} of {len(files)} spec(s) invalid")


@hookimpl
def bench_register_commands(cli: CommandRegistry) -> None:
    cli.app.command("validate")(validate_command)
