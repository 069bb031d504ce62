import numpy as np
import pandas as pd

from lstmops.benchmarks import nab_report
from lstmops.benchmarks.nab import group_summary

TIMES = pd.date_range("2024-01-01", periods=500, freq="10min")


def signal(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=len(values), freq="10min"), "value": values})


def legend_labels(figure) -> list[str]:
    (legend,) = figure.legends
    return [text.get_text() for text in legend.get_texts()]


def test_a_detection_on_a_labelled_window_is_told_apart_from_one_off_the_labels():
    values = np.sin(np.arange(500) / 10)
    score, threshold = np.abs(values), np.full(500, 0.9)
    labelled = [(TIMES[100], TIMES[120])]

    both = nab_report.series_figure(
        signal(values),
        score,
        threshold,
        labelled=labelled,
        detections=[(TIMES[110], TIMES[130]), (TIMES[300], TIMES[310])],
        title="both",
    )
    only_a_hit = nab_report.series_figure(
        signal(values), score, threshold, labelled=labelled, detections=[(TIMES[90], TIMES[100])], title="hit"
    )

    assert legend_labels(both) == [
        "signal",
        "anomaly score",
        "threshold",
        "labelled window",
        nab_report.HIT_LABEL,
        nab_report.FALSE_LABEL,
    ]
    assert nab_report.FALSE_LABEL not in legend_labels(only_a_hit)
    assert nab_report.HIT_LABEL in legend_labels(only_a_hit)  # touching the window's start counts, as in scoring


def test_a_long_series_keeps_a_one_point_spike_and_stays_a_small_file(tmp_path):
    values = np.random.default_rng(0).normal(0, 1, 22_000)
    values[12_345] = 50.0
    times = signal(values)["timestamp"]

    figure = nab_report.series_figure(
        signal(values),
        np.abs(values),
        np.full(len(values), 4.0),
        labelled=[(times[12_000], times[12_500])],
        detections=[(times[12_300], times[12_400])],
        title="long",
    )
    path = tmp_path / "long.png"
    figure.savefig(path)

    signal_axes = figure.axes[0]
    assert signal_axes.get_ylim()[1] >= 50.0
    assert path.stat().st_size < 300_000


def test_the_index_of_an_interrupted_run_shows_the_series_a_seed_did_not_reach(tmp_path):
    def row(name, seed, tp):
        return {
            "name": name,
            "group": "g",
            "seed": seed,
            "f1": float(tp),
            "tp": tp,
            "fp": 0,
            "fn": 1 - tp,
            "seconds": 9,
        }

    def run(seed, tp):
        return {"seed": seed, "series": 2, "f1": 0.5, "precision": 1.0, "recall": 0.5, "tp": tp, "fp": 0, "fn": 2 - tp}

    result = {
        "protocol": {"name": "orion"},
        "seeds": [1, 2],
        "unscored": {},
        "groups": {"g": {"f1": {"mean": 0.5, "min": 0.5, "max": 0.5}, "runs": [run(1, 1), run(2, 1)]}},
        "series": [row("a", 1, 1), row("b", 1, 0), row("a", 2, 1)],
        "complete": False,
    }

    summary = group_summary(result, "g", orion_lstm_ae={}, orion_best={"g": (0.75, "AER")})
    page = nab_report.write_index(tmp_path / "nab.json", result, summaries={"g": summary})

    text = page.read_text()
    assert page == tmp_path / "nab.html"
    assert "interrupted: 3 trainings scored" in text and "0.750 (AER)" in text
    assert "<tr><td class='name'>b</td><td class='seed'>tp 0 fp 0 fn 1, F1 0.00, 9 s" in text
    assert text.count("<img ") == 3
    assert "<a href='nab_figures/g/b_seed1.png'>" in text and "b_seed2.png" not in text
    assert "<td class='seed'>–</td></tr>" in text
