"""train.py with one mistake: the bootstrap draws from a generator without a seed.

    trainlock check --config examples/custom/config.yaml -- python examples/custom/train_unseeded.py

reports every factor as DIFFERS with "first divergent step bootstrap": the runs agree up
to the split and part at the resample.
"""

from __future__ import annotations

import numpy as np
from train import train  # the script's folder is on sys.path

import trainlock

if __name__ == "__main__":
    # deliberately unseeded, so that `trainlock check` has something to find
    train(trainlock.current_run(), np.random.default_rng())  # trainlock: ignore[TL003]
