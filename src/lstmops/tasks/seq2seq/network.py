"""Encoder-decoder LSTM with attention for multi-step forecasts.

Training uses teacher forcing: the decoder input at step t is the TRUE target at t - 1
(at step 0: the target's last observed value, `window[:, -1, target_index]`).
Inference decodes recursively: the decoder's own prediction is its next input.

Both graphs share every layer and live in one functional model (`Seq2Seq.model`), so one
`.keras` file holds the weights, the architecture and the target column:
  inputs  [window (n, window, n_features), decoder_inputs (n, horizon, 1)]
  outputs [teacher_forced (n, horizon, 1), forecast (n, horizon), attention (n, horizon, window)]
The recursive decoder is unrolled `horizon` times inside that graph, so inference is a
single compiled batched call: the encoder runs once, then `horizon` one-step decodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import Literal

import keras
import numpy as np

AttentionKind = Literal["luong", "luong_scaled", "bahdanau"]
Normalisation = Literal["series", "window"]


@keras.saving.register_keras_serializable(package="lstmops")
class LastObservedValue(keras.layers.Layer):
    """(n, window, n_features) -> (n, 1, 1): the target's last observed value."""

    def __init__(self, target_index: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.target_index = target_index

    def call(self, window):
        return window[:, -1:, self.target_index : self.target_index + 1]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 1)

    def get_config(self):
        return {**super().get_config(), "target_index": self.target_index}


@dataclass(frozen=True)
class _DecoderLayers:
    """The layers one decoding pass uses; shared by the teacher-forced and recursive graphs."""

    lstm: keras.layers.LSTM
    attention: keras.layers.Layer
    # Bahdanau only: W_q and W_k of the score v . tanh(W_q q + W_k k).
    query_projection: keras.layers.Dense | None
    key_projection: keras.layers.Dense | None
    join: keras.layers.Concatenate
    combine: keras.layers.Dense
    output: keras.layers.Dense

    def attend(self, decoded, encoder_outputs):
        """Decoder outputs (n, T, units) as queries over the encoder outputs -> context, weights (n, T, window)."""
        if self.key_projection is None:
            return self.attention([decoded, encoder_outputs], return_attention_scores=True)
        query, key = self.query_projection(decoded), self.key_projection(encoder_outputs)
        return self.attention([query, encoder_outputs, key], return_attention_scores=True)

    def __call__(self, inputs, encoder_outputs, state):
        """inputs (n, T, 1) -> prediction (n, T, 1), new state, attention (n, T, window)."""
        decoded, hidden, cell = self.lstm(inputs, initial_state=state)  # (n, T, units)
        context, weights = self.attend(decoded, encoder_outputs)
        combined = self.combine(self.join([decoded, context]))  # (n, T, units)
        return self.output(combined), [hidden, cell], weights


def _decoder_layers(units: int, attention: AttentionKind, suffix: str = "") -> _DecoderLayers:
    """The decoder's layers, each name ending in `suffix` (one member of an ensemble)."""
    if attention in ("luong", "luong_scaled"):
        # luong_scaled learns a temperature for the dot scores: attention can sharpen on a few positions.
        scorer = keras.layers.Attention(
            score_mode="dot", use_scale=attention == "luong_scaled", name=f"attention{suffix}"
        )
        query_projection = key_projection = None
    elif attention == "bahdanau":
        scorer = keras.layers.AdditiveAttention(name=f"attention{suffix}")
        query_projection = keras.layers.Dense(units, use_bias=False, name=f"attention_query{suffix}")
        key_projection = keras.layers.Dense(units, use_bias=False, name=f"attention_key{suffix}")
    else:
        raise ValueError(f"attention must be 'luong', 'luong_scaled' or 'bahdanau', got {attention!r}")
    return _DecoderLayers(
        lstm=keras.layers.LSTM(units, return_sequences=True, return_state=True, name=f"decoder_lstm{suffix}"),
        attention=scorer,
        query_projection=query_projection,
        key_projection=key_projection,
        join=keras.layers.Concatenate(name=f"decoder_and_context{suffix}"),
        combine=keras.layers.Dense(units, activation="tanh", name=f"attention_combine{suffix}"),
        output=keras.layers.Dense(1, name=f"step_forecast{suffix}"),
    )


