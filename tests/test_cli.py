"""The ``bench`` command line: help stays light, errors are one line, specs validate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.cli import main
from harness.testing import KitComponentsPlugin, kit_host

REPO = Path(__file__).resolve().parents[1]


def test_help_imports_no_torch():
    probe = (
        "import sys, io, contextlib\n"
        "from harness.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): code = main(['--help'])\n"
        "assert code == 0, code\n"
        "heavy = [m for m in ('torch', 'pynwb', 'h5py', 'sklearn', 'pandas') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"bench --help imported {result.stdout.strip()}"


def test_building_the_registry_imports_no_torch():
    probe = (
        "import sys\n"
        "from harness.plugin.host import Host\n"
        "host = Host(); regs = host.registries\n"
        "print(len(regs.models), 'torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split()[-1] == "False", result.stdout


def test_unknown_model_exits_non_zero_with_suggestions(capsys, bench_home):
    code = main(["run", "--dataset", "bench-tiny", "--model", "kit-linaer", "--no-progress"], host=kit_host(KitComponentsPlugin()))
    err = capsys.readouterr().err
    assert code == 1
    assert "Unknown model 'kit-linaer'. Did you mean 'kit-linear'?" in err
    assert "Available models:" in err and "kit-linear" in err
    assert len(err.strip().splitlines()) == 1 or "Traceback" not in err


def test_verbose_adds_the_traceback(capsys, bench_home):
    code = main(["--verbose", "run", "--dataset", "bench-tiny", "--model", "nope", "--no-progress"], host=kit_host(KitComponentsPlugin()))
    assert code == 1
    assert "Traceback" in capsys.readouterr().err


def test_nonexistent_model_through_the_installed_console_script(bench_home):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "bench"), "run", "--model", "nonexistent", "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "Did you mean" in result.stderr or "Available models:" in result.stderr
    assert "Available models:" in result.stderr


def test_missing_dataset_path_is_named(capsys, bench_home):
    code = main(["run", "--dataset", "no/such/file.h5", "--model", "kit-linear", "--objective", "kit-cosmoothing"], host=kit_host(KitComponentsPlugin()))
    assert code == 1
    assert "no/such/file.h5: no such file or folder" in capsys.readouterr().err


def test_validate_names_the_bad_key(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("dataset: bench-tiny\nmodel: kit-linear\nobjective: kit-cosmoothing\ntrain: {epochs: 2}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: bench-tiny\nmodel: kit-linear\nobjective: kit-cosmoothing\nmodel_config: {widht: 3}\n")
    host = kit_host(KitComponentsPlugin())
    assert main(["validate", str(good)], host=host) == 0
    assert main(["validate", str(tmp_path)], host=kit_host(KitComponentsPlugin())) == 1
    out = capsys.readouterr()
    assert "bad.yaml: key 'model_config.widht'" in out.out
    assert "1 of 2 spec(s) invalid" in out.err


def test_specs_in_the_repository_validate(capsys):
    assert main(["validate", str(REPO / "specs")]) == 0, capsys.readouterr()


def test_spec_file_with_command_line_override(bench_home, tmp_path, capsys):
    spec = tmp_path / "run.yaml"
    spec.write_text("dataset: bench-tiny\nmodel: kit-linear\nobjective: kit-cosmoothing\ntrain: {epochs: 50, lr: 0.01}\nseed: 4\n")
    code = main(["run", "--spec", str(spec), "--epochs", "2", "--no-progress"], host=kit_host(KitComponentsPlugin()))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 epochs" in out and "co-bps:" in out
    # The same command again finds the completed run instead of training twice.
    assert main(["run", "--spec", str(spec), "--epochs", "2", "--no-progress"], host=kit_host(KitComponentsPlugin())) == 0
    assert "already completed" in capsys.readouterr().out


def test_plugin_notes_reach_stderr(capsys, bench_home):
    import logging

    from harness import hookimpl

    class Noisy:
        @hookimpl
        def bench_run_started(self, run):
            logging.getLogger("bench_noisy").info("region masks skipped: one region")
            logging.getLogger("some_library").info("chatter nobody asked for")

    code = main(
        ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "1", "--no-progress"],
        host=kit_host(KitComponentsPlugin(), Noisy()),
    )
    err = capsys.readouterr().err
    assert code == 0
    assert "note: region masks skipped: one region" in err
    assert "chatter" not in err


def _command_paths(command, prefix=()):
    """Every command and group of the app, as argv prefixes (``("data", "list")``)."""
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _command_paths(sub, (*prefix, name))


def test_every_command_help_renders(capsys):
    """typer renders help as rich markup: brackets such as MODEL[/OBJECTIVE] must be escaped."""
    import typer

    from harness.cli import build_app
    from harness.plugin.host import Host

    paths = list(_command_paths(typer.main.get_command(build_app(Host()))))
    assert ("compare",) in paths and ("data", "list") in paths
    for path in paths:
        assert main([*path, "--help"]) == 0, (path, capsys.readouterr())
        capsys.readouterr()


def test_markup_in_error_messages_is_printed_as_is(tmp_path, capsys):
    from harness import hookimpl

    assert main(["compare", "a/b/c/d", "x", "--store", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "MODEL[/OBJECTIVE[/ENSEMBLER]]" in err and "Traceback" not in err

    class Broken:
        @hookimpl
        def bench_register_commands(self, cli):
            @cli.app.command("broken")
            def broken() -> None:
                raise ValueError("a [/tag] rich would choke on")

    assert main(["broken"], host=kit_host(Broken())) == 1
    err = capsys.readouterr().err
    assert "error: ValueError: a [/tag] rich would choke on (run with --verbose" in err


def test_an_unknown_command_is_a_usage_error_shown_as_click_shows_it(capsys):
    assert main(["rnu"]) == 2
    err = capsys.readouterr().err
    assert "Usage: bench [OPTIONS] COMMAND [ARGS]..." in err
    assert "Error: No such command 'rnu'. Did you mean 'run'?" in err
    assert "UsageError" not in err and "--verbose" not in err
    assert main(["run", "--no-such-option"]) == 2


def test_an_unknown_set_key_is_refused_before_any_data_loads(capsys, bench_home, monkeypatch):
    from harness.plugin.host import Host

    def no_loading(*args, **kwargs):
        raise AssertionError("the dataset was loaded before the settings were checked")

    monkeypatch.setattr(Host, "load_dataset", no_loading)
    monkeypatch.setattr(Host, "dataset", no_loading)
    base = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--no-progress"]
    for setting, message in (
        ("model.factors=500", "model 'kit-linear' has no option 'factors'. Known options: none"),
        ("objective.ratio=0.5", "objective 'kit-cosmoothing' has no option 'ratio'"),
        ("dataset.trials=3", "dataset 'bench-tiny' has no option 'trials'. Known options: seed"),
    ):
        assert main([*base, "--set", setting], host=kit_host(KitComponentsPlugin())) == 1
        err = capsys.readouterr().err
        assert message in err and "AssertionError" not in err, err
        assert len(err.strip().splitlines()) == 1, err


def test_run_says_the_defaults_it_picked(capsys, bench_home):
    from harness.testing import TINY_ENCODING_DATASET, TinyEncodingPlugin

    assert main(["run", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "(default: lorenz, synthetic and built in)" in help_text and "default: ndt" in help_text
    code = main(["run", "--dataset", TINY_ENCODING_DATASET, "--model", "kit-encoder", "--epochs", "1", "--batch-size", "4", "--no-progress"], host=kit_host(TinyEncodingPlugin()))
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0] == "defaults: objective kit-poisson (--objective to pick others)"
    assert main(["run", "--model", "kit-linear", "--epochs", "1", "--no-progress"], host=kit_host(KitComponentsPlugin())) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "defaults: dataset lorenz, objective random (--dataset/--objective to pick others)" in out
    main(["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "1", "--no-progress"], host=kit_host(KitComponentsPlugin()))
    assert "defaults:" not in capsys.readouterr().out


def test_specs_name_only_commands_a_user_has():
    """A spec's comments are read as instructions: no paths of this project's own machines."""
    for spec in sorted((REPO / "specs").glob("*.yaml")):
        text = spec.read_text()
        assert "/work/" not in text and "tools/heavy" not in text, spec.name


def test_every_shared_option_is_used_by_a_command():
    """cli/options.py holds what several commands share: an option no command uses is dead code."""
    import harness.cli.options as options

    shared = [name for name in vars(options) if name.endswith("Option")]
    sources = "\n".join(p.read_text() for p in (REPO / "harness" / "cli" / "commands").glob("*.py"))
    assert shared and [name for name in shared if name not in sources] == []


def test_ctrl_c_says_the_run_can_resume_and_exits_130(capsys):
    from harness import hookimpl

    class Interrupted:
        @hookimpl
        def bench_register_commands(self, cli):
            @cli.app.command("long")
            def long() -> None:
                raise KeyboardInterrupt

    assert main(["long"], host=kit_host(Interrupted())) == 130
    assert "interrupted: the last checkpoint is kept" in capsys.readouterr().err
