#!/usr/bin/env python3
"""SageMaker serving app for the Prophet model, speaking the users' serving contract (the
original FastAPI app's, which their consumers call): GET /ping, POST /invocations on :8080.

SageMaker unpacks model.tar.gz into /opt/ml/model and runs `serve` (the proving ground sets
SM_MODEL_DIR and SAGEMAKER_BIND_TO_PORT instead). /invocations takes
{"horizon_days": 1..365, "start_date": "YYYY-MM-DD"} (start optional: today) and answers
{"forecast": [{"day": 1, "date": "YYYY-MM-DD", "forecast_ticket_count": n, "lower_bound": l,
"upper_bound": u}, ...]}: Prophet's yhat, yhat_lower and yhat_upper, rounded. SIGTERM stops it.
Standard library only, beside the model's own packages.
"""
import datetime
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import joblib

MODEL_PATH = os.path.join(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"), "model.joblib")
MAX_HORIZON_DAYS = 365
_model = None


def model():
    global _model
    if _model is None:
        _model = joblib.load(MODEL_PATH)
    return _model


def forecast(horizon_days, start_date):
    """The contract's forecast: one entry per day from start_date."""
    import pandas as pd  # with the model's packages

    days = pd.date_range(start_date, periods=horizon_days, freq="D")
    out = model().predict(pd.DataFrame({"ds": days}))
    return [
        {"day": i + 1, "date": row.ds.strftime("%Y-%m-%d"),
         "forecast_ticket_count": max(0, round(row.yhat)),
         "lower_bound": max(0, min(round(row.yhat_lower), round(row.yhat))),
         "upper_bound": max(0, round(row.yhat_upper), round(row.yhat))}
        for i, row in enumerate(out.itertuples())
    ]


def parse_request(request):
    """(horizon_days, start_date) of a request, or the reason it is refused."""
    if not isinstance(request, dict):
        raise ValueError("the body must be a JSON object")
    horizon = request.get("horizon_days")
    if isinstance(horizon, bool) or not isinstance(horizon, int) \
            or not 1 <= horizon <= MAX_HORIZON_DAYS:
        raise ValueError(f"horizon_days must be an integer in [1, {MAX_HORIZON_DAYS}]")
    start = request.get("start_date")
    if start is None:
        return horizon, datetime.date.today()
    try:
        return horizon, datetime.date.fromisoformat(start)
    except (TypeError, ValueError):
        raise ValueError(f"start_date must be YYYY-MM-DD, not {start!r}") from None


class Handler(BaseHTTPRequestHandler):
    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path != "/ping":
            return self._send(404, {"error": "not found"})
        try:
            model()
            self._send(200, {"status": "ok"})
        except Exception as e:  # not ready: SageMaker keeps the instance out of service
            self._send(500, {"error": f"model not loaded: {e}"})

    def do_POST(self):
        if self.path != "/invocations":
            return self._send(404, {"error": "not found"})
        try:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"{}")
            horizon, start = parse_request(request)
            self._send(200, {"forecast": forecast(horizon, start)})
        except ValueError as e:
            if not isinstance(e, json.JSONDecodeError):
                return self._send(400, {"error": str(e)})
            self._send(400, {"error": f"the body is not JSON: {e}"})


def main():
    # As PID 1 in a container a process ignores SIGTERM unless it handles it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
