"""Generate the bundled ``purchase`` example data set (synthetic, deterministic).

It simulates an online-learning platform: one row per student, with their
country, how long they have been on the platform, how much they watched and
practised, and whether they bought a subscription (``purchased``, the target).
The target follows a logistic function of the features plus unobserved noise,
so a good model reaches a ROC AUC of roughly 0.85-0.93, never 1.0. A few
percent of ``student_country``, ``days_on_platform`` and ``minutes_watched``
are missing, and ``minutes_watched`` has a heavy tail with some outliers, so
the recipe's imputation and outlier handling have something to do.

Regenerate the data (byte-identical on every run; needs only numpy and pandas):

    python3 examples/purchase/generate.py                 # writes data.csv next to this file
    python3 examples/purchase/generate.py --rows 10000 --out /tmp/big.csv

Then check: ``sha256sum examples/purchase/data.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240611
DEFAULT_ROWS = 3000

# ISO-2 codes with a skewed share of students.
COUNTRIES = ["US", "IN", "GB", "NG", "PK", "CA", "DE", "EG"]
COUNTRY_SHARE = [0.30, 0.22, 0.12, 0.09, 0.08, 0.07, 0.06, 0.06]
# Country effect on the purchase log-odds (purchasing power, pricing).
COUNTRY_EFFECT = {"US": 0.60, "IN": -0.60, "GB": 0.45, "NG": -0.70, "PK": -0.50, "CA": 0.40, "DE": 0.30, "EG": -0.45}

MISSING_RATE = {"student_country": 0.03, "days_on_platform": 0.025, "minutes_watched": 0.04}

COLUMNS = [
    "student_country",
    "days_on_platform",
    "minutes_watched",
    "courses_started",
    "practice_exams_started",
    "practice_exams_passed",
    "minutes_spent_on_exams",
    "purchased",
]


def generate(rows: int = DEFAULT_ROWS, seed: int = SEED) -> pd.DataFrame:
    """Return the simulated data set as a DataFrame (columns in COLUMNS order)."""
    if rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    rng = np.random.default_rng(seed)

    country = rng.choice(np.array(COUNTRIES), size=rows, p=COUNTRY_SHARE)
    # Unobserved engagement drives most of the behaviour below.
    engagement = rng.normal(0.0, 1.0, size=rows)

    days = np.clip(np.round(rng.gamma(1.6, 120.0, size=rows) * np.exp(0.25 * engagement)), 0, 800).astype(np.int64)

    minutes = rng.lognormal(mean=4.6 + 0.9 * engagement, sigma=0.9, size=rows)
    minutes = minutes * (1.0 + days / 400.0)
    # A few extreme outliers (bulk-watched playlists, tracking glitches).
    outlier = rng.random(rows) < 0.008
    minutes = np.where(outlier, minutes * rng.uniform(15.0, 60.0, size=rows), minutes)

    courses = np.clip(rng.poisson(np.exp(0.9 + 0.55 * engagement + 0.25 * rng.normal(size=rows))), 0, 20).astype(
        np.int64
    )

    exams_started = np.clip(rng.poisson(np.exp(-0.3 + 0.7 * engagement + 0.08 * courses)), 0, 30).astype(np.int64)
    skill = rng.normal(0.0, 1.0, size=rows)
    pass_prob = 1.0 / (1.0 + np.exp(-(0.2 + 0.8 * skill + 0.3 * engagement)))
    exams_passed = rng.binomial(exams_started, pass_prob).astype(np.int64)
    exam_minutes = rng.gamma(2.0, 14.0, size=rows) * exams_started * np.exp(0.15 * rng.normal(size=rows))

    # Purchase log-odds: observed features plus unobserved noise.
    logit = (
        -4.0
        + 1.15 * (np.log1p(minutes) - 5.0)
        + 0.0016 * days
        + 0.09 * courses
        + 0.25 * np.log1p(exams_started)
        + 1.15 * (exams_passed / np.maximum(exams_started, 1)) * (exams_started > 0)
        + 0.005 * np.minimum(exam_minutes, 300.0)
        + np.vectorize(COUNTRY_EFFECT.get)(country)
        + rng.normal(0.0, 0.5, size=rows)
    )
    purchased = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    df = pd.DataFrame(
        {
            "student_country": pd.Series(country, dtype=object),
            "days_on_platform": pd.array(days, dtype="Int64"),
            "minutes_watched": np.round(minutes, 2),
            "courses_started": courses,
            "practice_exams_started": exams_started,
            "practice_exams_passed": exams_passed,
            "minutes_spent_on_exams": np.round(exam_minutes, 2),
            "purchased": purchased,
        },
        columns=COLUMNS,
    )
    # Missing values, drawn after the target so they do not change it.
    for column, rate in MISSING_RATE.items():
        mask = rng.random(rows) < rate
        df.loc[mask, column] = pd.NA if column == "days_on_platform" else np.nan
    return df


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the purchase example data set.")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"number of rows (default {DEFAULT_ROWS})")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "data.csv",
        help="output CSV path (default: data.csv next to this script)",
    )
    args = parser.parse_args(argv)
    df = generate(args.rows)
    df.to_csv(args.out, index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
