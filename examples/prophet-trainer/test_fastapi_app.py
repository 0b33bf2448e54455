"""The users' FastAPI app (fastapi_app/app.py) serving a model trained by train.py, started as the
proving ground starts it (docs/contracts.md, "Serving your own app in the proving ground"):

    cd $SM_MODEL_DIR && uvicorn --app-dir .../fastapi_app app:app --port $SAGEMAKER_BIND_TO_PORT

    .venv-prophet/bin/python -m unittest discover -s examples/prophet-trainer -v

The app under the whole pipeline is local/tests/fastapi_serving.rs.
"""
import datetime
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import joblib
import pandas as pd

import train
from test_example import synthetic_dates

APP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fastapi_app")
UVICORN = os.path.join(os.path.dirname(sys.executable), "uvicorn")
STOP_GRACE = 5  # seconds between SIGTERM and SIGKILL in the emulator's fleet


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Uvicorn:
    """The app under uvicorn in `model_dir`, in its own process group as the emulator runs it."""

    def __init__(self, model_dir):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            f"cd {model_dir} && {UVICORN} --app-dir {APP_DIR} app:app --port $SAGEMAKER_BIND_TO_PORT",
            shell=True, start_new_session=True, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "SM_MODEL_DIR": model_dir, "SAGEMAKER_BIND_TO_PORT": str(self.port)})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"uvicorn did not listen: {self.output()}")

    def output(self):
        if self.log.closed:
            return self.final_output
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def call(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.loads(e.read())

    def terminate(self):
        """SIGTERM to the group, as the emulator stops a fleet: the seconds it took to exit, None
        when it had to be killed after the grace period."""
        started = time.monotonic()
        took = None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE)
                took = time.monotonic() - started
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.final_output = self.output()
        self.log.close()
        return took


class FastApiAppTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        history, _ = train.daily_counts(synthetic_dates(), pd.Timestamp("2000-01-01"),
                                        pd.Timestamp("2030-01-01"))
        cls.dir = tempfile.TemporaryDirectory()
        path = os.path.join(cls.dir.name, "model.joblib")
        joblib.dump(train.Prophet(seasonality_mode="multiplicative").fit(history), path)
        os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # read-only, as SageMaker
        cls.server = Uvicorn(cls.dir.name)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.dir.cleanup()

    def test_ping(self):
        self.assertEqual(self.server.call("/ping"), (200, {"status": "ok"}))

    def test_invocations_answer_the_serving_contract(self):
        status, body = self.server.call("/invocations",
                                        {"horizon_days": 7, "start_date": "2024-04-30"})
        self.assertEqual(status, 200, body)
        self.assertEqual(set(body), {"forecast"})
        days = body["forecast"]
        self.assertEqual([d["day"] for d in days], list(range(1, 8)))
        self.assertEqual([d["date"] for d in days],
                         [f"2024-{m:02}-{d:02}" for m, d in
                          [(4, 30), (5, 1), (5, 2), (5, 3), (5, 4), (5, 5), (5, 6)]])
        for d in days:
            self.assertEqual(set(d), {"day", "date", "forecast_ticket_count", "lower_bound",
                                      "upper_bound"})
            for k in ("forecast_ticket_count", "lower_bound", "upper_bound"):
                self.assertIsInstance(d[k], int)
                self.assertGreaterEqual(d[k], 0)
            self.assertLessEqual(d["lower_bound"], d["forecast_ticket_count"])
            self.assertLessEqual(d["forecast_ticket_count"], d["upper_bound"])
        # The synthetic history's weekdays are busier than its weekends.
        weekday, weekend = days[0], days[4]  # Tuesday, Saturday
        self.assertGreater(weekday["forecast_ticket_count"], weekend["forecast_ticket_count"])

    def test_without_a_start_date_the_forecast_starts_today(self):
        status, body = self.server.call("/invocations", {"horizon_days": 2})
        self.assertEqual(status, 200, body)
        today = datetime.date.today()
        self.assertEqual([d["date"] for d in body["forecast"]],
                         [today.isoformat(), (today + datetime.timedelta(days=1)).isoformat()])

    def test_bad_requests_are_refused_with_422(self):
        for bad in ({"horizon_days": 0}, {"horizon_days": 366}, {"periods": 7},
                    {"horizon_days": 7, "start_date": "30/04/2024"}, [1]):
            status, body = self.server.call("/invocations", bad)
            self.assertEqual(status, 422, bad)
            self.assertTrue(body["detail"], bad)
        self.assertEqual(self.server.call("/nope")[0], 404)


class WithoutAModelTest(unittest.TestCase):
    def test_ping_fails_until_the_model_loads_and_sigterm_stops_it(self):
        with tempfile.TemporaryDirectory() as empty:
            server = Uvicorn(empty)
            try:
                status, body = server.call("/ping")
                self.assertEqual(status, 500, body)
                self.assertIn("model not loaded", body["detail"])
            finally:
                took = server.terminate()
            self.assertIsNotNone(took, f"uvicorn ignored SIGTERM: {server.output()}")
            self.assertLess(took, STOP_GRACE)


if __name__ == "__main__":
    unittest.main()
