"""The users' own serving app (their original `model_folder/app.py`): FastAPI under uvicorn,
serving the Prophet model that ../train.py writes (`model.joblib`).

    GET  /ping         200 once the model is loaded, 500 otherwise
    POST /invocations  {"horizon_days": 1..365, "start_date": "YYYY-MM-DD"} (start optional: today)
                       -> {"forecast": [{"day": 1, "date": "YYYY-MM-DD", "forecast_ticket_count": n,
                                         "lower_bound": l, "upper_bound": u}, ...]}

It reads `model.joblib` from the working directory (the original read /opt/ml/model/model.joblib):
start it from the model's directory, as the proving ground does with

    SERVING_COMMAND='cd $SM_MODEL_DIR && uvicorn --app-dir /path/to/fastapi_app app:app --port $SAGEMAKER_BIND_TO_PORT'

(on SageMaker: `cd /opt/ml/model && uvicorn ... --host 0.0.0.0 --port 8080`).
"""
import datetime as dt
import logging
from contextlib import asynccontextmanager
from functools import lru_cache

import joblib
import pandas as pd
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

MODEL_PATH = "model.joblib"

log = logging.getLogger("uvicorn.error")


class ForecastRequest(BaseModel):
    horizon_days: int = Field(ge=1, le=365)
    start_date: dt.date = Field(default_factory=dt.date.today)


class ForecastDay(BaseModel):
    day: int
    date: dt.date
    forecast_ticket_count: int = Field(ge=0)
    lower_bound: int = Field(ge=0)
    upper_bound: int = Field(ge=0)


class ForecastResponse(BaseModel):
    forecast: list[ForecastDay]


@lru_cache(maxsize=1)
def load_model():
    """The Prophet model, loaded once (a failed load is tried again on the next call)."""
    return joblib.load(MODEL_PATH)


@asynccontextmanager
async def lifespan(app):
    # Load before serving, so /ping is instant; without a model /ping answers 500.
    try:
        load_model()
    except Exception as e:
        log.error("model not loaded: %s", e)
    yield


app = FastAPI(title="Ticket forecast", lifespan=lifespan)


@app.get("/ping")
def ping():
    try:
        load_model()
    except Exception as e:  # not ready: SageMaker keeps the instance out of service
        return JSONResponse({"status": "error", "detail": f"model not loaded: {e}"}, 500)
    return {"status": "ok"}


@app.post("/invocations")
def invocations(request: ForecastRequest) -> ForecastResponse:
    days = pd.date_range(request.start_date, periods=request.horizon_days, freq="D")
    predicted = load_model().predict(pd.DataFrame({"ds": days}))
    forecast = []
    for i, row in enumerate(predicted.itertuples()):
        count = max(0, round(row.yhat))
        forecast.append(ForecastDay(
            day=i + 1,
            date=row.ds.date(),
            forecast_ticket_count=count,
            lower_bound=min(max(0, round(row.yhat_lower)), count),
            upper_bound=max(round(row.yhat_upper), count),
        ))
    return ForecastResponse(forecast=forecast)
