"""The demos run on a fresh store and reproduce the tutorial's published answer.

They are the newcomer's first five minutes and the container's content, so they are run
here in-process on a temporary store: the best run, idempotence, resuming, the link the
sweep prints, the step-wise curves and the prediction for a new patient.
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

import carnet
import carnet.pyfunc
import carnet.sklearn
from demo import diabetes_sweep, stepwise, the_day_has_come
from demo._common import Progress, clinical_split, dashboard_link

ROOT = Path(__file__).resolve().parent.parent
BEST_ALPHA = 0.0204336
BEST_MSE = 2921.77


def runs_of(experiment: str, **kwargs: Any) -> pd.DataFrame:
    """search_runs for one experiment, typed as the DataFrame it returns by default."""
    runs = carnet.search_runs(experiment_names=[experiment], **kwargs)
    assert isinstance(runs, pd.DataFrame)
    return runs


def active_runs(experiment: str) -> int:
    return len(runs_of(experiment))


def test_small_sweep_finds_the_tutorial_best(uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    best = diabetes_sweep.main(
        ["--tracking-uri", uri, "--quiet", "--l1-ratios", "0.5", "1.0", "--log-models", "none"]
    )
    assert active_runs("diabetes-elasticnet") == 60
    assert best.l1_ratio == 1.0
    assert best.alpha == pytest.approx(BEST_ALPHA, rel=1e-5)
    assert best.mse == pytest.approx(BEST_MSE, abs=0.01)
    assert best.r2 == pytest.approx(0.5087, abs=1e-4)
    out = capsys.readouterr().out
    assert f"best run {best.run_id}: l1_ratio=1.0 alpha=0.0204336 MSE=2921.77" in out


def test_full_sweep_is_the_tutorial_and_is_idempotent(uri: str) -> None:
    args = ["--tracking-uri", uri, "--quiet", "--log-models", "none"]
    best = diabetes_sweep.main(args)
    runs = runs_of("diabetes-elasticnet")
    assert len(runs) == 330
    assert (runs["status"] == "FINISHED").all()
    assert (runs["tags.mlflow.runName"] == "Elastic_net").all()
    assert sorted(set(runs["params.l1_ratio"]))[:4] == [
        "0.0",
        "0.1",
        "0.2",
        "0.30000000000000004",  # the tutorial's float noise, kept as logged
    ]
    assert best.l1_ratio == 1.0 and best.mse == pytest.approx(BEST_MSE, abs=0.01)

    again = diabetes_sweep.main(args)
    assert again.run_id == best.run_id
    assert active_runs("diabetes-elasticnet") == 330

    fresh = diabetes_sweep.main([*args, "--fresh"])
    assert fresh.run_id != best.run_id
    assert active_runs("diabetes-elasticnet") == 330
    assert fresh.mse == pytest.approx(best.mse, abs=1e-9)


def test_interrupted_sweep_resumes(uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--tracking-uri", uri, "--quiet", "--log-models", "none", "--n-alphas", "30"]
    diabetes_sweep.main([*base, "--l1-ratios", "1.0"])
    assert active_runs("diabetes-elasticnet") == 30
    capsys.readouterr()
    diabetes_sweep.main([*base, "--l1-ratios", "0.5", "1.0"])
    assert "resuming: 30 of 60 runs are already there" in capsys.readouterr().out
    assert active_runs("diabetes-elasticnet") == 60


def test_printed_link_shows_the_best_run_first(
    uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    best = diabetes_sweep.main(
        ["--tracking-uri", uri, "--quiet", "--l1-ratios", "0.9", "1.0", "--log-models", "none"]
    )
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("see it: "))
    url = urlsplit(line.removeprefix("see it: "))
    assert (url.scheme, url.netloc) == ("http", "localhost:8501")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["experiments"] == "diabetes-elasticnet"
    shown = runs_of(query["experiments"], filter_string=query["filter"], order_by=[query["sort"]])
    assert shown.iloc[0]["run_id"] == best.run_id
    assert len(shown) == 30  # the winning l1_ratio's alpha curve


def test_dashboard_link_quotes_the_query() -> None:
    link = dashboard_link("http://host:8501/", "my exp", "params.a = 'x&y'", "metrics.MSE ASC")
    assert link.startswith("http://host:8501/?experiments=my%20exp&filter=")
    assert parse_qs(urlsplit(link).query)["filter"] == ["params.a = 'x&y'"]


def test_stepwise_logs_loss_curves(uri: str) -> None:
    args = ["--tracking-uri", uri, "--quiet", "--epochs", "5"]
    logged = stepwise.main([*args, "--learning-rates", "0.001", "0.03", "--seeds", "0", "1"])
    assert logged == 4
    runs = runs_of("diabetes-sgd", order_by=["metrics.val_loss ASC"])
    assert len(runs) == 4
    assert set(runs["params.learning_rate"]) == {"0.001", "0.03"}
    client = carnet.Client()
    for run_id in runs["run_id"]:
        for key in ("train_loss", "val_loss"):
            history = client.get_metric_history(run_id, key)
            assert [m.step for m in history] == [1, 2, 3, 4, 5]
            assert all(math.isfinite(m.value) and m.value > 0 for m in history)
    # The slow learning rate's loss falls epoch after epoch.
    slow = runs[runs["params.learning_rate"] == "0.001"]["run_id"].iloc[0]
    values = [m.value for m in client.get_metric_history(slow, "train_loss")]
    assert values == sorted(values, reverse=True)

    assert stepwise.main([*args, "--learning-rates", "0.001", "0.03", "--seeds", "0", "1"]) == 0
    assert active_runs("diabetes-sgd") == 4


def test_progress_bar_without_a_terminal_prints_quarters() -> None:
    out = io.StringIO()
    bar = Progress(8, "sweep", out=out)
    for _ in range(8):
        bar.step()
    assert out.getvalue().splitlines() == [
        "sweep: 1/8",
        "sweep: 2/8",
        "sweep: 4/8",
        "sweep: 6/8",
        "sweep: 8/8",
    ]


def test_scripts_run_by_path(tmp_path: Path) -> None:
    """`python demo/<name>.py` works as well as `python -m demo.<name>`."""
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "demo" / "stepwise.py"),
            "--quiet",
            "--epochs",
            "2",
            "--learning-rates",
            "0.01",
            "--seeds",
            "0",
            "--tracking-uri",
            str(tmp_path / "s.db"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "trained 1 runs x 2 epochs" in proc.stdout


def test_best_model_is_logged_once_registered_and_predicts(uri: str) -> None:
    args = ["--tracking-uri", uri, "--quiet", "--l1-ratios", "1.0"]
    best = diabetes_sweep.main(args)
    runs = runs_of("diabetes-elasticnet")
    with_model = runs[runs["tags.has_model"] == "true"]
    assert list(with_model["run_id"]) == [best.run_id]
    assert carnet.get_run(best.run_id).info.status == "FINISHED"
    diabetes_sweep.main(args)  # idempotent: the model is not logged or registered again
    experiment = carnet.get_run(best.run_id).info.experiment_id
    models = carnet.search_logged_models([experiment], output_format="list")
    assert [(m.name, m.source_run_id) for m in models] == [("model", best.run_id)]  # once
    client = carnet.MlflowClient()
    champion = client.get_model_version_by_alias("diabetes", "champion")
    assert (champion.version, champion.run_id) == ("1", best.run_id)
    assert [v.version for v in client.search_model_versions("name = 'diabetes'")] == ["1"]

    # The champion takes clinical units by name and answers in disease-progression units;
    # it is the tutorial's best Elastic-Net, refit to scale its inputs and target itself.
    from sklearn.datasets import load_diabetes

    raw, _ = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    model = carnet.sklearn.load_model("models:/diabetes@champion")
    assert model.regressor_[-1].get_params()["alpha"] == pytest.approx(BEST_ALPHA, rel=1e-5)
    scorer = carnet.pyfunc.load_model("models:/diabetes@champion")
    assert [c.name for c in scorer.metadata.get_input_schema().inputs] == list(raw.columns)
    _, x_test, _, y_test = clinical_split()
    mse = float(((scorer.predict(x_test) - y_test) ** 2).mean())
    assert mse == pytest.approx(best.mse, rel=0.02)  # the tutorial's own test MSE, give or take
    patient = {name: float(raw[name].iloc[7]) for name in the_day_has_come.FEATURES}
    version, progression = the_day_has_come.predict(patient)
    assert version == "1"
    assert progression == pytest.approx(float(model.predict(raw.iloc[7:8])[0]), rel=1e-12)


def test_a_better_run_becomes_the_champion(uri: str) -> None:
    """A fresh sweep over a wider grid registers its better run as version 2 and moves the
    alias; version 1 stays."""
    small = ["--tracking-uri", uri, "--quiet", "--l1-ratios", "0.5", "--n-alphas", "4"]
    first = diabetes_sweep.main(small)
    second = diabetes_sweep.main([*small[:-4], "--l1-ratios", "0.5", "1.0", "--n-alphas", "30"])
    assert second.mse < first.mse
    client = carnet.MlflowClient()
    champion = client.get_model_version_by_alias("diabetes", "champion")
    assert (champion.version, champion.run_id) == ("2", second.run_id)
    assert client.get_model_version("diabetes", "1").run_id == first.run_id


def test_the_day_has_come_prints_a_prediction(uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    diabetes_sweep.main(["--tracking-uri", uri, "--quiet", "--l1-ratios", "1.0"])
    capsys.readouterr()
    progression = the_day_has_come.main(["--tracking-uri", uri, "--patient", "bmi=35"])
    out = capsys.readouterr().out
    assert "model: models:/diabetes@champion (version 1)" in out
    assert f"predicted disease progression one year from now: {progression:.0f}" in out
    assert 25 < progression < 346
    assert "bmi=35" in out
    with pytest.raises(SystemExit, match="name=value"):
        the_day_has_come.main(["--tracking-uri", uri, "--patient", "weight=80"])


def test_the_day_has_come_without_a_model_says_what_to_run(uri: str) -> None:
    diabetes_sweep.main(
        ["--tracking-uri", uri, "--quiet", "--l1-ratios", "1.0", "--log-models", "none"]
    )
    with pytest.raises(SystemExit, match=r"python -m demo\.diabetes_sweep"):
        the_day_has_come.main(["--tracking-uri", uri])


def test_every_model_can_be_logged(uri: str) -> None:
    diabetes_sweep.main(
        [
            "--tracking-uri",
            uri,
            "--quiet",
            "--l1-ratios",
            "1.0",
            "--n-alphas",
            "4",
            "--log-models",
            "all",
        ]
    )
    runs = runs_of("diabetes-elasticnet")
    assert len(runs) == 4
    assert (runs["tags.has_model"] == "true").all()
