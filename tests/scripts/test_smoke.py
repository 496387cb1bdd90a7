"""scripts/smoke.sh with fake `pulumi`, `aws` and `curl` on a controlled PATH: the order of its steps, the
cleanup after a failure, and the failure when something still carries the stack's tags."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Each run starts the settings loader and the preflight in Python, and the fakes, as processes.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scripts" / "smoke.sh"
BASICS = ("bash", "sleep", "sed")
URL = "http://203.0.113.10/v2/models/digits/infer"

# One fake for the three programs: it logs its name and arguments, then answers from a table the test
# writes (first matching argument prefix wins; a list of answers is used one per call).
FAKE = """#!{python}
import hashlib, json, os, sys
from pathlib import Path

name = Path(sys.argv[0]).name
args = sys.argv[1:]
state = Path(os.environ["FAKE_STATE"])
with (state / "calls.log").open("a") as log:
    log.write(json.dumps([name, *args]) + "\\n")
table = json.loads((state / "answers.json").read_text())
line = " ".join([name, *args])
for prefix, answers in table.items():
    if line.startswith(prefix):
        counter = state / ("count-" + hashlib.sha256(prefix.encode()).hexdigest()[:16])
        n = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(n + 1))
        answer = answers[min(n, len(answers) - 1)] if isinstance(answers, list) else answers
        sys.stdout.write(answer.get("out", ""))
        sys.exit(answer.get("rc", 0))
