"""The five steps written in Python with boto3, as the original Lambda was: the cold-start
baselines of `coldstart-bench`, run under awslambdaric (the Python Lambda runtime client) with
the same events, against the same emulator, making the same AWS calls as the Rust workers on
those events (the steady state of each step: a re-run finds what exists).

Each handler returns a small JSON answer; any exception is an unsuccessful invocation, which
the benchmark does not count.
"""
import csv
import io
import json
import os
import tarfile
from datetime import datetime, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

BUCKET = os.environ["S3_BUCKET"] if "S3_BUCKET" in os.environ else "ticket-forecasting-lake"
GROUP = os.environ.get("MODEL_PACKAGE_GROUP", "prophet-forecasting-models")
ENDPOINT = os.environ.get("ENDPOINT_NAME", "prophet-fastapi-endpoint-latest")
TOPIC = os.environ["SNS_TOPIC_ARN"]
NAMESPACE = "MLOps/Forecasting"

# Clients once per cold start, as the Rust workers build theirs.
_config = Config(s3={"addressing_style": "path"}, retries={"mode": "standard"})
s3 = boto3.client("s3", config=_config)
sm = boto3.client("sagemaker", config=_config)
cw = boto3.client("cloudwatch", config=_config)
sns = boto3.client("sns", config=_config)
sfn = boto3.client("stepfunctions", config=_config)


def _json_object(key):
    try:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def _metric(name, value, unit):
    cw.put_metric_data(Namespace=NAMESPACE, MetricData=[{
        "MetricName": name, "Value": value, "Unit": unit,
        "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}]}])


def _versions():
    out = []
    for page in sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=GROUP):
        out += page["ModelPackageSummaryList"]
    return out


def _count_days(key, days):
    """Tickets a day of one ticket file, added to `days`: (rows, bad rows)."""
    body = io.TextIOWrapper(s3.get_object(Bucket=BUCKET, Key=key)["Body"], encoding="utf-8-sig")
    reader = csv.reader(body)
    header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
    col = header.index("created_date")
    rows, bad = 0, 0
    for row in reader:
        try:
            day = row[col][:10]
            datetime.strptime(day, "%Y-%m-%d")
            days[day] = days.get(day, 0) + 1
            rows += 1
        except (ValueError, IndexError):
            bad += 1
    return rows, bad


def _report(state):
    """The run report's reads and write, as run-report makes them (Deploy, RejectAndAlert): every
    ticket file's days counted, the job's predictions.csv out of its archive, the group's last 26
    versions described, the execution's history when the run names it; the page written. No chart
    is drawn here (matplotlib would add seconds to this cold start): the Rust side does more."""
    days = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="bronze/"):
        for o in page.get("Contents", []):
            if o["Key"].lower().endswith(".csv"):
                _count_days(o["Key"], days)
    artifact = state["job"]["model_artifact"].split("/", 3)[3]
    folds = []
    with tarfile.open(fileobj=s3.get_object(Bucket=BUCKET, Key=artifact)["Body"], mode="r|gz") as tar:
        for member in tar:
            if member.name.lstrip("./") == "predictions.csv":
                text = tar.extractfile(member).read().decode("utf-8")
                folds = list(csv.reader(io.StringIO(text)))
    history = [sm.describe_model_package(ModelPackageName=v["ModelPackageArn"])
               for v in sorted(_versions(), key=lambda v: v["CreationTime"], reverse=True)[:26]]
    states = []
    arn = state["run"].get("execution_arn")
    if arn:
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            states += page["events"]
    html = (f"<!DOCTYPE html><title>{state['run']['execution']}</title>"
            f"<p>{len(days)} days, {len(folds)} fold rows, {len(history)} versions, {len(states)} events")
    s3.put_object(Bucket=BUCKET, Key=f"reports/{state['run']['execution']}.html", Body=html.encode(),
                  ContentType="text/html; charset=utf-8")


def start_training(event, context):
    last = _json_object("Model/last_trained.json")
    since = datetime.fromisoformat(last["trained_at"]) if last else None
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="bronze/"):
        for o in page.get("Contents", []):
            if o["Key"].lower().endswith(".csv") and (since is None or o["LastModified"] > since):
                keys.append(o["Key"])
    days, rows, bad = {}, 0, 0
    for key in keys:
        r, b = _count_days(key, days)
        rows, bad = rows + r, bad + b
    _json_object("statistics/latest.json")
    _metric("TicketBadRowRate", 100.0 * bad / max(rows + bad, 1), "Percent")
    job = f"prophet-retrain-{event['execution']}"[:63]
    # Single-flight: the state machine's running executions, as StartTraining lists them.
    for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=event["state_machine"], statusFilter="RUNNING"):
        page["executions"]
    try:
        sm.describe_training_job(TrainingJobName=job)
    except ClientError as e:  # SageMaker says "not found" as a ValidationException
        if "Could not find" not in str(e):
            raise
    sm.describe_model_package_group(ModelPackageGroupName=GROUP)
    sm.create_training_job(
        TrainingJobName=job,
        AlgorithmSpecification={"TrainingImage": os.environ["ECR_IMAGE_URI"],
                                "TrainingInputMode": "File"},
        RoleArn=os.environ["SAGEMAKER_ROLE"],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/training-output/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Environment={"S3_BUCKET": BUCKET, "DATA_PREFIX": "bronze/",
                     "EXECUTION_NAME": event["execution"]},
        Tags=[{"Key": "pipeline", "Value": "prophet-retraining"}],
    )
    return {"action": "train", "files": len(keys), "rows": rows, "days": len(days)}


