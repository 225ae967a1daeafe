"""axe-core's check of a console page, in light and dark mode, for the browser tests."""

from axe_playwright_python.sync_playwright import Axe

from tests.servers import BASE_DIR

BLOCKING = ("serious", "critical")
AXE = Axe()
STYLESHEET = BASE_DIR / "static" / "console" / "console.css"
# The console follows prefers-color-scheme in its stylesheet alone, and its dark scheme only sets
# other colours (test_accessibility.py checks): one loaded page is checked in light with every
# rule, then switched to dark and checked again with the rules about colour, not loaded twice.
SCHEMES = {
    "light": {"resultTypes": ["violations"]},
    "dark": {
        "resultTypes": ["violations"],
        "runOnly": {"type": "rule", "values": ["color-contrast", "link-in-text-block"]},
    },
}


def serious_violations(page, where):
    """axe-core's serious and critical violations on the page as it is now, in light and dark
    mode, as report lines."""
    lines = []
    for scheme, options in SCHEMES.items():
        page.emulate_media(color_scheme=scheme)
        dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        assert dark == (scheme == "dark"), f"{where}: the page did not switch to {scheme}"
        lines += _serious_violations(page, f"{where} ({scheme})", options)
    return lines


def _serious_violations(page, where, options):
    # axe-core is put into each document once, not again for every check of it.
    if page.evaluate("typeof axe === 'undefined'"):
        page.evaluate(AXE.axe_script)
    results = page.evaluate("options => axe.run(document, options)", options)
    lines = []
    for violation in results["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        lines.append(f"{where}: {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['failureSummary']}")
            lines.append(f"      {node['html'][:200]}")
    return lines
