"""After promotion: is each @champion still better than the simple baselines on the data that arrived
after it was trained? `statistics` decides a forecaster's from errors alone, `alerts` an anomaly
detector's from its alerts and scores; `check` gathers them from the store and the validated data; `record` writes each check to MLflow; `events` tells Prefect about a decay."""

# The champion version's tags of its last check (here, light, for `lstmops registry list`).
STATUS_TAG, CHECKED_AT_TAG = "monitor.status", "monitor.checked_at"
