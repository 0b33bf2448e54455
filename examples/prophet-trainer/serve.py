#!/usr/bin/env python3
"""Minimal SageMaker serving app for the Prophet model: GET /ping, POST /invocations on :8080.

SageMaker unpacks model.tar.gz into /opt/ml/model and runs `serve`. /invocations takes
{"periods": N} (days after the training data, default 14) and answers
{"forecast": [{"ds": "YYYY-MM-DD", "yhat": x, "yhat_lower": l, "yhat_upper": u}, ...]}.
Standard library only, beside the model's own packages.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import joblib

MODEL_PATH = os.path.join(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"), "model.joblib")
MAX_PERIODS = 366
_model = None


def model():
    global _model
    if _model is None:
        _model = joblib.load(MODEL_PATH)
    return _model


def forecast(periods):
    m = model()
    future = m.make_future_dataframe(periods=periods, include_history=False)
    out = m.predict(future)[["ds", "yhat", "yhat_lower", "yhat_upper"]]
    out["ds"] = out["ds"].dt.strftime("%Y-%m-%d")
    return out.to_dict(orient="records")


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
            periods = request.get("periods", 14)
            if not isinstance(periods, int) or not 1 <= periods <= MAX_PERIODS:
                return self._send(400, {"error": f"periods must be an integer in [1, {MAX_PERIODS}]"})
            self._send(200, {"forecast": forecast(periods)})
        except json.JSONDecodeError as e:
            self._send(400, {"error": f"the body is not JSON: {e}"})


def main():
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