sys.stderr.write("fake: no answer for " + line + "\\n")
sys.exit(3)
"""

# The price check's answers: the recorded AWS Price List answers the price preflight's tests use.
PRICES = json.loads((ROOT / "tests" / "infra" / "preflight_answers" / "prices.json").read_text())["aws"]
PRICE_QUERY = (
    "aws pricing get-products --service-code AmazonEC2 --filters Type=TERM_MATCH,Field=instanceType,Value="
)

AWS_READY = {
    "aws sts get-caller-identity": {"out": json.dumps({"Arn": "arn:aws:iam::123456789012:user/ci"})},
    "aws eks describe-cluster-versions": {
        "out": json.dumps(
            {"clusterVersions": [{"clusterVersion": "1.35", "versionStatus": "STANDARD_SUPPORT"}]}
        )
    },
    "aws ec2 describe-instance-types": {
        "out": json.dumps({"InstanceTypes": [{"InstanceType": "g5.xlarge", "VCpuInfo": {"DefaultVCpus": 4}}]})
    },
    # The pool's maximum plus the nodes an upgrade adds, at 4 vCPUs each (Pulumi.aws.yaml: 7 g5.xlarge).
    "aws service-quotas get-service-quota": {"out": json.dumps({"Quota": {"Value": 32}})},
    # Offerings are listed by zone ID; the preflight maps the two zones it chooses to their IDs.
    "aws ec2 describe-instance-type-offerings": {
        "out": json.dumps({"InstanceTypeOfferings": [{"Location": "use1-az1"}, {"Location": "use1-az2"}]})
    },
    "aws ec2 describe-availability-zones": {
        "out": json.dumps(
            {
                "AvailabilityZones": [
                    {"ZoneName": "us-east-1a", "ZoneId": "use1-az1"},
                    {"ZoneName": "us-east-1b", "ZoneId": "use1-az2"},
                ]
            }
        )
    },
    **{PRICE_QUERY + type_ + " ": {"out": json.dumps(PRICES[type_])} for type_ in ("t3.large", "g5.xlarge")},
    "aws resourcegroupstaggingapi get-resources": {"out": json.dumps({"ResourceTagMappingList": []})},
    "pulumi up": {"out": "Resources: 80 created\n"},
    "pulumi stack output url": {"out": URL + "\n"},
    "pulumi stack output apiKey": {"out": "k-123\n"},
    "pulumi destroy": {"out": "Resources: 80 deleted\n"},
    # Not ready on the first poll, ready on the second.
    "curl -fsS --max-time 10 http://203.0.113.10/v2/health/ready": [{"rc": 7}, {"out": ""}],
    "curl -fsS --max-time 60 " + URL: {
        "out": json.dumps({"model_name": "digits", "outputs": [{"data": [3]}]})
    },
}


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in BASICS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run the test"
        (bin_dir / tool).symlink_to(found)
    for name in ("pulumi", "aws", "curl"):
        fake = bin_dir / name
        fake.write_text(FAKE.format(python=sys.executable))
        fake.chmod(0o755)
    return tmp_path


def smoke(
    state: Path, answers: dict[str, object]
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    (state / "answers.json").write_text(json.dumps(answers))
    env = {
        "PATH": str(state / "bin"),
        "HOME": str(state),
        "FAKE_STATE": str(state),
        "PYTHON": sys.executable,
        "SMOKE_POLL_S": "0",
        "SMOKE_READY_TIMEOUT_S": "20",
    }
    result = subprocess.run(
        ["bash", str(SMOKE), "aws"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = state / "calls.log"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def steps(calls: list[list[str]]) -> list[str]:
    """Each call as its program and first two words, preflight calls folded into one step."""
    named = []
    for call in calls:
        word = " ".join(call[:3])
        if call[0] == "aws" and call[1] != "resourcegroupstaggingapi":
            word = "preflight"
        if call[0] == "curl":
            word = "curl ready" if call[-1].endswith("/v2/health/ready") else "curl predict"
        if not named or named[-1] != word:
            named.append(word)
    return named


def test_a_healthy_run_goes_preflight_up_ready_predict_destroy_then_looks_for_leftovers(fakes: Path) -> None:
    result, calls = smoke(fakes, AWS_READY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert steps(calls) == [
        "preflight",
        "pulumi up --yes",
        "pulumi stack output",
        "curl ready",
        "pulumi stack output",
        "curl predict",
        "pulumi destroy --yes",
        "aws resourcegroupstaggingapi get-resources",
    ]
    assert sum(1 for c in calls if c[0] == "curl" and c[-1].endswith("/ready")) == 2, "polled until ready"
    predict = next(c for c in calls if c[0] == "curl" and c[-1] != "" and "-d" in c)
    assert "Authorization: Bearer k-123" in predict
    assert all("--stack" in c and "aws" in c for c in calls if c[0] == "pulumi")
    tagged = next(c for c in calls if c[1] == "resourcegroupstaggingapi")
    assert "Key=project,Values=liftoff" in tagged and "Key=stack,Values=aws" in tagged
    assert tagged[tagged.index("--region") + 1] == "us-east-1"
    assert "nothing left" in result.stdout


def test_a_resource_left_behind_fails_the_run_and_is_listed(fakes: Path) -> None:
    left = {"ResourceTagMappingList": [{"ResourceARN": "arn:aws:ec2:us-east-1:123456789012:volume/vol-1"}]}
    result, _ = smoke(
        fakes, {**AWS_READY, "aws resourcegroupstaggingapi get-resources": {"out": json.dumps(left)}}
    )
    assert result.returncode == 1
    assert "vol-1" in result.stdout and "1 resource(s) still carry" in result.stderr


def test_a_failed_preflight_creates_nothing(fakes: Path) -> None:
    no_quota = {
        **AWS_READY,
        "aws service-quotas get-service-quota": {"out": json.dumps({"Quota": {"Value": 0}})},
    }
    result, calls = smoke(fakes, no_quota)
    assert result.returncode == 1
    assert "[FAIL] GPU quota" in result.stdout
    assert not [c for c in calls if c[0] in ("pulumi", "curl")]


def test_a_failed_up_still_destroys_and_checks_for_leftovers(fakes: Path) -> None:
    result, calls = smoke(fakes, {**AWS_READY, "pulumi up": {"rc": 255}})
    assert result.returncode == 1 and "pulumi up failed" in result.stderr
    assert steps(calls)[-2:] == ["pulumi destroy --yes", "aws resourcegroupstaggingapi get-resources"]
    assert not [c for c in calls if c[0] == "curl"]


def test_a_prediction_without_outputs_fails_but_still_cleans_up(fakes: Path) -> None:
    answers = {**AWS_READY, "curl -fsS --max-time 60 " + URL: {"out": json.dumps({"error": "nope"})}}
    result, calls = smoke(fakes, answers)
    assert result.returncode == 1 and "without outputs" in result.stderr
    assert any(c[:2] == ["pulumi", "destroy"] for c in calls)


def test_only_cloud_stacks_are_accepted(fakes: Path) -> None:
    result = subprocess.run(
        ["bash", str(SMOKE), "dev"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2 and "allowed: aws, gcp, azure" in result.stderr
