"""Your own training code, recorded by trainlock through its Python API.

    trainlock run --config examples/custom/config.yaml --in examples/purchase/data.csv \
        -- python examples/custom/train.py
    trainlock verify RUN_FOLDER        # every hash re-checked, the model's fingerprint included
    trainlock reproduce RUN_FOLDER     # the command run again with the recorded config and envelope

Every random choice takes a seed derived from the run's base seed by scope name, and each
step leaves a checkpoint, so `trainlock diff` can name the first step where two runs part.
Without --config the settings come from config.yaml beside this script.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

import trainlock

HERE = Path(__file__).resolve().parent


def settings(run: trainlock.Run) -> dict:
    """config.yaml beside this script, overridden by the config given to `trainlock run`."""
    defaults = yaml.safe_load((HERE / "config.yaml").read_text(encoding="utf-8"))
    chosen = {**defaults, **run.config}
    run.checkpoint("settings", chosen)
    return chosen


def train(run: trainlock.Run, rng: np.random.Generator) -> None:
    config = settings(run)
    frame = pd.read_csv(HERE / config["data"])
    target = frame[config["target"]]
    features = frame.drop(columns=[config["target"], *config["drop"]])
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=config["test_size"], stratify=target, random_state=run.seed_for("split")
    )
    run.checkpoint("split", x_train)

    # a bootstrap resample of the training rows: the step an unseeded generator breaks
    rows = rng.choice(len(x_train), size=len(x_train), replace=True)
    run.checkpoint("bootstrap", rows)
    x_boot, y_boot = x_train.iloc[rows], y_train.iloc[rows]

    model = make_pipeline(
        SimpleImputer(strategy=config["imputer"]),
        RandomForestClassifier(**config["model"], random_state=run.seed_for("model")),
    )
    model.fit(x_boot, y_boot)
    run.checkpoint("fit", model)
    scores = model.predict_proba(x_test)[:, 1]
    run.checkpoint("scores", scores)
    run.log_metrics({"roc_auc": roc_auc_score(y_test, scores), "n_train": len(x_boot)})
    run.save_model(model, "classifier")


if __name__ == "__main__":
    current = trainlock.current_run()
    train(current, np.random.default_rng(current.seed_for("bootstrap")))
