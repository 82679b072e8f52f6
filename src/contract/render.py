"""Showing a `Report`: the readable summary for people; JUnit XML, JSON and HTML files for CI.

Every file is written from the same report, whatever the exit: a run that could not test
(exit 2), or was interrupted, still leaves its files, saying so. Keys never appear: requests
and responses were masked when the violations were recorded.
"""

from __future__ import annotations

import html
import json
import os
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract.outcomes import CheckResult, Outcome, Report, Violation
from contract.probe import KEY_HINT
from contract.settings import ContractError

WIDTH = 30
WARN_PROPERTY = "contract WARN"  # the JUnit property a WARN is listed under (here and pytest's)


def summary(report: Report) -> str:
    """One line per check, each failure and warning (rule, curl, response), counts, coverage."""
    lines = [f"Contract run against {report.base_url}"]
    lines += [f"  {fact}" for fact in report.facts]
    lines.append("")
    for check in report.checks:
        detail = check.note or check.description
        lines.append(f"{check.outcome.value:<13} {check.name:<{WIDTH}} {detail}")
    shown = [c for c in report.checks if c.outcome in (Outcome.FAIL, Outcome.WARN)]
    for check in shown:
        lines += ["", failure_details(check)]
    if report.coverage:
        lines += ["", "Coverage (documented statuses seen / never seen):"]
    for item in report.coverage:
        seen = " ".join(map(str, item.observed)) or "-"
        never = " ".join(map(str, item.never)) or "-"
        other = (
            f"; undocumented: {' '.join(map(str, item.undocumented))}" if item.undocumented else ""
        )
        lines.append(f"  {item.operation}: seen {seen}; never {never}{other}")
    for title, table in report.tables.items():
        lines += ["", f"{title[0].upper()}{title[1:]}:"]
        lines += [f"  {name:<12} {value}" for name, value in table.items()]
    counts = ", ".join(f"{value} {name}" for name, value in report.counts.items())
    lines += ["", f"Sent: {counts}"]
    lines += ["", verdict(report)]
    if any("CONTRACT_" in v.curl for c in shown for v in c.violations + c.warnings):
        lines.append(f"({KEY_HINT})")
    return "\n".join(lines)


def verdict(report: Report) -> str:
    tally = {outcome: 0 for outcome in Outcome}
    for check in report.checks:
        tally[check.outcome] += 1
    if report.could_not_test is not None:
        head = f"COULD NOT TEST ({report.could_not_test})"
    else:
        head = "CONFORMANT" if report.conformant else "CONTRACT VIOLATED"
    strict = ""
    if report.strict:
        allowed = f", except {', '.join(sorted(report.allowed))}" if report.allowed else ""
        strict = f" (--strict: WARN and NOT VERIFIED count as failures{allowed})"
    return (
        f"{head}: {tally[Outcome.PASS]} passed, {tally[Outcome.FAIL]} failed, "
        f"{tally[Outcome.WARN]} warned, {tally[Outcome.NOT_VERIFIED]} not verified "
        f"in {report.elapsed:.1f} s{strict}"
    )


def failure_details(check: CheckResult) -> str:
    """A failed or warned check: each rule, the request as curl and the response."""
    lines = [f"== {check.outcome.value} {check.name}: {check.description}"]
    for label, kept in (("rule broken", check.violations), ("warning", check.warnings)):
        for number, violation in enumerate(kept, 1):
            lines.append(f"-- {number}. {label}: {violation.rule}")
            if violation.curl:
                lines.append("   request:\n" + textwrap.indent(violation.curl, "     "))
            if violation.response:
                lines.append("   response:\n" + textwrap.indent(violation.response, "     "))
    if check.more_violations:
        lines.append(f"-- and {check.more_violations} more violations of this check")
    return "\n".join(lines)


def _violation_text(violations: list[Violation]) -> str:
    parts = []
    for violation in violations:
        parts.append(f"rule broken: {violation.rule}")
        if violation.curl:
            parts.append(f"request: {violation.curl}")
        if violation.response:
            parts.append(f"response:\n{violation.response}")
        parts.append("")
    return "\n".join(parts)


