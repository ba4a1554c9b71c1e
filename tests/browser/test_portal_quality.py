"""Qualities of the whole portal: the alumni site's first load stays small for phones, and
both apps' login forms work with the keyboard alone."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import ROOT, assert_accessible
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME

DIST = ROOT / "web" / "dist"
FIRST_LOAD_BUDGET_BYTES = 300 * 1024
STATIC_IMPORT = re.compile(
    rb"""(?:^|[;\s}])import\s*(?:[\w${}\s,*]+from\s*)?["']([^"']+\.js)["']"""
)


def first_load_scripts(page_html: Path, dist: Path = DIST) -> set[Path]:
    """The page's module script, the modules it preloads, and everything they import
    statically (not `import()`, which loads a page on demand)."""
    html = page_html.read_text(encoding="utf-8")
    entries = re.findall(r'<script type="module"[^>]*src="([^"]+)"', html)
    entries += re.findall(r'<link rel="modulepreload"[^>]*href="([^"]+)"', html)
    pending = [dist / url.lstrip("/") for url in entries]
    seen: set[Path] = set()
    while pending:
        script = pending.pop()
        if script in seen:
            continue
        seen.add(script)
        for name in STATIC_IMPORT.findall(script.read_bytes()):
            pending.append((script.parent / name.decode()).resolve())
    return seen


def test_the_alumni_sites_first_load_is_under_300_kb_of_compressed_javascript(portal_built):
    scripts = first_load_scripts(DIST / "index.html")
    assert any(path.name.startswith("site-") for path in scripts), scripts
    compressed = {path.name: len(gzip.compress(path.read_bytes(), 9)) for path in scripts}
    total = sum(compressed.values())
    assert total < FIRST_LOAD_BUDGET_BYTES, f"{total / 1024:.0f} kB gzip > 300 kB: " + ", ".join(
        f"{name} {size / 1024:.0f} kB" for name, size in sorted(compressed.items())
    )


def test_the_budget_counts_statically_imported_chunks(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<script type="module" src="/assets/a.js"></script>')
    (tmp_path / "assets" / "a.js").write_text(
        'import{x}from"./b.js";import "./c.js";const p=()=>import("./lazy.js");'
    )
    (tmp_path / "assets" / "b.js").write_text("export const x=1;")
    (tmp_path / "assets" / "c.js").write_text("")
    names = {path.name for path in first_load_scripts(tmp_path / "index.html", tmp_path)}
    assert names == {"a.js", "b.js", "c.js"}


def tab_to(page: Page, selector: str, most: int = 20) -> None:
    """Press Tab until the element `selector` has the focus, as a keyboard user would."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"{selector} was not reached with {most} presses of Tab")


def test_the_alumni_sites_login_works_by_keyboard_alone(phone):
    phone.goto("/#/login?next=/me")
    expect(phone.get_by_role("heading", name="校友登录")).to_be_visible()
    tab_to(phone, "input[autocomplete=username]")
    phone.keyboard.type(ADMIN_USERNAME)
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.type") == "password"
    phone.keyboard.type(ADMIN_PASSWORD)
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("heading", name="我的")).to_be_visible()
    expect(phone.get_by_text(ADMIN_USERNAME, exact=True)).to_be_visible()


def test_the_consoles_login_works_by_keyboard_alone(desktop):
    desktop.goto("/console/#/")
    expect(desktop.get_by_role("heading", name="校友工作平台 · 工作台登录")).to_be_visible()
    tab_to(desktop, "input[autocomplete=username]")
    desktop.keyboard.type(ADMIN_USERNAME)
    desktop.keyboard.press("Tab")
    assert desktop.evaluate("document.activeElement.type") == "password"
    desktop.keyboard.type(ADMIN_PASSWORD)
    desktop.keyboard.press("Enter")
    expect(desktop.get_by_role("heading", name="概览")).to_be_visible()
    assert_accessible(desktop, "console-home-by-keyboard")
