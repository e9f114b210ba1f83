"""Stage evaluate: score the predict stage's predictions against the held-back labels."""

from __future__ import annotations

import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score

import trainlock


def main() -> None:
    run = trainlock.current_run()
    predictions = pd.read_csv("runs/predict/predictions.csv")
    labels = pd.read_csv("runs/prepare/new.csv")["converted"].to_numpy()
    run.checkpoint("labels", labels)
    run.log_metrics(
        {
            "roc_auc": roc_auc_score(labels, predictions["score"]),
            "accuracy": accuracy_score(labels, predictions["label"]),
            "rows": len(labels),
        }
    )


if __name__ == "__main__":
    main()
