#!/bin/sh
# First start of the postgres container (empty data volume): one role and one database per server,
# so MLflow and Prefect cannot read or break each other's tables. Passwords come from the container's
# environment (infra/.env), passed to psql as variables, never written into this file.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v mlflow_password="$MLFLOW_DB_PASSWORD" -v prefect_password="$PREFECT_DB_PASSWORD" <<'SQL'
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
CREATE ROLE prefect LOGIN PASSWORD :'prefect_password';
CREATE DATABASE prefect OWNER prefect;
SQL
