"""Multi-step forecaster: encoder LSTM, decoder LSTM with attention over the encoder states,
decoding all steps as a residual over a seasonal naive (or recursively); compared with every
seasonal naive and persistence."""

from lstmops.tasks.contract import LazyTask

TASK = LazyTask(
    name="seq2seq",
    data_kind="sensors",
    trainer="lstmops.tasks.seq2seq.train:train_seq2seq",
    evaluator="lstmops.tasks.seq2seq.evaluate:evaluate_seq2seq",
    trained="lstmops.tasks.seq2seq.train:TrainedSeq2Seq",
    # one normalisation: auto's second training would double every tiny test training
    tiny_overrides={
        "sensors.demo.n_points": 600,
        "models.seq2seq.seasons": [48, 288],
        "models.seq2seq.normalise": "series",
    },
)
