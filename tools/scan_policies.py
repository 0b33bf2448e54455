#!/usr/bin/env python3
"""Run parliament over every IAM policy that template.yaml deploys.

The SAM template is translated offline to CloudFormation with the SAM translator (the same
translation `sam validate` and CloudFormation do), so the scan sees each role's inline policies as
AWS will: the functions' and the state machine's own `Policies`, SAM policy templates
(LambdaInvokePolicy) and the policies SAM generates (the EventBridge rules' StartExecution, a
dead-letter queue's SendMessage). Intrinsics are resolved to plausible values: account
123456789012, region us-east-1, partition aws, the Parameters' defaults (and an example for the
Parameters without one), conditions evaluated on those. AWS managed policies attached by SAM
(AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess) are AWS's, not scanned.

Each policy goes through `parliament.analyze_policy_string(doc, include_community_auditors=True)`;
every finding (any severity) must match an entry of tools/parliament-allowed.json:

    {"function": "DeployFunction", "issue": "PERMISSIONS_MANAGEMENT_ACTIONS", "action": "iam:PassRole",
     "resource": "arn:aws:iam::123456789012:role/prophet-sagemaker-execution",
     "condition": "iam:PassedToService", "reason": "..."}

`function` is the template resource that owns the role (a function, the state machine), `issue`
parliament's issue name; optional narrowing: `action` (one of the finding's actions), `resource`
(an fnmatch pattern every resource granted must match), `condition` (a condition key every
statement granting the action must test, e.g. iam:PassedToService). Exits 1 on
any finding no entry allows, and also on an entry that no longer matches anything (a stale
allowance is a silent hole). `--print` shows the resolved policies.

Usage: tools/scan_policies.py [--template template.yaml] [--allowed tools/parliament-allowed.json]
"""

import argparse
import copy
import fnmatch
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
STACK = "retrain"
# Parameters without a default get an example of their documented form.
EXAMPLES = {
    "SageMakerRoleArn": f"arn:aws:iam::{ACCOUNT}:role/prophet-sagemaker-execution",
    "TrainingImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/prophet-forecast:latest",
}
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::StackName": STACK,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/00000000-0000-0000-0000-000000000000",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()


