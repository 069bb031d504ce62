"""What goes into the MLflow store and comes out of it: where runs go (`store`), what they record
(`lineage`, `runs`), a trained model as an MLflow pyfunc (`pyfunc`) whose files are hashed and
verified (`model_files`), and the record of what each store should hold (`store_record`)."""
