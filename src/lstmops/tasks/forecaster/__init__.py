"""Price forecaster: a window of engineered bar features -> the next bar's close, with a
split-conformal interval; compared with persistence and drift."""

from lstmops.tasks.contract import LazyTask

TASK = LazyTask(
    name="forecaster",
    data_kind="prices",
    trainer="lstmops.tasks.forecaster.train:train_forecaster",
    evaluator="lstmops.tasks.forecaster.evaluate:evaluate_forecaster",
    trained="lstmops.tasks.forecaster.train:TrainedForecaster",
    tiny_overrides={"prices.tickers": ["DEMOA"], "models.forecaster.units": [8], "models.forecaster.backtest_folds": 0},
)
