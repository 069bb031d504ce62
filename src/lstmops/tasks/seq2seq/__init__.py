"""Multi-step forecaster: encoder LSTM, decoder LSTM with attention over the encoder states,
recursive decoding; compared with seasonal naive and persistence."""

from lstmops.tasks.contract import LazyTask

TASK = LazyTask(
    name="seq2seq",
    data_kind="sensors",
    trainer="lstmops.tasks.seq2seq.train:train_seq2seq",
    evaluator="lstmops.tasks.seq2seq.evaluate:evaluate_seq2seq",
    trained="lstmops.tasks.seq2seq.train:TrainedSeq2Seq",
    tiny_overrides={"sensors.demo.n_points": 600},
)
