"""Showing a `Report`: the readable summary for people, JUnit XML for CI."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from contract.outcomes import CheckResult, Outcome, Report
from contract.probe import KEY_HINT

WIDTH = 30


def summary(report: Report) -> str:
    """One line per check, then each failure: the rule broken, the request as curl, the response."""
    lines = [f"Contract run against {report.base_url}"]
    lines += [f"  {fact}" for fact in report.facts]
    lines.append("")
    for check in report.checks:
        detail = check.note or check.description
        lines.append(f"{check.outcome.value:<13} {check.name:<{WIDTH}} {detail}")
    failing = [check for check in report.checks if check.outcome is Outcome.FAIL]
    for check in failing:
        lines += ["", failure_details(check)]
    counts = {outcome: 0 for outcome in Outcome}
    for check in report.checks:
        counts[check.outcome] += 1
    verdict = "CONFORMANT" if report.conformant else "CONTRACT VIOLATED"
    strict = " (--strict: NOT VERIFIED counts as failure)" if report.strict else ""
    lines += [
        "",
        f"{verdict}: {counts[Outcome.PASS]} passed, {counts[Outcome.FAIL]} failed, "
        f"{counts[Outcome.NOT_VERIFIED]} not verified in {report.elapsed:.1f} s{strict}",
    ]
    if any("CONTRACT_" in v.curl for c in failing for v in c.violations):
        lines.append(f"({KEY_HINT})")
    return "\n".join(lines)


def failure_details(check: CheckResult) -> str:
    """A failed check: each violation's rule, the request as curl and the response."""
    lines = [f"== FAIL {check.name}: {check.description}"]
    for number, violation in enumerate(check.violations, 1):
        lines.append(f"-- {number}. rule broken: {violation.rule}")
        if violation.curl:
            lines.append(f"   request:\n     {violation.curl}")
        if violation.response:
            lines.append("   response:\n" + textwrap.indent(violation.response, "     "))
    if check.more_violations:
        lines.append(f"-- and {check.more_violations} more violations of this check")
    return "\n".join(lines)


def _failure_text(check: CheckResult) -> str:
    parts = []
    for violation in check.violations:
        parts.append(f"rule broken: {violation.rule}")
        if violation.curl:
            parts.append(f"request: {violation.curl}")
        if violation.response:
            parts.append(f"response:\n{violation.response}")
        parts.append("")
    return "\n".join(parts)


def junit(report: Report) -> ET.ElementTree:
    """One testcase per check; FAIL is a failure, NOT VERIFIED a skip (a failure with --strict)."""
    failures = sum(1 for check in report.checks if report.counts_as_failure(check))
    skipped = sum(
        1 for check in report.checks if check.outcome is Outcome.NOT_VERIFIED and not report.strict
    )
    suite = ET.Element(
        "testsuite",
        name="contract",
        tests=str(len(report.checks)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{report.elapsed:.3f}",
    )
    ET.SubElement(
        ET.SubElement(suite, "properties"), "property", name="base_url", value=report.base_url
    )
    for check in report.checks:
        case = ET.SubElement(suite, "testcase", classname="contract", name=check.name)
        if check.outcome is Outcome.FAIL:
            element = ET.SubElement(
                case,
                "failure",
                message=check.violations[0].rule if check.violations else check.description,
            )
            element.text = _failure_text(check)
        elif check.outcome is Outcome.NOT_VERIFIED:
            tag = "failure" if report.strict else "skipped"
            element = ET.SubElement(case, tag, message=f"NOT VERIFIED: {check.note}")
        ET.SubElement(case, "system-out").text = check.description
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit(report).write(path, encoding="utf-8", xml_declaration=True)
