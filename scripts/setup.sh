#!/usr/bin/env bash
# Checks, and where allowed installs, what Liftoff needs on Linux and macOS.
#
#   scripts/setup.sh                  check, then create the project's virtual environment (.venv)
#   scripts/setup.sh --check          only report; change nothing
#   scripts/setup.sh --stack aws      also require what deploying that stack needs (dev|aws|gcp|azure)
#   scripts/setup.sh --install        also install missing tools with Homebrew (macOS); Linux gets the commands
#
# Serving and testing locally need only Python 3.11+ and make; Docker, Pulumi, kubectl and the cloud CLIs
# are reported as optional unless --stack asks for them. Exit status: 0 when everything required is there,
# 1 when something required is missing, 2 on a usage error.
set -uo pipefail

check_only=0
install=0
stack=""
usage() { sed -n '2,12s/^# \{0,1\}//p' "$0"; }
while (($#)); do
  case "$1" in
    --check) check_only=1 ;;
    --install) install=1 ;;
    --stack)
      stack=${2:-}
      shift
      ;;
    --stack=*) stack=${1#--stack=} ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "setup.sh: unknown option '$1'" >&2
      usage >&2
      exit 2
      ;;
  esac
  shift
done
case "$stack" in
  "" | dev | aws | gcp | azure) ;;
  *)
    echo "setup.sh: --stack must be one of dev, aws, gcp, azure (got '$stack')" >&2
    exit 2
    ;;
esac

cd "$(dirname "$0")/.." || exit 2
os=$(uname -s)
missing_required=0

# Tools a deployment of each stack needs besides Pulumi, kubectl and Docker.
cloud_tools() {
  case "$1" in
    aws) echo "aws" ;;
    gcp) echo "gcloud gke-gcloud-auth-plugin" ;;
    azure) echo "az kubelogin" ;;
  esac
}

how_to_get() {
  local tool=$1
  if [[ $os == Darwin ]]; then
    case "$tool" in
      python3) echo "brew install python@3.11" ;;
      make) echo "xcode-select --install" ;;
      docker) echo "brew install --cask docker (Docker Desktop), or colima" ;;
      pulumi) echo "brew install pulumi/tap/pulumi" ;;
      kubectl) echo "brew install kubectl" ;;
      aws) echo "brew install awscli" ;;
      gcloud) echo "brew install --cask google-cloud-sdk" ;;
      gke-gcloud-auth-plugin) echo "gcloud components install gke-gcloud-auth-plugin" ;;
      az) echo "brew install azure-cli" ;;
      kubelogin) echo "brew install Azure/kubelogin/kubelogin" ;;
    esac
  else
    case "$tool" in
      python3) echo "your distribution's python3 (3.11 or newer) with venv, e.g. apt-get install python3 python3-venv" ;;
      make) echo "apt-get install make (or your distribution's package)" ;;
      docker) echo "apt-get install docker.io, or Docker Engine from docs.docker.com/engine/install" ;;
      pulumi) echo "curl -fsSL https://get.pulumi.com | sh" ;;
      kubectl) echo "see kubernetes.io/docs/tasks/tools/install-kubectl-linux" ;;
      aws) echo "see docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html" ;;
      gcloud) echo "see cloud.google.com/sdk/docs/install" ;;
      gke-gcloud-auth-plugin) echo "gcloud components install gke-gcloud-auth-plugin (or apt-get install google-cloud-cli-gke-gcloud-auth-plugin)" ;;
      az) echo "see learn.microsoft.com/cli/azure/install-azure-cli-linux" ;;
      kubelogin) echo "az aks install-cli" ;;
    esac
  fi
}

brew_formula() {
  case "$1" in
    pulumi) echo "pulumi/tap/pulumi" ;;
    kubectl) echo "kubectl" ;;
    aws) echo "awscli" ;;
    az) echo "azure-cli" ;;
    kubelogin) echo "Azure/kubelogin/kubelogin" ;;
    python3) echo "python@3.11" ;;
  esac
}

report() { printf '  %-24s %-9s %s\n' "$1" "$2" "$3"; }

# check TOOL REQUIRED(0|1): reports the tool, installs it with brew when asked and possible.
check() {
  local tool=$1 required=$2 formula
  if command -v "$tool" >/dev/null 2>&1; then
    report "$tool" ok "$(command -v "$tool")"
    return
  fi
  formula=$(brew_formula "$tool")
  if ((install && !check_only)) && [[ $os == Darwin && -n $formula ]] && command -v brew >/dev/null; then
    if brew install "$formula" >/dev/null && command -v "$tool" >/dev/null 2>&1; then
      report "$tool" installed "$(command -v "$tool")"
      return
    fi
  fi
  if ((required)); then
    report "$tool" MISSING "$(how_to_get "$tool")"
    missing_required=1
  else
    report "$tool" optional "$(how_to_get "$tool")"
  fi
}

echo "Liftoff setup on $os${stack:+ for the '$stack' stack}"
echo "  serving and testing locally:"
if command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  report python3 ok "$(python3 --version 2>&1)"
elif command -v python3 >/dev/null 2>&1; then
  report python3 MISSING "found $(python3 --version 2>&1), need 3.11 or newer: $(how_to_get python3)"
  missing_required=1
else
  check python3 1
fi
check make 1

deploying=0
[[ -n $stack ]] && deploying=1
echo "  deploying${stack:+ the '$stack' stack}:"
check docker "$deploying"
check pulumi "$deploying"
check kubectl "$deploying"
for tool in $(cloud_tools "$stack"); do
  check "$tool" 1
done
if [[ -z $stack ]]; then
  echo "  (pass --stack aws|gcp|azure to check a cloud's CLI too)"
fi

echo "  project environment:"
if [[ -f .venv/.installed ]]; then
  report ".venv" ok "present (make venv brings it up to date with the lock)"
elif ((check_only)); then
  report ".venv" absent "make venv (or make serve / make test) creates it"
elif ((missing_required)); then
  report ".venv" skipped "install the missing tools above first"
else
  echo "  creating .venv (make venv) ..."
  if make venv; then
    report ".venv" ok "created"
  else
    report ".venv" FAILED "see make's output above"
    missing_required=1
  fi
fi

if ((missing_required)); then
  echo "Something required is missing: see MISSING above."
  exit 1
fi
echo "Ready.${stack:+ Next: pulumi stack select $stack && pulumi up}"