def build_seq2seq(
    window: int,
    n_features: int,
    horizon: int,
    *,
    units: int = 64,
    attention: AttentionKind = "luong",
    learning_rate: float = 1e-3,
    target_index: int = 0,
) -> Seq2Seq:
    """Encoder LSTM over the window; decoder LSTM started from the encoder's state, attending
    over all encoder outputs with its own outputs as queries (Luong dot or Bahdanau additive)."""
    if not 0 <= target_index < n_features:
        raise ValueError(f"target_index {target_index} is not a column of {n_features} features")
    window_in = keras.Input(shape=(window, n_features), name="window")
    decoder_in = keras.Input(shape=(horizon, 1), name="decoder_inputs")
    encoder = keras.layers.LSTM(units, return_sequences=True, return_state=True, name="encoder_lstm")
    encoder_outputs, hidden, cell = encoder(window_in)  # (n, window, units), 2 x (n, units)
    decode = _decoder_layers(units, attention)

    teacher_forced, _, _ = decode(decoder_in, encoder_outputs, [hidden, cell])  # (n, horizon, 1)

    step = LastObservedValue(target_index, name="last_observed")(window_in)  # (n, 1, 1)
    state, steps, weights = [hidden, cell], [], []
    for _ in range(horizon):
        step, state, step_weights = decode(step, encoder_outputs, state)
        steps.append(step)
        weights.append(step_weights)
    forecast = keras.layers.Reshape((horizon,), name="forecast")(
        keras.layers.Concatenate(axis=1, name="forecast_steps")(steps)
    )  # (n, horizon)
    attention_weights = keras.layers.Concatenate(axis=1, name="attention_weights")(weights)

    model = keras.Model([window_in, decoder_in], [teacher_forced, forecast, attention_weights], name="seq2seq")
    return Seq2Seq(model, learning_rate=learning_rate)


