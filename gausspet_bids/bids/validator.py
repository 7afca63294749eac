"""Run the official BIDS validator (``bids-validator-deno``) on the input, offline.

The PyPI package ships the validator as a JavaScript bundle with its schema inside, run by a
Deno binary also from PyPI, so it needs no network (checked with the network namespace
unplugged). We read its JSON output and split errors from warnings; errors stop the run
before any processing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

EXECUTABLE = "bids-validator-deno"


class ValidatorNotFound(RuntimeError):
    """The validator is not installed next to this Python nor on PATH."""


@dataclass
class Issue:
    """One validator finding: ``location`` is the file, relative to the dataset root."""

    severity: str
    code: str
    location: str | None
    message: str
    sub_code: str | None = None

    def __str__(self) -> str:
        code = self.code + (f" ({self.sub_code})" if self.sub_code else "")
        where = self.location or "(dataset)"
        return f"{where}: {code}: {self.message}"


@dataclass
class ValidationResult:
    """Errors and warnings of one validation, with the validator's exit status."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    returncode: int = 0

    @property
    def valid(self) -> bool:
        return not self.errors


def find_validator() -> Path:
    """Path of ``bids-validator-deno``: beside ``sys.executable`` first (venv), then PATH."""
    beside = Path(sys.executable).parent / EXECUTABLE
    if beside.exists():
        return beside
    found = shutil.which(EXECUTABLE)
    if found:
        return Path(found)
    raise ValidatorNotFound(
        f"{EXECUTABLE} not found beside {sys.executable} nor on PATH; install the "
        "'bids-validator-deno' package or use --skip-bids-validation"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def parse_report(report: dict) -> ValidationResult:
    """Split the validator's JSON report into errors and warnings with readable messages."""
    issues = report.get("issues", {})
    code_messages = issues.get("codeMessages", {})
    result = ValidationResult()
    for item in issues.get("issues", []):
        code = item.get("code", "UNKNOWN")
        message = _one_line(item.get("issueMessage") or code_messages.get(code, ""))
        issue = Issue(
            severity=item.get("severity", "error"),
            code=code,
            sub_code=item.get("subCode"),
            location=item.get("location"),
            message=message,
        )
        (result.errors if issue.severity == "error" else result.warnings).append(issue)
    return result


def validate(bids_dir: Path | str, *, timeout: float = 600.0) -> ValidationResult:
    """Validate ``bids_dir`` (raw dataset only; ``derivatives/`` is not descended into)."""
    command = [str(find_validator()), "--format", "json", "--no-color", str(bids_dir)]
    env = {**os.environ, "NO_COLOR": "1", "DENO_NO_UPDATE_CHECK": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        detail = _one_line(proc.stderr or proc.stdout)[:500]
        raise RuntimeError(
            f"the BIDS validator failed on {bids_dir} (exit {proc.returncode}): {detail}"
        ) from exc
    result = parse_report(report)
    result.returncode = proc.returncode
    return result


def format_errors(result: ValidationResult, *, limit: int = 20) -> str:
    """Human-readable list of errors (file, code, message), at most ``limit`` of them."""
    lines = [f"  {issue}" for issue in result.errors[:limit]]
    if len(result.errors) > limit:
        lines.append(f"  ... and {len(result.errors) - limit} more")
    return "\n".join(lines)