def use_project_venv():
    """Run under .venv/bin/python (parliament and the SAM translator live there) when started
    with another interpreter, e.g. as `tools/scan_policies.py`."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    try:
        import parliament  # noqa: F401
        import samtranslator  # noqa: F401
    except ImportError:
        if venv_python.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
            os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
        raise SystemExit("scan_policies: parliament or the SAM translator is missing: run tools/setup.sh")


def translate(template_path):
    """The SAM template as CloudFormation, translated offline."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    import samtranslator
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse(Path(template_path).read_text())
    fragment = copy.deepcopy(sam)
    # Local paths are for `sam build`; the translator wants S3 locations.
    for res in fragment["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://artifacts/code.zip"
        if res["Type"] == "AWS::Serverless::StateMachine" and isinstance(
            props.get("DefinitionUri"), str
        ):
            props["DefinitionUri"] = "s3://artifacts/definition.json"
    data = Path(samtranslator.__file__).parent / "internal" / "data" / "aws_managed_policies.json"
    managed = json.loads(data.read_text())[PARTITION]

    class Loader:
        def load(self):
            return managed

    return sam, transform(fragment, {}, Loader())


class Resolver:
    """Intrinsic functions resolved to plausible values for one account and region."""

    def __init__(self, cfn, examples=None):
        examples = EXAMPLES if examples is None else examples
        self.cfn = cfn
        self.resources = cfn.get("Resources", {})
        self.params = {}
        for name, p in cfn.get("Parameters", {}).items():
            if name in examples:
                self.params[name] = examples[name]
            elif "Default" in p:
                self.params[name] = str(p["Default"])
            else:
                raise SystemExit(f"scan_policies: parameter {name} has no default and no example")
        self.conditions = {}
        for name, expr in cfn.get("Conditions", {}).items():
            self.conditions[name] = self.condition(expr)

    def condition(self, expr):
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), = expr.items()
            if fn == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if fn == "Fn::Not":
                return not self.condition(arg[0])
            if fn == "Fn::And":
                return all(self.condition(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.condition(a) for a in arg)
            if fn == "Condition":
                return self.conditions.get(arg) if arg in self.conditions else self.condition(
                    self.cfn["Conditions"][arg]
                )
        raise SystemExit(f"scan_policies: cannot evaluate condition {expr!r}")

    def present(self, logical):
        cond = self.resources[logical].get("Condition")
        return cond is None or self.conditions[cond]

    def physical(self, logical, res_type, props):
        """What Ref returns for a resource."""
        name = lambda key, fallback: self.value(props[key]) if key in props else fallback  # noqa: E731
        gen = f"{STACK}-{logical}-EXAMPLE1234"[:64]
        if res_type == "AWS::Lambda::Function":
            return name("FunctionName", gen)
        if res_type == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name('TopicName', gen)}"
        if res_type == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name('QueueName', gen)}"
        if res_type == "AWS::StepFunctions::StateMachine":
            return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{name('StateMachineName', gen)}"
        if res_type == "AWS::KMS::Key":
            return "00000000-1111-2222-3333-444444444444"
        if res_type == "AWS::CloudWatch::Alarm":
            return name("AlarmName", gen)
        # Log groups, roles, rules, dashboards and the rest: their name.
        for key in ("LogGroupName", "RoleName", "Name", "DashboardName"):
            if key in props:
                return self.value(props[key])
        return gen

    def ref(self, target):
        if target in PSEUDO:
            return PSEUDO[target]
        if target == "AWS::NoValue":
            return NO_VALUE
        if target in self.params:
            return self.params[target]
        if target in self.resources:
            res = self.resources[target]
            return self.physical(target, res["Type"], res.get("Properties", {}))
        raise SystemExit(f"scan_policies: Ref to unknown {target}")

    def get_att(self, logical, attr):
        res = self.resources[logical]
        t, props = res["Type"], res.get("Properties", {})
        ref = self.ref(logical)
        if attr == "Arn":
            arn = {
                "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{ref}",
                "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{ref.rsplit('/', 1)[-1]}",
                "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{ref}:*",
                "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{ref}",
                "AWS::KMS::Key": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{ref}",
                "AWS::CloudWatch::Alarm": f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{ref}",
                "AWS::StepFunctions::StateMachine": ref,
                "AWS::SNS::Topic": ref,
                "AWS::Events::Rule": f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{ref}",
            }.get(t)
            if arn:
                return arn
        if attr == "QueueName" and t == "AWS::SQS::Queue":
            return ref.rsplit("/", 1)[-1]
        if attr == "Name" and t == "AWS::StepFunctions::StateMachine":
            return ref.rsplit(":", 1)[-1]
        raise SystemExit(f"scan_policies: no example for {logical}.{attr} ({t}) - add one")

    def sub(self, text, local):
        def one(m):
            key = m.group(1)
            if key.startswith("!"):
                return "${" + key[1:] + "}"
            if key in local:
                return str(self.value(local[key]))
            if "." in key and key.split(".", 1)[0] in self.resources:
                return str(self.get_att(*key.split(".", 1)))
            return str(self.ref(key))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def value(self, node):
        if isinstance(node, list):
            out = [self.value(v) for v in node]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                logical, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(logical, attr)
            if fn == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                return self.sub(arg[0], arg[1])
            if fn == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.conditions[name] else no)
            if fn == "Fn::Join":
                return self.value(arg[1]) and arg[0].join(str(v) for v in self.value(arg[1]))
            if fn == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if fn == "Fn::Split":
                return self.value(arg[1]).split(arg[0])
            if fn.startswith("Fn::"):
                raise SystemExit(f"scan_policies: cannot resolve {fn}")
        out = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}


def policies(sam, cfn, examples=None):
    """(owner, role, policy name, resolved document) of every inline IAM policy."""
    r = Resolver(cfn, examples)
    owners = sorted(sam["Resources"], key=len, reverse=True)
    out = []

    def owner_of(role):
        return next((o for o in owners if role.startswith(o)), role)

    for logical, res in cfn["Resources"].items():
        if not r.present(logical):
            continue
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            for p in props.get("Policies", []):
                out.append((owner_of(logical), logical, p["PolicyName"], p["PolicyDocument"]))
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            roles = props.get("Roles", [])
            role = roles[0]["Ref"] if roles and isinstance(roles[0], dict) else logical
            out.append((owner_of(role), role, logical, props["PolicyDocument"]))
    resolved = []
    for owner, role, name, doc in out:
        doc = r.value(doc)
        doc.setdefault("Version", "2012-10-17")  # IAM's default for inline policies written without one
        resolved.append((owner, role, name, doc))
    return resolved


def as_list(x):
    return x if isinstance(x, list) else [] if x is None else [x]


