<#
.SYNOPSIS
  Checks, and where allowed installs, what Liftoff needs on Windows.

.DESCRIPTION
  scripts\setup.ps1                  check, then create the project's virtual environment (.venv)
  scripts\setup.ps1 -Check           only report; change nothing
  scripts\setup.ps1 -Stack aws       also require what deploying that stack needs (dev|aws|gcp|azure)
  scripts\setup.ps1 -Install         also install missing tools with winget

  Serving and testing locally need only Python 3.11+; Docker, Pulumi, kubectl and the cloud CLIs are
  reported as optional unless -Stack asks for them. Exit status: 0 when everything required is there,
  1 when something required is missing. `make` is optional on Windows: the commands it runs are printed.
#>
[CmdletBinding()]
param(
  [switch]$Check,
  [switch]$Install,
  [ValidateSet("", "dev", "aws", "gcp", "azure")]
  [string]$Stack = ""
)
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)

# winget package ids, and how to get each tool by hand.
$Tools = @{
  "python"                 = @{ Winget = "Python.Python.3.11"; Hint = "winget install Python.Python.3.11" }
  "docker"                 = @{ Winget = "Docker.DockerDesktop"; Hint = "winget install Docker.DockerDesktop" }
  "pulumi"                 = @{ Winget = "Pulumi.Pulumi"; Hint = "winget install Pulumi.Pulumi" }
  "kubectl"                = @{ Winget = "Kubernetes.kubectl"; Hint = "winget install Kubernetes.kubectl" }
  "aws"                    = @{ Winget = "Amazon.AWSCLI"; Hint = "winget install Amazon.AWSCLI" }
  "gcloud"                 = @{ Winget = "Google.CloudSDK"; Hint = "winget install Google.CloudSDK" }
  "gke-gcloud-auth-plugin" = @{ Winget = $null; Hint = "gcloud components install gke-gcloud-auth-plugin" }
  "az"                     = @{ Winget = "Microsoft.AzureCLI"; Hint = "winget install Microsoft.AzureCLI" }
  "kubelogin"              = @{ Winget = "Microsoft.Azure.Kubelogin"; Hint = "az aks install-cli" }
}
$CloudTools = @{ "aws" = @("aws"); "gcp" = @("gcloud", "gke-gcloud-auth-plugin"); "azure" = @("az", "kubelogin") }
$script:MissingRequired = $false

function Write-Row([string]$Tool, [string]$State, [string]$Detail) {
  Write-Output ("  {0,-24} {1,-9} {2}" -f $Tool, $State, $Detail)
}

function Test-Tool([string]$Tool, [bool]$Required) {
  $found = Get-Command $Tool -ErrorAction SilentlyContinue
  if ($found) { Write-Row $Tool "ok" $found.Source; return }
  $entry = $Tools[$Tool]
  if ($Install -and -not $Check -and $entry.Winget -and (Get-Command winget -ErrorAction SilentlyContinue)) {
    winget install --silent --accept-package-agreements --accept-source-agreements --id $entry.Winget | Out-Null
    $found = Get-Command $Tool -ErrorAction SilentlyContinue
    if ($found) { Write-Row $Tool "installed" $found.Source; return }
  }
  if ($Required) { Write-Row $Tool "MISSING" $entry.Hint; $script:MissingRequired = $true }
  else { Write-Row $Tool "optional" $entry.Hint }
}

Write-Output "Liftoff setup on Windows$(if ($Stack) { " for the '$Stack' stack" })"
Write-Output "  serving and testing locally:"
$python = Get-Command python -ErrorAction SilentlyContinue
if ($python -and (& python -c "import sys; print(int(sys.version_info >= (3, 11)))") -eq "1") {
  Write-Row "python" "ok" (& python --version)
} else {
  Test-Tool "python" $true
  if ($python) { Write-Row "python" "MISSING" "found $(& python --version), need 3.11 or newer"; $script:MissingRequired = $true }
}

$deploying = [bool]$Stack
Write-Output "  deploying$(if ($Stack) { " the '$Stack' stack" }):"
foreach ($tool in @("docker", "pulumi", "kubectl")) { Test-Tool $tool $deploying }
if ($Stack -and $CloudTools.ContainsKey($Stack)) { foreach ($tool in $CloudTools[$Stack]) { Test-Tool $tool $true } }
if (-not $Stack) { Write-Output "  (pass -Stack aws|gcp|azure to check a cloud's CLI too)" }

Write-Output "  project environment:"
if (Test-Path ".venv\.installed") {
  Write-Row ".venv" "ok" "present"
} elseif ($Check) {
  Write-Row ".venv" "absent" "run this script without -Check to create it"
} elseif ($script:MissingRequired) {
  Write-Row ".venv" "skipped" "install the missing tools above first"
} else {
  # The same steps as `make venv`; torch comes as the CPU build from PyTorch's index.
  & python -m venv .venv
  & .venv\Scripts\python -m pip install --quiet --upgrade pip
  & .venv\Scripts\python -m pip install --quiet --extra-index-url https://download.pytorch.org/whl/cpu `
    -c requirements\constraints.txt -e ".[train,infra,dev]"
  if ($LASTEXITCODE -ne 0) { Write-Row ".venv" "FAILED" "see pip's output above"; $script:MissingRequired = $true }
  else { New-Item -ItemType File -Force ".venv\.installed" | Out-Null; Write-Row ".venv" "ok" "created" }
}

if ($script:MissingRequired) { Write-Output "Something required is missing: see MISSING above."; exit 1 }
Write-Output "Ready.$(if ($Stack) { " Next: pulumi stack select $Stack; pulumi up" })"
exit 0
