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


# -- labels and notes ------------------------------------------------------------------------


def _metrics(**values) -> dict:
    return results.record_metrics({
        name: MetricValue(value, split, n, list(range(n)), note, True) for name, (value, split, n, note) in values.items()
    })


@pytest.fixture
def noted_view():
    """Two models a reader may not know, a K-fold row, and three ensembles of the same members."""
    kfold = _record("rob-cv5", "neural-roberta", 0.2, 60.0, spec={"model": "neural-roberta", "objective": "random", "folds": 5})
    kfold["metrics"] = _metrics(**{
        "co-bps": (0.2, "5-fold val", 75, ""), "co-bps (eval-size null)": (0.18, "5-fold val", 75, "grouped null"),
        "16-shot co-bps": (None, "5-fold val", 75, "needs more than 16 train trials to draw from, the train split has 0; pooled over all 75"),
    })
    kfold["folds"] = {"k": 5, "seed": 0, "members": [], "per_fold": {}, "spread": {"co-bps": 0.01}}
    made = [kfold, _record("rr-s0", "r-roberta", 0.15, 60.0)]
    for index, (ensembler, co_bps, fp_bps) in enumerate([("mean", 0.28, 0.022), ("stacking", 0.29, 0.022), ("mean top=2", 0.3, 0.03)]):
        record = _record(f"ens-{index}", "ndt+rnnf", co_bps, 60.0, ensembler=ensembler.split()[0],
                         spec={"ensembler": ensembler.split()[0], "label": ensembler, "members": ["a", "b", "c"]})
        record["metrics"] = _metrics(**{
            "co-bps": (co_bps, "val", 15, "cross-fitted"), "fp-bps": (fp_bps, "val", 15, "val rates cross-fitted"),
            "val_co_bps (in-sample)": (co_bps + 0.01, "val", 15, "in-sample"),
        })
        made.append(record)
    (view,) = views_from_records(made)
    return view


def test_metrics_read_by_human_labels_and_are_explained(noted_view):
    from harness.leaderboard import markdown, site

    text = markdown.render_board(noted_view)
    assert "val co-bps (in-sample) (val, 15 trials) ↑" in text and "val_co_bps" not in text
    page = site.render_board(noted_view).decode()
    assert "null rates fitted on eval-sized groups of trials — the level to compare with a withheld eval score" in page
    header = next(cell for cell in page.split("<th ") if cell.split(">", 1)[1].startswith("co-bps (eval-size null)"))
    assert "eval-sized groups" in header.split(">", 1)[0]  # in the header's tooltip
    # the models a reader may not know are described under the board, from their registry entries
    assert "- **neural-roberta** (model): Makin lab Neural RoBERTa" in text
    assert "- **r-roberta** (model): Makin lab r-RoBERTa: the mean of an RNNf's and a Neural RoBERTa's rates" in text


def test_kfold_rows_say_why_they_have_no_kshot_value(noted_view):
    from harness.leaderboard import markdown

    text = markdown.render_board(noted_view)
    assert "the train split has 0" not in text
    assert "- **16-shot co-bps**: not computed for a K-fold row: a k-shot GLM is fitted on train trials" in text


def test_ensembles_that_share_a_value_say_so(noted_view):
    from harness.leaderboard import markdown

    (alike,) = noted_view.alike
    assert alike.metrics == ("fp-bps",) and [row.ensembler for row in alike.rows] == ["stacking", "mean"]
    text = markdown.render_board(noted_view)
    assert "- fp-bps: the same value in 2 ensembles of the same ndt+rnnf × mtm runs (stacking, mean). These ensemblers combine" in text
    assert "members' mean" in text  # the task's term says why: fp-bps reads held-in and forward rates


def test_run_pages_use_the_labels_and_notes_the_board_does(tmp_path):
    from harness.leaderboard import site

    kfold = _record("cv5", "ndt", 0.2, 60.0, spec={"model": "ndt", "objective": "mtm", "folds": 5})
    kfold["metrics"] = _metrics(**{
        "co-bps": (0.2, "5-fold val", 75, ""), "val_co_bps": (0.2, "5-fold val", 75, ""),
        "16-shot co-bps": (None, "5-fold val", 75, "needs more than 16 train trials to draw from, the train split has 0"),
    })
    kfold["folds"] = {"k": 5, "seed": 0, "members": [], "per_fold": {}, "spread": {}}
    (view,) = views_from_records([kfold])
    page = site.render_run(kfold, view, None).decode()
    assert "<td>val co-bps ↑</td>" in page and "the train split has 0" not in page and "not computed for a K-fold row" in page
