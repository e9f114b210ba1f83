"""Stage prepare: synthesise a small data set and split it into training rows and new rows.

Writes train.csv and new.csv into its run folder (TRAINLOCK_RUN_DIR), where DVC and
`trainlock verify` find them; every draw comes from a generator seeded by the run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import trainlock


def main() -> None:
    run = trainlock.current_run()
    config = run.config
    rng = np.random.default_rng(run.seed_for("data"))
    rows = config["rows"]
    frame = pd.DataFrame(
        {
            "channel": rng.choice(np.array(["ads", "search", "social"]), size=rows),
            "visits": rng.poisson(4.0, size=rows),
            "minutes": np.round(rng.gamma(2.0, 15.0, size=rows), 2),
        }
    )
    log_odds = 0.35 * frame["visits"] + 0.03 * frame["minutes"] - 2.5 + rng.normal(0.0, 1.0, size=rows)
    frame["converted"] = (log_odds > 0).astype("int64")
    held_back = rng.permutation(rows)[: int(rows * config["new_fraction"])]
    new = frame.iloc[np.sort(held_back)]
    train = frame.drop(index=new.index)
    run.checkpoint("train", train)
    run.checkpoint("new", new)
    train.to_csv(run.run_dir / "train.csv", index=False, lineterminator="\n")
    new.to_csv(run.run_dir / "new.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
