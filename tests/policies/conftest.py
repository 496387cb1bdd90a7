"""The policy pack's rules, run on the resources each stack's offline plan records."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The pack is a Pulumi policy project, not an installed package: import it the way the Pulumi CLI does.
sys.path.insert(0, str(ROOT / "policies"))