class Seq2Seq:
    """The shared-layer model plus its two views: `training_model` (compiled: Adam, MSE) and
    `inference_model`. `Seq2Seq(model)` also rebuilds both views from a loaded `.model`."""

    def __init__(self, model: keras.Model, *, learning_rate: float = 1e-3):
        self.model = model
        window_in, decoder_in = model.inputs
        teacher_forced, forecast, attention_weights = model.outputs
        self.training_model = keras.Model([window_in, decoder_in], teacher_forced, name="seq2seq_training")
        self.training_model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=["mae"])
        self.inference_model = keras.Model(window_in, [forecast, attention_weights], name="seq2seq_inference")
        self.target_index: int = model.get_layer("last_observed").target_index
        self.horizon: int = decoder_in.shape[1]

    def training_inputs(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """[x, decoder inputs] for `training_model.fit`, with y (n, horizon) the true targets."""
        if np.shape(y)[1] != self.horizon:
            raise ValueError(f"y has {np.shape(y)[1]} steps but the model forecasts {self.horizon}")
        return [x, teacher_forcing_inputs(y, np.asarray(x)[:, -1, self.target_index])]

    def predict(self, x: np.ndarray, *, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Recursive forecast (n, horizon) and attention weights (n, horizon, window)."""
        forecast, attention_weights = self.inference_model.predict(
            np.asarray(x, dtype="float32"), batch_size=batch_size, verbose=0
        )
        return forecast, attention_weights

    def save(self, path: str | PathLike) -> None:
        """One `.keras` file; the optimizer state is not kept (load starts a fresh Adam)."""
        self.model.save(path)

    @classmethod
    def load(cls, path: str | PathLike, *, learning_rate: float = 1e-3) -> Seq2Seq:
        return cls(keras.saving.load_model(path), learning_rate=learning_rate)


def teacher_forcing_inputs(y: np.ndarray, last_observed: np.ndarray) -> np.ndarray:
    """Decoder inputs (n, horizon, 1): at step t the true target at t - 1, at step 0 the
    last observed target value. Output at step t therefore never sees y[:, t:]."""
    y = np.asarray(y, dtype="float32")
    if y.ndim == 3 and y.shape[2] == 1:
        y = y[:, :, 0]
    last_observed = np.asarray(last_observed, dtype="float32").reshape(-1, 1)
    if y.ndim != 2 or len(last_observed) != len(y):
        raise ValueError(f"y must be (n, horizon) and last_observed (n,), got {y.shape} and {last_observed.shape}")
    return np.concatenate([last_observed, y[:, :-1]], axis=1)[:, :, None]


@keras.saving.register_keras_serializable(package="lstmops")
class TakeChannel(keras.layers.Layer):
    """(n, T, channels) -> (n, T): one channel (the base seasonal naive among the decoder inputs)."""

    def __init__(self, channel: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.channel = channel

    def call(self, inputs):
        return inputs[:, :, self.channel]

    def compute_output_shape(self, input_shape):
        return input_shape[:2]

    def get_config(self):
        return {**super().get_config(), "channel": self.channel}


@keras.saving.register_keras_serializable(package="lstmops")
class WindowScale(keras.layers.Layer):
    """(n, window, features) -> (n, 1, 2): the mean and the spread of channel 0 (the value) over each
    window. The spread is floored (sqrt(variance + floor^2)) so a flat window does not divide by zero."""

    def __init__(self, floor: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.floor = floor

    def call(self, window):
        value = window[:, :, :1]
        mean = keras.ops.mean(value, axis=1, keepdims=True)
        spread = keras.ops.sqrt(keras.ops.var(value, axis=1, keepdims=True) + self.floor**2)
        return keras.ops.concatenate([mean, spread], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 2)

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}


@keras.saving.register_keras_serializable(package="lstmops")
class Standardise(keras.layers.Layer):
    """[x (n, T, f), scale (n, 1, 2)] -> x with its first `levels` channels as (x - mean) / spread, the
    next `changes` channels (differences: no mean to remove) as x / spread, and the rest as they are."""

    def __init__(self, levels: int = 1, changes: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.levels, self.changes = levels, changes

    def call(self, inputs):
        x, scale = inputs
        mean, spread = scale[:, :, :1], scale[:, :, 1:]
        end = self.levels + self.changes
        parts = [(x[:, :, : self.levels] - mean) / spread]
        if self.changes:
            parts.append(x[:, :, self.levels : end] / spread)
        parts.append(x[:, :, end:])
        return keras.ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "levels": self.levels, "changes": self.changes}


@keras.saving.register_keras_serializable(package="lstmops")
class TimesSpread(keras.layers.Layer):
    """[residual (n, H), scale (n, 1, 2)] -> residual x each window's spread: back to the scaled units."""

    def call(self, inputs):
        residual, scale = inputs
        return residual * scale[:, 0, 1:]

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


@keras.saving.register_keras_serializable(package="lstmops")
class FlatSlice(keras.layers.Layer):
    """(n, T, f) -> (n, steps * channels): the last `steps` rows of the first `channels` channels, flat
    (the linear highway's inputs: the latest values of a window, or every step's seasonal naives)."""

    def __init__(self, steps: int = 1, channels: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.steps, self.channels = steps, channels

    def call(self, inputs):
        return keras.ops.reshape(inputs[:, -self.steps :, : self.channels], (-1, self.steps * self.channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.steps * self.channels)

    def get_config(self):
        return {**super().get_config(), "steps": self.steps, "channels": self.channels}


def build_seasonal_residual_seq2seq(
    window: int,
    n_features: int,
    horizon: int,
    n_decoder_features: int,
    *,
    base_channel: int = 0,
    units: int = 64,
    attention: AttentionKind = "luong",
    learning_rate: float = 1e-3,
    members: int = 1,
    normalise: Normalisation = "series",
    highway: int = 0,
) -> SeasonalResidualSeq2Seq:
    """Encoder LSTM over the window; a decoder LSTM that reads all `horizon` steps at once
    (each step's known future inputs: the seasonal-naive values and calendar of its target time),
    started from the encoder's state and attending over the encoder outputs. Its output at each step
    is a residual added to decoder input channel `base_channel` (a seasonal naive), so an untrained
    model already forecasts that seasonal naive.

    members > 1 builds that many such networks, each initialised on its own, over the same inputs:
    the forecast and the attention weights are their averages (a seed ensemble in one graph), and
    each member is trained on its own error (`SeasonalResidualSeq2Seq.training_model`).

    Inputs as the trainer lays them out: the window's channels are the scaled value, its change since
    one base season earlier, then calendar columns; the decoder's are each season's naive value, then
    the same calendar columns. normalise="window" standardises each origin's inputs by its window's own
    mean and spread of the value (and scales the residual back by that spread), so the network sees
    the shape of the series rather than its level: a level it never saw in training (a holiday, a
    trend) changes nothing it reads. "series": the inputs as given (the train part's scaling only).

    highway > 0 adds a linear autoregressive "highway" to each member's residual (as in LSTNet): one
    Dense layer over the last `highway` values of the window and every step's seasonal-naive values,
    the inputs of the project's ridge baseline. Initialised at zero, it is trained with the network,
    so the network only has to learn what a linear model on those inputs cannot."""
    if not 0 <= highway <= window:
        raise ValueError(f"highway must be in 0..{window} (values of the window it reads), got {highway}")
    if not 0 <= base_channel < n_decoder_features:
        raise ValueError(f"base_channel {base_channel} is not one of {n_decoder_features} decoder inputs")
    if members < 1:
        raise ValueError(f"members must be at least 1, got {members}")
    window_in = keras.Input(shape=(window, n_features), name="window")
    decoder_in = keras.Input(shape=(horizon, n_decoder_features), name="decoder_inputs")
    base = TakeChannel(base_channel, name="seasonal_naive")(decoder_in)
    window_seen, decoder_seen, spread = window_in, decoder_in, None
    if normalise == "window":
        calendar_columns = n_features - 2
        scale = WindowScale(name="window_scale")(window_in)
        window_seen = Standardise(levels=1, changes=1, name="window_standardised")([window_in, scale])
        seasonal = n_decoder_features - calendar_columns
        decoder_seen = Standardise(levels=seasonal, changes=0, name="decoder_standardised")([decoder_in, scale])
        spread = scale
    elif normalise != "series":
        raise ValueError(f"normalise must be 'series' or 'window', got {normalise!r}")

    seasonal_channels = n_decoder_features - (n_features - 2)  # the decoder's naive values precede its calendar
    highway_in = None
    if highway:
        lags = FlatSlice(highway, 1, name="highway_lags")(window_seen)
        naives = FlatSlice(horizon, seasonal_channels, name="highway_naives")(decoder_seen)
        highway_in = keras.layers.Concatenate(name="highway_inputs")([lags, naives])

    def member(suffix: str):
        return _seasonal_residual_member(
            window_seen, decoder_seen, base, spread, horizon, units, attention, suffix, highway_in
        )

    if members == 1:
        forecast, weights = member("")
    else:
        outputs = [member(f"{MEMBER}{m}") for m in range(members)]
        forecast = keras.layers.Average(name="forecast")([f for f, _ in outputs])
        weights = keras.layers.Average(name="attention_weights")([w for _, w in outputs])
    model = keras.Model([window_in, decoder_in], [forecast, weights], name="seasonal_residual_seq2seq")
    return SeasonalResidualSeq2Seq(model, learning_rate=learning_rate)


MEMBER = "_member_"  # the suffix of an ensemble member's layer names, before its number


def _seasonal_residual_member(
    window_in, decoder_in, base, spread, horizon: int, units: int, attention, suffix: str, highway_in=None
):
    """One network's forecast (n, horizon) and attention weights (n, horizon, window); its residual is
    scaled by the window's spread when `spread` (a WindowScale output) is given, and has a linear
    highway over `highway_in` added when given."""
    encoder = keras.layers.LSTM(units, return_sequences=True, return_state=True, name=f"encoder_lstm{suffix}")
    encoder_outputs, hidden, cell = encoder(window_in)
    decode = _decoder_layers(units, attention, suffix)
    decoded = decode.lstm(decoder_in, initial_state=[hidden, cell])[0]  # (n, horizon, units)
    context, weights = decode.attend(decoded, encoder_outputs)
    # The step's own inputs join the context: the residual depends on how far the naive values sit apart.
    joined = keras.layers.Concatenate(name=f"decoder_and_context{suffix}")([decoded, context, decoder_in])
    residual = keras.layers.Reshape((horizon,), name=f"residual{suffix}")(decode.output(decode.combine(joined)))
    if highway_in is not None:
        linear = keras.layers.Dense(horizon, kernel_initializer="zeros", name=f"highway{suffix}")(highway_in)
        residual = keras.layers.Add(name=f"residual_with_highway{suffix}")([residual, linear])
    if spread is not None:
        residual = TimesSpread(name=f"residual_rescaled{suffix}")([residual, spread])
    return keras.layers.Add(name=f"forecast{suffix}")([base, residual]), weights


class SeasonalResidualSeq2Seq:
    """The direct model plus its compiled `training_model` (Adam, MAE: the metric it is judged on).

    The training model outputs every member's forecast side by side, (n, horizon, members), against
    targets (n, horizon, 1): the loss is the mean of the members' own MAEs, so no member learns to
    correct another (they stay an ensemble, not one wider network)."""

    def __init__(self, model: keras.Model, *, learning_rate: float = 1e-3):
        self.model = model
        forecast, _ = model.outputs
        self.horizon: int = model.inputs[1].shape[1]
        members = [layer.output for layer in model.layers if layer.name.startswith(f"forecast{MEMBER}")]
        member_forecasts = members or [forecast]
        self.members = len(member_forecasts)
        per_member = [keras.layers.Reshape((self.horizon, 1))(f) for f in member_forecasts]
        stacked = per_member[0] if self.members == 1 else keras.layers.Concatenate(axis=-1)(per_member)
        self.training_model = keras.Model(model.inputs, stacked, name="seasonal_residual_training")
        self.training_model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mae")

    @staticmethod
    def training_targets(y: np.ndarray) -> np.ndarray:
        """Targets (n, horizon) as the training model reads them: (n, horizon, 1)."""
        return np.asarray(y)[:, :, None]

    def predict(
        self, x: np.ndarray, decoder_inputs: np.ndarray, *, batch_size: int = 1024
    ) -> tuple[np.ndarray, np.ndarray]:
        """Forecast (n, horizon) and attention weights (n, horizon, window)."""
        inputs = [np.asarray(x, dtype="float32"), np.asarray(decoder_inputs, dtype="float32")]
        forecast, attention_weights = self.model.predict(inputs, batch_size=batch_size, verbose=0)
        return forecast, attention_weights

    def save(self, path: str | PathLike) -> None:
        self.model.save(path)

    @classmethod
    def load(cls, path: str | PathLike, *, learning_rate: float = 1e-3) -> SeasonalResidualSeq2Seq:
        return cls(keras.saving.load_model(path), learning_rate=learning_rate)