def check_status(event, context):
    job = sm.describe_training_job(TrainingJobName=event["name"])
    return {"status": job["TrainingJobStatus"],
            "artifact": job.get("ModelArtifacts", {}).get("S3ModelArtifacts")}


def evaluate_mape(event, context):
    artifact = event["job"]["model_artifact"]
    bucket, key = artifact[len("s3://"):].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    mape = None
    with tarfile.open(fileobj=body, mode="r|gz") as tar:
        for member in tar:
            if member.name.lstrip("./") == "metrics.json" and member.isfile():
                mape = json.loads(tar.extractfile(member).read())["mape"]
    if mape is not None:
        _metric("ModelMAPE", float(mape), "None")
    return {"mape": mape, "passed": mape is not None and mape < event["run"]["mape_threshold"]}


def _serving():
    endpoint = sm.describe_endpoint(EndpointName=ENDPOINT)
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    return endpoint, config["ProductionVariants"][0]["ModelName"]


def deploy(event, context):
    job = event["run"]["training"]["job_name"]
    wanted = f"Prophet ticket forecast trained by {job}"
    version = next(v for v in _versions() if v.get("ModelPackageDescription") == wanted)
    endpoint, model = _serving()
    sm.describe_model(ModelName=model)
    _report(event)
    return {"action": "already_serving", "version": version["ModelPackageArn"], "model": model}


def reject_and_alert(event, context):
    state = event["state"]
    job = state["run"]["training"]["job_name"]
    _, serving = _serving()
    wanted = f"Prophet ticket forecast trained by {job}"
    version = next(v for v in _versions() if v.get("ModelPackageDescription") == wanted)
    mape = state["evaluation"]["mape"]
    _metric("ModelDriftDetected", 1.0, "Count")
    cw.describe_alarms(AlarmNames=[f"{ENDPOINT}-mape-drift-alarm"])
    threshold = state["run"]["mape_threshold"]
    message = (f"New model exceeded MAPE threshold. MAPE: {mape:.1f}%, Threshold: {threshold:.1f}%. "
               f"Please review and approve manually.\n\nStill serving: {serving}\n"
               f"New version (PendingManualApproval): {version['ModelPackageArn']}\nTraining job: {job}")
    _report(state)
    out = sns.publish(TopicArn=TOPIC, Subject="Model Needs Manual Approval", Message=message)
    return {"subject": "Model Needs Manual Approval", "message_id": out["MessageId"],
            "serving": serving, "at": datetime.now(timezone.utc).isoformat()}


def echo(event, context):
    """The floor of a Python cold start: boto3 imported (as every step needs), the event back."""
    return event
