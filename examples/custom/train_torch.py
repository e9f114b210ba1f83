"""A PyTorch training loop recorded by trainlock (needs ``pip install 'trainlock[torch]'``).

    trainlock run --config examples/custom/torch.yaml -- python examples/custom/train_torch.py

torch is imported before the run starts, so the envelope seeds it and turns on
deterministic algorithms (cuDNN benchmarking and TF32 off); the DataLoader shuffles with a
generator seeded by scope and reseeds its workers with ``seed_worker``. Two runs give
identical state_dict fingerprints.
"""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from torch.utils.data import DataLoader, TensorDataset

import trainlock
from trainlock.torch import generator, seed_worker

HERE = Path(__file__).resolve().parent


def main() -> None:
    run = trainlock.current_run()
    config = {**yaml.safe_load((HERE / "torch.yaml").read_text(encoding="utf-8")), **run.config}
    run.checkpoint("settings", config)

    data_generator = generator("data")
    inputs = torch.randn(config["rows"], config["features"], generator=data_generator)
    weights = torch.randn(config["features"], 1, generator=data_generator)
    labels = (inputs @ weights > 0).float()
    run.checkpoint("data", inputs)

    model = torch.nn.Sequential(
        torch.nn.Linear(config["features"], config["hidden"]), torch.nn.ReLU(), torch.nn.Linear(config["hidden"], 1)
    )
    run.checkpoint("init", model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"])
    loader = DataLoader(
        TensorDataset(inputs, labels),
        batch_size=config["batch_size"],
        shuffle=True,
        generator=generator("loader"),
        worker_init_fn=seed_worker,
        num_workers=config["loader_workers"],
    )
    loss_function = torch.nn.BCEWithLogitsLoss()
    for epoch in range(config["epochs"]):
        total = 0.0
        for batch, target in loader:
            optimizer.zero_grad()
            loss = loss_function(model(batch), target)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        run.checkpoint(f"epoch/{epoch}", model.state_dict())
        run.log_metrics({"loss": total / len(inputs)}, step=epoch)
    run.save_model(model, "mlp")


if __name__ == "__main__":
    main()
