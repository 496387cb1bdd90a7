"""The lab's load generator: profiles of concurrent users against any URL, and a report of what happened."""

from lab.loadtest.digit_requests import inference_request
from lab.loadtest.http import PreparedRequest
from lab.loadtest.profiles import Plan, Stage, plan_for
from lab.loadtest.results import LoadReport
from lab.loadtest.runner import LoadSpec, run_load

__all__ = [
    "LoadReport",
    "LoadSpec",
    "Plan",
    "PreparedRequest",
    "Stage",
    "inference_request",
    "plan_for",
    "run_load",
]