# -- JUnit ------------------------------------------------------------------------------------


def junit(report: Report) -> ET.ElementTree:
    """One testcase per check: FAIL is a failure; WARN passes (its warnings in system-out) and
    NOT VERIFIED is a skip, both failures under --strict unless --allow names them. A run that
    could not test adds an errored testcase saying why."""
    failures = sum(1 for check in report.checks if report.counts_as_failure(check))
    skipped = sum(
        1
        for check in report.checks
        if check.outcome is Outcome.NOT_VERIFIED and not report.counts_as_failure(check)
    )
    errors = int(report.could_not_test is not None)
    suite = ET.Element(
        "testsuite",
        name="contract",
        tests=str(len(report.checks) + errors),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{report.elapsed:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="base_url", value=report.base_url)
    for name, value in report.counts.items():
        ET.SubElement(properties, "property", name=name, value=str(value))
    for item in report.coverage:
        seen = " ".join(map(str, item.observed)) or "-"
        never = " ".join(map(str, item.never)) or "-"
        coverage = f"seen {seen}; never {never}"
        ET.SubElement(properties, "property", name=f"coverage {item.operation}", value=coverage)
    for title, table in report.tables.items():
        for name, value in table.items():
            ET.SubElement(properties, "property", name=f"{title}: {name}", value=str(value))
    for check in report.checks:
        case = ET.SubElement(suite, "testcase", classname="contract", name=check.name)
        failed = report.counts_as_failure(check)
        if check.outcome is Outcome.FAIL:
            element = ET.SubElement(
                case,
                "failure",
                message=check.violations[0].rule if check.violations else check.description,
            )
            element.text = _violation_text(check.violations)
        elif check.outcome is Outcome.NOT_VERIFIED:
            tag = "failure" if failed else "skipped"
            ET.SubElement(case, tag, message=f"NOT VERIFIED: {check.note}")
        elif check.outcome is Outcome.WARN and failed:
            element = ET.SubElement(case, "failure", message=f"WARN: {check.warnings[0].rule}")
            element.text = _violation_text(check.warnings)
        out = check.description
        if check.outcome is Outcome.WARN:
            # Passed, yet visible: a property per warning, and the warnings said first.
            found = ET.SubElement(case, "properties")
            for warning in check.warnings:
                ET.SubElement(found, "property", name=WARN_PROPERTY, value=warning.rule)
            out = f"WARN: {check.warnings[0].rule}\n\n{out}\n\n{_violation_text(check.warnings)}"
        ET.SubElement(case, "system-out").text = out
    if report.could_not_test is not None:
        case = ET.SubElement(suite, "testcase", classname="contract", name="could_not_test")
        ET.SubElement(case, "error", message=report.could_not_test)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


# -- JSON -------------------------------------------------------------------------------------


def as_json(report: Report) -> dict[str, Any]:
    return {
        "baseUrl": report.base_url,
        "exitCode": report.exit_code,
        "verdict": verdict(report),
        "couldNotTest": report.could_not_test,
        "strict": report.strict,
        "allowed": sorted(report.allowed),
        "elapsedSeconds": round(report.elapsed, 3),
        "facts": report.facts,
        "counts": report.counts,
        "coverage": [vars(item) for item in report.coverage],
        "tables": report.tables,
        "checks": [
            {
                "name": check.name,
                "outcome": check.outcome.value,
                "description": check.description,
                "note": check.note,
                "requests": check.requests,
                "violations": [vars(v) for v in check.violations],
                "warnings": [vars(v) for v in check.warnings],
                "moreViolations": check.more_violations,
            }
            for check in report.checks
        ],
    }


# -- HTML -------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left;
vertical-align:top;border-bottom:1px solid #ddd}pre{background:#f6f6f6;padding:.5em;
white-space:pre-wrap;word-break:break-all}.PASS{color:#176f2c}.FAIL{color:#b00020}
.WARN{color:#8a5a00}.NOT{color:#555}details{margin:.4em 0}
"""


def as_html(report: Report) -> str:
    """One file, no external resource: the verdict, counts, coverage, and per check its
    violations and warnings, then the requests it sent (as curl) and what came back."""
    e = html.escape
    rows = "".join(
        f"<tr><td class='{c.outcome.value.split()[0]}'>{e(c.outcome.value)}</td>"
        f"<td><a href='#{e(c.name)}'>{e(c.name)}</a></td><td>{e(c.note or c.description)}</td></tr>"
        for c in report.checks
    )
    coverage = "".join(
        f"<tr><td>{e(i.operation)}</td><td>{' '.join(map(str, i.observed)) or '-'}</td>"
        f"<td>{' '.join(map(str, i.never)) or '-'}</td>"
        f"<td>{' '.join(map(str, i.undocumented)) or '-'}</td></tr>"
        for i in report.coverage
    )
    counts = "".join(f"<li>{value} {e(name)}</li>" for name, value in report.counts.items())
    tables = "".join(
        f"<h2>{e(title[0].upper() + title[1:])}</h2><table>"
        + "".join(f"<tr><td>{e(name)}</td><td>{value}</td></tr>" for name, value in table.items())
        + "</table>"
        for title, table in report.tables.items()
    )
    facts = "".join(f"<li>{e(fact)}</li>" for fact in report.facts)
    sections = []
    for check in report.checks:
        parts = [f"<h3 id='{e(check.name)}'>{e(check.outcome.value)} {e(check.name)}</h3>"]
        parts.append(f"<p>{e(check.description)}</p>")
        if check.note:
            parts.append(f"<p><em>{e(check.note)}</em></p>")
        for label, kept in (("Rule broken", check.violations), ("Warning", check.warnings)):
            for violation in kept:
                parts.append(f"<p><strong>{label}:</strong> {e(violation.rule)}</p>")
                if violation.curl:
                    parts.append(f"<pre>{e(violation.curl)}</pre>")
                if violation.response:
                    parts.append(f"<pre>{e(violation.response)}</pre>")
        if check.sent:
            items = "".join(f"<pre>{e(curl)}\n\n{e(answer)}</pre>" for curl, answer in check.sent)
            more = check.requests - len(check.sent)
            tail = f"<p>and {more} more</p>" if more > 0 else ""
            parts.append(
                f"<details><summary>{check.requests} requests judged</summary>"
                f"{items}{tail}</details>"
            )
        sections.append("".join(parts))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Contract run against {e(report.base_url)}</title><style>{_STYLE}</style>"
        f"</head><body><h1>Contract run against {e(report.base_url)}</h1>"
        f"<p><strong>{e(verdict(report))}</strong></p><ul>{facts}</ul>"
        f"{tables}<h2>Sent</h2><ul>{counts}</ul>"
        f"<h2>Checks</h2><table>{rows}</table>"
        "<h2>Coverage</h2><table><tr><th>operation</th><th>seen</th><th>never seen</th>"
        f"<th>undocumented</th></tr>{coverage}</table>"
        f"<h2>Details</h2>{''.join(sections)}</body></html>\n"
    )


# -- Files ------------------------------------------------------------------------------------


def check_outputs(outputs: dict[str, Path | None]) -> None:
    """Before the run: each report path must be writable, so no run ends unable to say."""
    for option, path in outputs.items():
        if path is None:
            continue
        if path.is_dir():
            raise ContractError(f"--{option} {path}: is a directory; name a file")
        parent = path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ContractError(
                f"--{option} {path}: cannot create {parent}: {exc.strerror}"
            ) from None
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise ContractError(f"--{option} {path}: not writable")


def write_reports(report: Report, outputs: dict[str, Path | None]) -> None:
    writers: dict[str, Callable[[Path], object]] = {
        "junit": lambda path: junit(report).write(path, encoding="utf-8", xml_declaration=True),
        "json": lambda path: path.write_text(
            json.dumps(as_json(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        ),
        "html": lambda path: path.write_text(as_html(report), encoding="utf-8"),
    }
    for option, path in outputs.items():
        if path is not None:
            try:
                writers[option](path)
            except OSError as exc:
                raise ContractError(f"cannot write --{option} {path}: {exc.strerror}") from None
