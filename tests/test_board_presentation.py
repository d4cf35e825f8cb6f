"""How a board reads: the plot of a many-row board, the notes beside its values, its labels and
the run pages it links (issue #22)."""

from __future__ import annotations

import pytest

from fixtures.run_records import make_record
from harness.leaderboard import plot
from harness.leaderboard.write import views_from_records
from harness.store import records as results
from harness.tasks.nlb.metrics import MetricValue


def _record(run_id: str, model: str, co_bps: float, seconds: float, **changes) -> dict:
    metrics = {"co-bps": MetricValue(co_bps, "val", 15, list(range(15)), "nlb_tools bits_per_spike", True)}
    return make_record(run_id, model=model, objective="mtm", wall_seconds=seconds, metrics=results.record_metrics(metrics), **changes)


@pytest.fixture(scope="module")
def many_rows_view():
    """36 rows with long names, as mc_maze_small's board has."""
    records = [
        _record(f"run-{index}", f"model-{index}+with+a+long+name", 0.05 + index / 200, 30.0 * 1.2**index,
                spec={"model": "ndt", "objective": "mtm", "label": f"variant number {index}"})
        for index in range(36)
    ]
    (view,) = views_from_records(records)
    return view


def test_a_many_row_plot_names_a_few_rows_each_in_its_own_style(many_rows_view):
    figure = plot.plot_figure(many_rows_view)
    legend = figure.legends[0]
    (axes,) = figure.axes
    drawn = {container.get_label(): container.lines[0] for container in axes.containers}  # each errorbar's marker line
    texts = [text.get_text() for text in legend.get_texts()]
    assert len(texts) == plot.LABELLED_ROWS + 1  # the named rows and one grouped entry
    styles = [(drawn[text].get_color(), drawn[text].get_marker()) for text in texts]
    assert len(set(styles)) == len(styles), styles
    assert texts[-1] == f"{36 - plot.LABELLED_ROWS} more rows (see the table)"
    assert texts[0].startswith("model-35+with+a+long+name [variant number 35] × mtm")  # the best first


def test_the_plot_axes_take_most_of_the_figure_and_no_text_is_clipped(many_rows_view):
    figure = plot.plot_figure(many_rows_view)
    figure.canvas.draw()
    (axes,) = figure.axes
    box = axes.get_position()
    assert box.width > 0.6 and box.height > 0.35, box
    renderer = figure.canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    for artist in (axes.title, axes.yaxis.label, axes.xaxis.label, figure.legends[0]):
        extent = artist.get_window_extent(renderer)
        assert extent.x0 >= -1 and extent.y0 >= -1 and extent.x1 <= width + 1 and extent.y1 <= height + 1, (artist, extent)


# -- run pages --------------------------------------------------------------------------------


def _nlb(run_id: str, model: str, objective: str | None, co_bps: float, **changes) -> dict:
    record = _record(run_id, model, co_bps, 60.0, **changes)
    record["objective"] = objective
    record["versions"] = dict(record["versions"], plugins={"bench-ndt": "0.1.0", "bench-mtm": "0.1.0", "bench-ensemble": "0.1.0",
                                                          "bench-nlb": "0.1.0", "bench-lfads": "0.1.0", "bench-cutmix": "0.1.0"})
    return record


@pytest.fixture
def linked_site(tmp_path):
    """Stacking variants, an ensemble of two runs, a K-fold row with its fold runs, an older run."""
    from harness.leaderboard.write import generate

    store = tmp_path / "store"
    made = [
        _nlb("ndt-old", "ndt", "mtm", 0.1, created="2025-01-01T00:00:00+00:00"),
        _nlb("ndt-s0", "ndt", "mtm", 0.2, created="2025-01-01T00:00:01+00:00"),
        _nlb("ndt-tuned", "ndt", "mtm", 0.21, spec={"model": "ndt", "objective": "mtm", "label": "tuned"}),
    ]
    for label in ("stacking", "stacking penalty=lasso"):
        made.append(_nlb(f"ens-{label.replace(' ', '-').replace('=', '_')}", "ndt", "mtm", 0.25, ensembler="stacking",
                         spec={"ensembler": "stacking", "label": label, "members": ["ndt-s0", "ndt-tuned"]}))
    folds = [_nlb(f"ndt-cv2f{fold}", "ndt", "mtm", 0.2, spec={"model": "ndt", "objective": "mtm", "fold": fold, "folds": 2}) for fold in range(2)]
    pooled = _nlb("ndt-cv2", "ndt", "mtm", 0.22, spec={"model": "ndt", "objective": "mtm", "folds": 2})
    pooled["folds"] = {"k": 2, "seed": 0, "members": ["ndt-cv2f0", "ndt-cv2f1"], "per_fold": {"co-bps": [0.2, 0.2]}, "spread": {"co-bps": 0.01}}
    for record in [*made, *folds, pooled]:
        results.write_record(record, store=store)
    generate(store, tmp_path / "out")
    return tmp_path / "out" / "site"


def test_every_run_page_is_linked_from_its_board(linked_site):
    import re

    pages = {path.name for path in (linked_site / "runs").glob("*.html")}
    linked = set(re.findall(r'href="runs/([^"]+)"', (linked_site / "mc_maze_small.html").read_text()))
    assert len(pages) == 8 and pages <= linked, pages - linked


def test_run_page_titles_name_the_variant_and_members_are_links(linked_site):
    import re

    titles = {page.stem: re.search(r"<h1>(.*?)</h1>", page.read_text()).group(1) for page in (linked_site / "runs").glob("*.html")}
    assert titles["ndt-tuned"] == "ndt [tuned] × mtm, seed 0"
    assert titles["ens-stacking"] != titles["ens-stacking-penalty_lasso"]
    assert titles["ens-stacking-penalty_lasso"] == "ndt × mtm × stacking penalty=lasso, seed 0"
    assert titles["ndt-cv2f1"] == "ndt × mtm (2-fold), seed 0, fold 1"
    assert "older run, not counted" in titles["ndt-old"]
    assert len(set(titles.values())) == len(titles)
    ensemble = (linked_site / "runs" / "ens-stacking.html").read_text()
    assert '<a href="../runs/ndt-s0.html">ndt-s0: ndt × mtm, seed 0</a>' in ensemble
    assert '<a href="../runs/ndt-cv2f0.html">' in (linked_site / "runs" / "ndt-cv2.html").read_text()


def test_run_page_versions_name_the_plugins_the_run_used(linked_site):
    page = (linked_site / "runs" / "ens-stacking.html").read_text()
    versions = page[page.index("<h2>Versions</h2>"):page.index("<h2>Spec</h2>")]
    assert "bench-ndt" in versions and "bench-mtm" in versions and "bench-nlb" in versions  # model, objective, dataset
    assert "bench-lfads" not in versions and "bench-cutmix" not in versions
    assert "3 other plugins" in versions  # bench-ensemble (not stacking's), lfads, cutmix
