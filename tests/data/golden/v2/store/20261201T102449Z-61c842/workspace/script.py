"""The golden v2 wrapped command: read input.csv, write output.csv, leave checkpoints and a model."""

import csv
import sys

import numpy as np
from sklearn.linear_model import LinearRegression

import trainlock

run = trainlock.current_run()
with open("input.csv", newline="", encoding="utf-8") as handle:
    rows = list(csv.DictReader(handle))
x = np.array([float(row["x"]) for row in rows])
y = np.array([float(row["y"]) for row in rows])
run.checkpoint("input", np.stack([x, y]))
noise = np.random.default_rng(run.seed_for("noise")).normal(0.0, 0.01, size=len(x))
model = LinearRegression().fit(x.reshape(-1, 1), y + noise)
run.checkpoint("fit", model)
fitted = model.predict(x.reshape(-1, 1))
run.checkpoint("fitted", fitted)
with open("output.csv", "w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["x", "fitted"])
    writer.writerows([repr(float(a)), repr(float(b))] for a, b in zip(x, fitted))
run.log_metrics({"n": len(x), "slope": float(model.coef_[0])})
run.save_model(model, "line")
print(f"wrote output.csv: {len(x)} rows")
print("a line on stderr, so that stderr.log is not empty", file=sys.stderr)
