"""docs/method.md is the method reference the code cites: every cited section must exist.

Code, configs, the README and the Makefile cite sections as `docs/method.md#<anchor>`; an anchor is the
GitHub slug of a heading. A renamed heading silently breaks those citations, so each one is checked here,
as are the page's own `](#anchor)` links and its coverage of every proxy in zcbench/conf/proxy/all.yaml.
The team's internal brief (METHOD.md) is not shipped, so nothing in the package may cite it.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
METHOD = ROOT / "docs" / "method.md"
CITE = re.compile(r"docs/method\.md#([\w-]+)")
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".md", ".txt", ".cfg", ".toml"}


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation other than '-' and '_' dropped, spaces -> '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def headings(markdown: str) -> list[str]:
    """The text of every ATX heading outside fenced code blocks."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"^#{1,6} (.+?)\s*#*\s*$", line)):
            out.append(m.group(1))
    return out


def anchors(markdown: str) -> set[str]:
    """Every heading's anchor; a repeated slug gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(markdown):
        slug = github_slug(heading)
        result.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return result


def citing_files() -> list[Path]:
    """The package's text files, the README and the Makefile."""
    files = [p for p in (ROOT / "zcbench").rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES]
    return sorted(files) + [ROOT / "README.md", ROOT / "Makefile"]


def test_github_slug_matches_githubs_rule():
    assert github_slug("Ensembles (paper Table 1)") == "ensembles-paper-table-1"
    assert github_slug("L-SWAG") == "l-swag"
    assert github_slug("lswag_lambda") == "lswag_lambda"
    assert github_slug("Per-sample passes and BatchNorm") == "per-sample-passes-and-batchnorm"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def test_every_cited_section_exists():
    known = anchors(METHOD.read_text())
    cited = {(path.relative_to(ROOT).as_posix(), anchor)
             for path in citing_files() for anchor in CITE.findall(path.read_text(errors="replace"))}
    assert len(cited) >= 10, "the code is expected to cite docs/method.md sections"
    missing = sorted(f"{where}: #{anchor}" for where, anchor in cited if anchor not in known)
    assert not missing, "citations of docs/method.md sections that do not exist:\n" + "\n".join(missing)


def test_page_links_to_its_own_sections():
    text = METHOD.read_text()
    missing = sorted(set(re.findall(r"\]\(#([\w-]+)\)", text)) - anchors(text))
    assert not missing, f"docs/method.md links to missing sections: {missing}"


def test_every_proxy_has_a_section():
    listed = yaml.safe_load((ROOT / "zcbench" / "conf" / "proxy" / "all.yaml").read_text())["defaults"]
    missing = sorted(set(listed) - anchors(METHOD.read_text()))
    assert not missing, f"proxies without a '### <name>' section in docs/method.md: {missing}"


def test_package_does_not_cite_the_internal_brief():
    package = [p for p in citing_files() if p.is_relative_to(ROOT / "zcbench")]
    offenders = [p.relative_to(ROOT).as_posix() for p in package if "METHOD.md" in p.read_text(errors="replace")]
    assert not offenders, f"files citing METHOD.md (not shipped; cite docs/method.md#<section>): {offenders}"
