"""axe-core in the browser tests: inject the vendored axe.min.js into a Playwright page, run it against
WCAG 2.1 A and AA, and fail with a message that says what to fix and where.

axe-core is vendored in tests/browser/vendor/axe-core (see its README.md for the version and how to update);
nothing is downloaded when the tests run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# The impacts the "no serious or critical violation" is about (axe also reports minor and moderate).
BLOCKING_IMPACTS = ("serious", "critical")
# Rules axe only asks a person to review when they fail (its "incomplete" results); these are certain enough to
# count as violations here. Two elements with an id that aria-labelledby or aria-describedby points at: the
# reference goes to the first, so a label or description reads the wrong text.
CERTAIN_RULES = ("duplicate-id-aria",)
NODES_SHOWN = 5
HTML_SHOWN = 300

_RUN = """async ({tags}) => {
    const results = await axe.run(document, {
        runOnly: {type: 'tag', values: tags},
        resultTypes: ['violations'],
    });
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
        nodes: v.nodes.map(n => ({target: n.target, html: n.html, impact: n.impact,
                                  failureSummary: n.failureSummary})),
    }));
}"""


def axe_version(page: Page) -> str:
    inject(page)
    return page.evaluate("() => axe.version")


def inject(page: Page) -> None:
    """Add axe to the page once (a navigation clears it, so call this after each goto)."""
    if not page.evaluate("() => typeof window.axe === 'object' && typeof window.axe.run === 'function'"):
        # Evaluated, not added as an inline <script> (add_script_tag), which careapp's Content-Security-Policy blocks.
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        page.evaluate("(ids) => axe.configure({rules: ids.map(id => ({id, reviewOnFail: false}))})",
                      list(CERTAIN_RULES))


def violations(page: Page, tags: tuple[str, ...] = WCAG_21_AA) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, for the rules with any of ``tags``."""
    inject(page)
    return page.evaluate(_RUN, {"tags": list(tags)})


def blocking(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in found if v["impact"] in BLOCKING_IMPACTS]


def describe(found: list[dict[str, Any]], where: str, version: str = "") -> str:
    """Each violation's rule, impact, help and link, then its first few nodes: selector, HTML, what is wrong."""
    lines = [f"{len(found)} serious or critical accessibility violation(s) on {where}"
             f"{f' (axe-core {version})' if version else ''}:"]
    for violation in found:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}  {violation['helpUrl']}")
        for node in violation["nodes"][:NODES_SHOWN]:
            html = " ".join(node["html"].split())
            if len(html) > HTML_SHOWN:
                html = html[:HTML_SHOWN] + "…"
            lines.append(f"    at {' '.join(map(str, node['target']))}")
            lines.append(f"       {html}")
            summary = failure_summary(node.get("failureSummary"))
            if summary:
                lines.append(f"       {summary}")
        if len(violation["nodes"]) > NODES_SHOWN:
            lines.append(f"    ... and {len(violation['nodes']) - NODES_SHOWN} more")
    return "\n".join(lines)


def failure_summary(text: str | None) -> str:
    """axe's "Fix any of the following:" lists on one line: "Fix any of the following: a; b"."""
    parts: list[str] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("Fix ") or not parts:
            parts.append(line)
        else:
            parts[-1] += (" " if parts[-1].endswith(":") else "; ") + line
    return " | ".join(parts)


def serious_violations(page: Page, where: str | None = None) -> str | None:
    """A description of the page's serious and critical WCAG 2.1 AA violations, or None when there are none."""
    found = blocking(violations(page))
    if not found:
        return None
    return describe(found, where or page.url, axe_version(page))


def assert_accessible(page: Page, where: str | None = None) -> None:
    """Fail when axe finds a serious or critical WCAG 2.1 A/AA violation on the page as it is now."""
    problem = serious_violations(page, where)
    assert problem is None, problem