def finding_subjects(finding, doc):
    """The actions and resources a finding is about: from its location and detail, the
    resources from the statements that grant those actions when the finding names none."""
    loc = finding.location if isinstance(finding.location, dict) else {}
    actions = [a for k in ("action", "actions") for a in as_list(loc.get(k)) if isinstance(a, str)]
    resources = [x for x in as_list(loc.get("resource")) if isinstance(x, str)]
    for d in as_list(finding.detail):
        if isinstance(d, dict):
            actions += [a for k in ("action", "actions") for a in as_list(d.get(k)) if isinstance(a, str)]
        elif isinstance(d, str) and re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*]+", d):
            actions.append(d)
    statements = as_list(doc.get("Statement"))
    if not actions:
        actions = [a for st in statements for a in as_list(st.get("Action"))]
    if not resources:
        for st in statements:
            granted = [a.lower() for a in as_list(st.get("Action"))]
            if any(fnmatch.fnmatch(a.lower(), g) for a in actions for g in granted):
                resources += as_list(st.get("Resource"))
    return sorted(set(actions), key=str.lower), sorted(set(resources))


def conditioned(doc, actions, key):
    """Whether every statement that grants one of `actions` carries condition key `key`."""
    found = False
    for st in as_list(doc.get("Statement")):
        granted = [a.lower() for a in as_list(st.get("Action"))]
        if any(fnmatch.fnmatch(a.lower(), g) for a in actions for g in granted):
            found = True
            keys = [k.lower() for op in (st.get("Condition") or {}).values() for k in op]
            if key.lower() not in keys:
                return False
    return found


def allowed_by(entry, owner, finding, actions, resources, doc):
    """An entry allows a finding of its function and issue when its action names one of the
    finding's actions, its resource pattern covers EVERY resource they are granted on, and its
    condition key (if any) guards every statement that grants them."""
    if entry["function"] != owner or entry["issue"] != finding.issue:
        return False
    if "action" in entry and not any(fnmatch.fnmatch(a.lower(), entry["action"].lower()) for a in actions):
        return False
    if "resource" in entry and not (resources and all(fnmatch.fnmatchcase(x, entry["resource"]) for x in resources)):
        return False
    if "condition" in entry and not conditioned(doc, actions, entry["condition"]):
        return False
    return True


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--template", default=str(ROOT / "template.yaml"))
    ap.add_argument("--allowed", default=str(ROOT / "tools" / "parliament-allowed.json"))
    ap.add_argument("--print", action="store_true", help="print each resolved policy")
    args = ap.parse_args(argv)

    import parliament
    from parliament import analyze_policy_string, enhance_finding, override_config

    # The community auditors' issues (PERMISSIONS_MANAGEMENT_ACTIONS, ...) are described in
    # their own config, which the parliament CLI loads the same way.
    override_config(str(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))

    allowed = json.loads(Path(args.allowed).read_text())
    for e in allowed:
        missing = {"function", "issue", "reason"} - set(e)
        if missing or not str(e.get("reason", "")).strip():
            raise SystemExit(f"scan_policies: allow-list entry {e} lacks {sorted(missing) or 'a reason'}")
    used = [0] * len(allowed)
    sam, cfn = translate(args.template)
    # Both ways to deploy: with an existing SageMaker execution role, and with the one the stack
    # creates (SageMakerRoleArn empty): its policy, and the workers' PassRole of it.
    docs = policies(sam, cfn)
    created = policies(sam, cfn, {**EXAMPLES, "SageMakerRoleArn": ""})
    docs += [d for d in created if d not in docs]
    bad = 0
    total = 0
    for owner, role, name, doc in docs:
        if args.print:
            print(f"--- {owner} ({role}/{name})\n{json.dumps(doc, indent=2)}")
        policy = analyze_policy_string(json.dumps(doc), filepath=f"{role}/{name}", include_community_auditors=True)
        for f in policy.findings:
            f = enhance_finding(f)
            total += 1
            actions, resources = finding_subjects(f, doc)
            hits = [i for i, e in enumerate(allowed) if allowed_by(e, owner, f, actions, resources, doc)]
            for i in hits:
                used[i] += 1
            tag = "allowed" if hits else "FINDING"
            bad += 0 if hits else 1
            print(
                f"{tag}: {owner} {f.issue} ({f.severity}) actions={actions} resources={resources}"
                + ("" if hits else f"\n    {f.title}: {f.detail}")
            )
    stale = [allowed[i] for i, n in enumerate(used) if n == 0]
    for e in stale:
        print(f"STALE allow-list entry (matches no finding: its finding is fixed or changed; remove or update it): {json.dumps(e)}")
    print(
        f"parliament {parliament.__version__}: {len(docs)} policies, {total} findings, "
        f"{total - bad} allow-listed, {bad} not allowed, {len(stale)} stale allowances"
    )
    return 1 if bad or stale else 0


if __name__ == "__main__":
    use_project_venv()
    sys.exit(main(sys.argv[1:]))
