"""Plain PyTorch + cuDNN versions of the three models, the yardstick `bench/gpu.py` measures Keras against.

Same shapes and layers as the task network builders (`lstmops.tasks.<task>.network`) (one LSTM of `hidden` units per encoder or
decoder, Luong dot attention, Adam at 1e-3, MSE), trained by a bare loop on tensors already on the
device: no data pipeline, no callbacks. Imported only where torch is installed.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn


class Forecaster(nn.Module):
    """(n, window, features) -> (n, 1): the last LSTM output through a linear head."""

    def __init__(self, n_features: int, hidden: int):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(window)
        return self.head(outputs[:, -1])


class Autoencoder(nn.Module):
    """(n, window, 1) -> (n, window, 1): encoder state repeated over the window, decoded step by step."""

    def __init__(self, n_features: int, hidden: int):
        super().__init__()
        self.encoder = nn.LSTM(n_features, hidden, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        _, (code, _) = self.encoder(window)  # code: (1, n, hidden)
        repeated = code[-1].unsqueeze(1).expand(-1, window.shape[1], -1)
        decoded, _ = self.decoder(repeated)
        return self.head(decoded)


class Seq2Seq(nn.Module):
    """Teacher-forced decoder LSTM started from the encoder state, Luong dot attention over the encoder
    outputs, tanh combination of decoder output and context, one value per step: (n, horizon, 1)."""

    def __init__(self, n_features: int, hidden: int):
        super().__init__()
        self.encoder = nn.LSTM(n_features, hidden, batch_first=True)
        self.decoder = nn.LSTM(1, hidden, batch_first=True)
        self.combine = nn.Linear(2 * hidden, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, window: torch.Tensor, decoder_inputs: torch.Tensor) -> torch.Tensor:
        encoded, state = self.encoder(window)  # (n, window, hidden)
        decoded, _ = self.decoder(decoder_inputs, state)  # (n, horizon, hidden)
        weights = torch.softmax(decoded @ encoded.transpose(1, 2), dim=-1)  # (n, horizon, window)
        context = weights @ encoded
        return self.head(torch.tanh(self.combine(torch.cat([decoded, context], dim=-1))))


MODELS = {"forecaster": Forecaster, "autoencoder": Autoencoder, "seq2seq": Seq2Seq}  # each (n_features, hidden)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_epochs(
    kind: str,
    inputs: tuple[np.ndarray, ...],
    targets: np.ndarray,
    *,
    hidden: int,
    batch_size: int,
    epochs: int,
    seed: int = 0,
) -> tuple[list[float], list[float]]:
    """Seconds and mean loss of `epochs` shuffled epochs over full batches (the first one warms up cuDNN)."""
    torch.manual_seed(seed)
    torch.backends.cudnn.enabled = True
    torch.backends.cudnn.benchmark = True  # pick the fastest cuDNN kernels for these fixed shapes
    where = device()
    xs = [torch.as_tensor(np.ascontiguousarray(part, dtype=np.float32), device=where) for part in inputs]
    y = torch.as_tensor(np.ascontiguousarray(targets, dtype=np.float32), device=where)
    model = MODELS[kind](xs[0].shape[-1], hidden).to(where)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = len(y) // batch_size
    seconds, losses = [], []
    for _ in range(epochs):
        _synchronize()
        start = time.perf_counter()
        order = torch.randperm(len(y), device=where)
        total = torch.zeros((), device=where)
        for step in range(steps):
            rows = order[step * batch_size : (step + 1) * batch_size]
            target = y[rows]
            loss = nn.functional.mse_loss(model(*(x[rows] for x in xs)).reshape(target.shape), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        losses.append(float(total) / steps)  # waits for the epoch's kernels
        _synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds, losses


def describe() -> dict[str, Any]:
    return {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
    }


def _synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
