"""The Prophet example's own tests (stdlib unittest, in .venv-prophet):
    .venv-prophet/bin/python -m unittest discover -s examples/prophet-trainer -v

train.py's pieces on in-memory data, and serve.py answering /ping and /invocations with a model
trained here. The whole trainer against the pipeline is local/tests/trainers.rs.
"""
import datetime
import json
import os
import tempfile
import threading
import unittest
import urllib.request
from http.server import ThreadingHTTPServer

import joblib
import numpy as np
import pandas as pd

import train


def synthetic_dates(days=120):
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2024-01-01")
    rows = []
    for i in range(days):
        day = start + pd.Timedelta(days=i)
        n = int(100 * (1.3 if day.dayofweek < 5 else 0.6) * rng.uniform(0.9, 1.1))
        rows += [day.strftime("%Y-%m-%d")] * n
    return pd.Series(rows)


class TrainTest(unittest.TestCase):
    def test_daily_counts_take_calendar_days_of_every_export_style_within_the_window(self):
        dates = pd.Series(["2024-11-25", "2024-11-25 08:01:02", "2024-11-25T23:59:00Z",
                           "11/26/2024", "not a date", "1970-01-01", "2061-03-01"])
        history, dropped = train.daily_counts(dates, pd.Timestamp("2000-01-01"),
                                              pd.Timestamp("2026-11-28"))
        self.assertEqual(list(history["y"]), [3.0, 1.0])
        self.assertEqual(dropped, 3)

    def test_mape_is_a_percentage_and_null_with_short_history(self):
        history, _ = train.daily_counts(synthetic_dates(), pd.Timestamp("2000-01-01"),
                                        pd.Timestamp("2030-01-01"))
        model = train.Prophet(seasonality_mode="multiplicative").fit(history)
        metrics = train.cross_validated(model, history)
        self.assertGreater(metrics["mape"], 1.0, "percent, not a fraction")
        self.assertLess(metrics["mape"], 50.0)
        short = history.iloc[:40]
        model = train.Prophet(seasonality_mode="multiplicative").fit(short)
        self.assertEqual(train.cross_validated(model, short),
                         {"mape": None, "rmse": None, "mae": None})

    def test_fold_predictions_are_the_contracts_csv(self):
        history, _ = train.daily_counts(synthetic_dates(), pd.Timestamp("2000-01-01"),
                                        pd.Timestamp("2030-01-01"))
        model = train.Prophet(seasonality_mode="multiplicative").fit(history)
        cv = train.cross_validation_frame(model, history)
        p = train.fold_predictions(cv)
        self.assertEqual(list(p.columns), ["date", "actual", "forecast", "fold"])
        self.assertEqual(len(p), len(cv))
        self.assertEqual(sorted(p["fold"].unique()), list(range(cv["cutoff"].nunique())))
        self.assertEqual(p["date"].iloc[-1], history["ds"].max().strftime("%Y-%m-%d"))
        self.assertTrue((p["actual"] >= 0).all())


class ServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        history, _ = train.daily_counts(synthetic_dates(), pd.Timestamp("2000-01-01"),
                                        pd.Timestamp("2030-01-01"))
        cls.dir = tempfile.TemporaryDirectory()
        joblib.dump(train.Prophet(seasonality_mode="multiplicative").fit(history),
                    os.path.join(cls.dir.name, "model.joblib"))
        import serve
        serve.MODEL_PATH = os.path.join(cls.dir.name, "model.joblib")
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), serve.Handler)
        cls.url = f"http://127.0.0.1:{cls.server.server_address[1]}"
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.dir.cleanup()

    def call(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST" if data else "GET")
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_ping(self):
        self.assertEqual(self.call("/ping"), (200, {"status": "ok"}))

    def test_invocations_answer_the_serving_contract(self):
        status, body = self.call("/invocations", {"horizon_days": 7, "start_date": "2024-04-30"})
        self.assertEqual(status, 200)
        days = body["forecast"]
        self.assertEqual([d["day"] for d in days], list(range(1, 8)))
        self.assertEqual(days[0]["date"], "2024-04-30")
        self.assertEqual(days[6]["date"], "2024-05-06")
        for d in days:
            self.assertEqual(set(d), {"day", "date", "forecast_ticket_count", "lower_bound",
                                      "upper_bound"})
            for k in ("forecast_ticket_count", "lower_bound", "upper_bound"):
                self.assertIsInstance(d[k], int)
                self.assertGreaterEqual(d[k], 0)
            self.assertLessEqual(d["lower_bound"], d["forecast_ticket_count"])
            self.assertLessEqual(d["forecast_ticket_count"], d["upper_bound"])
        self.assertGreater(days[0]["forecast_ticket_count"], 0)

    def test_without_a_start_date_the_forecast_starts_today(self):
        status, body = self.call("/invocations", {"horizon_days": 1})
        self.assertEqual(status, 200)
        self.assertEqual(body["forecast"][0]["date"], datetime.date.today().isoformat())

    def test_bad_requests_say_why(self):
        for bad in ({"horizon_days": 0}, {"horizon_days": 366}, {"horizon_days": "7"},
                    {"periods": 7}, {"horizon_days": 7, "start_date": "30/04/2024"}, [1]):
            status, body = self.call("/invocations", bad)
            self.assertEqual(status, 400, bad)
            self.assertTrue(body["error"], bad)
        self.assertEqual(self.call("/nope")[0], 404)

if __name__ == "__main__":
    unittest.main()
