#!/usr/bin/env python3
"""Prophet training entry point: the training-container contract's reference implementation.

Run by SageMaker as `train` in the image (see Dockerfile), or locally as the emulator's training
command. What it gets, what it writes and how it fails is the contract in docs/contracts.md
("The training-container contract"):

- reads every `*.csv` under s3://$S3_BUCKET/$DATA_PREFIX (one row per ticket, a `created_date`
  column; headers lower-cased and stripped), counts tickets per calendar day;
- drops rows whose date does not parse or falls outside [EARLIEST_TICKET_DATE,
  LATEST_TICKET_DATE] (the window StartTraining counted with), and says how many;
- fits Prophet (multiplicative seasonality) and cross-validates it on the last weeks;
- writes model.joblib and metrics.json ({"mape", "rmse", "mae"}, MAPE in percent, null with
  under 51 days of history) into $SM_MODEL_DIR, and predictions.csv (date,actual,forecast,fold:
  the cross-validation folds, for the run report) when it cross-validated;
- on failure writes the reason to /opt/ml/output/failure ($SM_OUTPUT_DIR/failure) and exits 1.
"""
import json
import logging
import os
import sys
import traceback

import boto3
import joblib
import pandas as pd
from prophet import Prophet
from prophet.diagnostics import cross_validation, performance_metrics

# Under this many days, a cross-validated MAPE means nothing: it is written as null.
MIN_DAYS_FOR_MAPE = 51
HORIZON_DAYS = 14

log = logging.getLogger("train")


def list_csvs(s3, bucket, prefix):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].lower().endswith(".csv")]
    return sorted(keys)


def read_created_dates(s3, bucket, key):
    """The created_date column of one file; None (and a warning) for a file with none: an empty
    export or another table. StartTraining has reported such files already."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        df = pd.read_csv(body, dtype=str, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        log.warning("skipping s3://%s/%s: empty", bucket, key)
        return None
    # `Created Date`, ` created-date `, `CREATED_DATE` are all the same column.
    df.columns = df.columns.str.strip().str.lower().str.replace(r"[\s-]+", "_", regex=True)
    if "created_date" not in df.columns:
        log.warning("skipping s3://%s/%s: no created_date column (header: %s)", bucket, key,
                    list(df.columns))
        return None
    return df["created_date"]


def daily_counts(dates, earliest, latest):
    # Calendar days: exports mix dates, naive timestamps and UTC ones; grouping on anything
    # finer than a day would fit seconds, not days.
    stamps = pd.to_datetime(dates, errors="coerce", utc=True, format="mixed")
    days = stamps.dt.tz_localize(None).dt.normalize()
    usable = days.notna() & (days >= earliest) & (days <= latest)
    dropped = int((~usable).sum())
    counts = days[usable].value_counts().sort_index()
    if counts.empty:
        raise ValueError("no usable ticket rows")
    full = pd.date_range(counts.index.min(), counts.index.max(), freq="D")
    counts = counts.reindex(full, fill_value=0)
    return pd.DataFrame({"ds": counts.index, "y": counts.values.astype(float)}), dropped


def cross_validation_frame(model, history):
    """Prophet's rolling-origin cross-validation over the last weeks; None with too little history."""
    days = len(history)
    if days < MIN_DAYS_FOR_MAPE:
        return None
    initial = max(28, days - 6 * HORIZON_DAYS)
    return cross_validation(
        model,
        initial=f"{initial} days",
        period=f"{HORIZON_DAYS} days",
        horizon=f"{HORIZON_DAYS} days",
        disable_tqdm=True,
    )


def metrics_of(cv):
    if cv is None:
        return {"mape": None, "rmse": None, "mae": None}
    pm = performance_metrics(cv, rolling_window=1)
    # Prophet leaves MAPE out when an actual is 0 (a day without tickets): unknown, not a crash.
    if "mape" not in pm.columns:
        log.warning("MAPE undefined: a day in the cross-validation folds has no tickets")
        return {"mape": None, "rmse": float(pm["rmse"].iloc[0]), "mae": float(pm["mae"].iloc[0])}
    # Prophet reports MAPE as a fraction: the contract wants percent.
    return {
        "mape": float(pm["mape"].iloc[0]) * 100.0,
        "rmse": float(pm["rmse"].iloc[0]),
        "mae": float(pm["mae"].iloc[0]),
    }


def cross_validated(model, history):
    return metrics_of(cross_validation_frame(model, history))


def fold_predictions(cv):
    """predictions.csv of the contract: date,actual,forecast,fold (folds numbered from 0, oldest
    cutoff first), one row per forecast day of each fold."""
    cutoffs = {c: i for i, c in enumerate(sorted(cv["cutoff"].unique()))}
    return pd.DataFrame({
        "date": cv["ds"].dt.strftime("%Y-%m-%d"),
        "actual": cv["y"],
        "forecast": cv["yhat"].round(3),
        "fold": cv["cutoff"].map(cutoffs),
    })


def train():
    bucket = os.environ["S3_BUCKET"]
    prefix = os.environ.get("DATA_PREFIX", "bronze/")
    model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
    earliest = pd.Timestamp(os.environ.get("EARLIEST_TICKET_DATE", "2000-01-01"))
    latest = pd.Timestamp(os.environ.get("LATEST_TICKET_DATE", "2262-01-01"))
    s3 = boto3.client("s3")

    keys = list_csvs(s3, bucket, prefix)
    if not keys:
        raise ValueError(f"no ticket files under s3://{bucket}/{prefix}")
    columns = [c for c in (read_created_dates(s3, bucket, k) for k in keys) if c is not None]
    if not columns:
        raise ValueError(f"no ticket file under s3://{bucket}/{prefix} has a created_date column")
    dates = pd.concat(columns, ignore_index=True)
    history, dropped = daily_counts(dates, earliest, latest)
    log.info("%d files, %d tickets, %d days from %s; %d rows dropped (no date, or outside %s..%s)",
             len(keys), int(history["y"].sum()), len(history), history["ds"].min().date(),
             dropped, earliest.date(), latest.date())

    model = Prophet(seasonality_mode="multiplicative")
    model.fit(history)
    cv = cross_validation_frame(model, history)
    metrics = metrics_of(cv)
    log.info("cross-validation: %s", metrics)

    os.makedirs(model_dir, exist_ok=True)
    joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    with open(os.path.join(model_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f)
    # Optional in the contract: the folds' forecasts against the actuals, for the run report.
    if cv is not None:
        fold_predictions(cv).to_csv(os.path.join(model_dir, "predictions.csv"), index=False)


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    try:
        train()
    except Exception as e:  # the reason goes where SageMaker reads it (FailureReason)
        traceback.print_exc()
        output_dir = os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")
        os.makedirs(output_dir, exist_ok=True)
        with open(os.path.join(output_dir, "failure"), "w", encoding="utf-8") as f:
            f.write(f"{type(e).__name__}: {e}"[:1024])
        sys.exit(1)


if __name__ == "__main__":
    main()
