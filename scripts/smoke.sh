#!/usr/bin/env bash
# One real deployment, end to end, then nothing left behind: run once per cloud, with that cloud's CLI
# signed in and `pulumi login` done. It costs a GPU node for the time it runs (about 30 to 45 minutes).
#
#   scripts/smoke.sh STACK        aws, gcp or azure (its Pulumi.<stack>.yaml)
#
# Steps: the preflight; `pulumi up --yes`; wait for the stack's URL to answer /v2/health/ready; one
# prediction with the stack's API key; `pulumi destroy --yes` (also after a failed step, once `pulumi up`
# has started); then list what still carries the stack's `project`/`stack` tags, and fail if anything does.
# Exit status: 0 when every step passed and nothing is left; 1 otherwise; 2 on a usage error.
#
# Environment: PYTHON (default .venv/bin/python), SMOKE_READY_TIMEOUT_S (default 1200),
# SMOKE_POLL_S (default 15), SMOKE_BODY (the prediction request; default: the digits example).
set -uo pipefail

usage() { sed -n '2,13s/^# \{0,1\}//p' "$0"; }
if (($# != 1)) || [[ $1 == -h || $1 == --help ]]; then
  usage >&2
  exit 2
fi
stack=$1
case "$stack" in
  aws | gcp | azure) ;;
  *)
    echo "smoke.sh: '$stack' is not a cloud stack; allowed: aws, gcp, azure" >&2
    exit 2
    ;;
esac

python=${PYTHON:-.venv/bin/python}
ready_timeout=${SMOKE_READY_TIMEOUT_S:-1200}
poll=${SMOKE_POLL_S:-15}
# An 8x8 digit (0 to 16 per pixel), what the bundled `digits` model reads.
digits='{"inputs": [{"name": "pixels", "shape": [1, 64], "datatype": "FP32", "data": [0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0]}]}'
body=${SMOKE_BODY:-$digits}

step() { printf '\n== %s\n' "$*"; }
fail() {
  printf 'smoke.sh: FAIL: %s\n' "$*" >&2
  failed=1
}
failed=0

# Where the stack lives, from the same settings loader `pulumi up` uses: cloud, then project/region/location.
if ! where=$("$python" - "$stack" <<'PY'
import sys

from infra.plan.config import stack_config
from infra.settings import ConfigSource, load_settings

settings = load_settings(ConfigSource.from_dict(stack_config(sys.argv[1])))
cloud = settings.cloud_settings
scope = {"aws": "region", "gcp": "project", "azure": "location"}[settings.cloud]
print(settings.cloud, getattr(cloud, scope))
PY
); then
  echo "smoke.sh: could not read the settings of stack '$stack'" >&2
  exit 1
fi
read -r cloud scope <<<"$where"

step "preflight ($cloud, $scope)"
if ! "$python" -m infra.preflight --stack "$stack"; then
  echo "smoke.sh: the preflight failed; nothing was created" >&2
  exit 1
fi

step "pulumi up"
if pulumi up --yes --skip-preview --stack "$stack"; then
  url=$(pulumi stack output url --stack "$stack") || fail "no url output"
  base=${url%%/v2/*}

  step "waiting for $base/v2/health/ready (up to ${ready_timeout} s)"
  ready=0
  deadline=$((SECONDS + ready_timeout))
  while ((SECONDS < deadline)); do
    if curl -fsS --max-time 10 "$base/v2/health/ready" >/dev/null; then
      ready=1
      break
    fi
    sleep "$poll"
  done
  if ((ready)); then
    step "one prediction"
    key=$(pulumi stack output apiKey --show-secrets --stack "$stack") || fail "no apiKey output"
    answer=$(curl -fsS --max-time 60 "$url" -H "Authorization: Bearer ${key:-}" \
      -H 'content-type: application/json' -d "$body") || fail "the prediction request failed"
    if [[ ${answer:-} == *'"outputs"'* ]]; then
      echo "$answer"
    else
      fail "the prediction answered without outputs: ${answer:-nothing}"
    fi
  else
    fail "$base/v2/health/ready did not answer within ${ready_timeout} s"
  fi
else
  fail "pulumi up failed"
fi

step "pulumi destroy"
pulumi destroy --yes --skip-preview --stack "$stack" || fail "pulumi destroy failed"

step "anything still tagged project=liftoff, stack=$stack"
count_json='import json, sys; data = json.load(sys.stdin); print(len(data.get("ResourceTagMappingList", []) if isinstance(data, dict) else data))'
case "$cloud" in
  aws)
    left=$(aws resourcegroupstaggingapi get-resources --region "$scope" --output json \
      --tag-filters "Key=project,Values=liftoff" "Key=stack,Values=$stack")
    ;;
  gcp)
    left=$(gcloud asset search-all-resources --scope "projects/$scope" --format json \
      --query "labels.project=liftoff AND labels.stack=$stack")
    ;;
  azure)
    # --tag takes one pair; the second is filtered here.
    left=$(az resource list --tag "stack=$stack" -o json --query "[?tags.project=='liftoff']")
    ;;
esac
status=$?
if ((status != 0)); then
  fail "could not list what is left (exit $status); check by hand"
else
  remaining=$(printf '%s' "${left:-[]}" | "$python" -c "$count_json") || remaining="?"
  if [[ $remaining == 0 ]]; then
    echo "nothing left"
  else
    printf '%s\n' "$left"
    fail "$remaining resource(s) still carry the stack's tags (AWS lists deleted ones for a while: rerun the query in an hour before deleting by hand)"
  fi
fi

exit "$failed"
