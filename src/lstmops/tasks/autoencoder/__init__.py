"""Anomaly detector: an LSTM autoencoder reconstructs windows of a sensor signal; the smoothed
reconstruction error (by default combined with each row's distance to the neighbouring periods)
above a threshold fitted on the training rows' scores flags anomalies."""

from lstmops.tasks.contract import LazyTask

TASK = LazyTask(
    name="autoencoder",
    data_kind="sensors",
    trainer="lstmops.tasks.autoencoder.train:train_autoencoder",
    evaluator="lstmops.tasks.autoencoder.evaluate:evaluate_autoencoder",
    trained="lstmops.tasks.autoencoder.train:TrainedAutoencoder",
    # real labels or room for the injected anomalies in the test part, else refused before training
    checker="lstmops.tasks.autoencoder.judged:judgement",
    tiny_overrides={
        "sensors.demo.n_points": 600,
        # Sensor batches are validated for every sensor model: the seq2seq's seasons must fit in 600 rows.
        "models.seq2seq.seasons": [48, 288],
        "models.autoencoder.units": 8,
        "models.autoencoder.learning_rate": 1e-2,
    },
)
