"""Screenshots of the console at a laptop's and a phone's size, to look at before a change ships.

    python scripts/screenshots.py --out test-artifacts/review            # a new 3,000-entity province
    python scripts/screenshots.py --home demo/home --out docs/img/console  # an existing data home

Builds (or reuses) a published data home, adds one user per role (password sign-in; the server runs
with ``RISKGRADE_REQUIRE_ADMIN_TOTP=0`` so the administrator can be shown without an authenticator:
never start a real server that way), serves it on a free local port and saves every page as
``<role>-<page>-<width>.png`` at 1366x768 and 390x844, in Debian's Chromium through Playwright.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Shots-2026x"
SIZES = ((1366, 768), (390, 844))
AS_OF = "2026-09-30"


def cli(home: Path, *args: str) -> None:
    env = {**os.environ, "RISKGRADE_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "riskgrade", *args], env=env, check=True, capture_output=True)


def build(root: Path, entities: int) -> Path:
    home = root / "home"
    cli(home, "simulate", "--entities", str(entities), "--seed", "5", "--out", str(root / "d"))
    cli(home, "ingest", str(root / "d"))
    cli(home, "classify", "--as-of", "2026-08-31", "--model", "expert")
    cli(home, "classify", "--as-of", AS_OF)
    cli(home, "task", "create", "--name", "2026年第四季度食品经营者抽查", "--domain", "food", "--industry", "F")
    cli(home, "seed", "commit", "--as-of", AS_OF, "--seed", "7", "--source", "screenshots: a fixed seed",
        "--out", str(root / "seed.json"))
    cli(home, "plan", "--as-of", AS_OF, "--seed", "7", "--budget", "120", "--out", str(root / "plan.csv"),
        "--publish", str(root / "publication"))
    cli(home, "simulate-results", "--plan", "1", "--delivery", str(root / "d"), "--out", str(root / "r.csv"))
    cli(home, "results", "import", str(root / "r.csv"), "--plan", "1")
    cli(home, "warn")
    for t in ("2026-08-31", AS_OF):
        cli(home, "publish", "--as-of", t)
    return home


def add_users(home: Path) -> dict[str, str]:
    """One user per role; the county officer in the county with most entities."""
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    county = con.execute("SELECT region_code FROM entities WHERE status = 'active' GROUP BY 1 "
                         "ORDER BY count(*) DESC, 1 LIMIT 1").fetchall()[0][0]
    con.close()
    users = {"admin": ("admin", "37"), "officer": ("credit_officer", county), "inspector": ("inspector", county),
             "analyst": ("analyst", "37"), "auditor": ("auditor", "37")}
    for name, (role, region) in users.items():
        subprocess.run([sys.executable, "-m", "riskgrade", "user", "add", f"shots_{name}", "--role", role,
                        "--region", region, "--name", f"演示{name}", "--password-env", "SHOTS_PASSWORD"],
                       check=False, capture_output=True,  # already there in a reused home: fine
                       env={**os.environ, "RISKGRADE_HOME": str(home), "SHOTS_PASSWORD": PASSWORD})
    return {name: f"shots_{name}" for name in users}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "RISKGRADE_HOME": str(home), "RISKGRADE_REQUIRE_ADMIN_TOTP": "0"}
    p = subprocess.Popen([sys.executable, "-m", "riskgrade", "serve", "--port", str(port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/login", timeout=1).read()
            return p, base
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    p.terminate()
    raise SystemExit("the server did not start")


PAGES = {
    "admin": ["/", "/entities", "/alerts", "/alerts/rules", "/plans", "/plans/new", "/quality", "/model",
              "/admin/users", "/admin/users/shots_officer", "/admin/audit", "/account/totp", "/help"],
    "officer": ["/", "/entities", "/alerts", "/plans", "/plans/1", "/plans/1/results", "/help"],
    "inspector": ["/plans", "/plans/1"],
    "analyst": ["/"],
    "auditor": ["/alerts", "/admin/audit", "/sealed", "/plans/1/sealed"],
}


def shoot(base: str, users: dict[str, str], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for who, paths in PAGES.items():
            for w, h in SIZES:
                page = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN").new_page()
                page.goto(base + "/login")
                page.get_by_label("用户名").fill(users[who])
                page.get_by_label("密码").fill(PASSWORD)
                page.get_by_role("button", name="登录").click()
                page.wait_for_load_state("networkidle")
                for path in paths:
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    if path == "/entities":  # a search sorted by score, then the first entity's file
                        page.goto(base + "/entities?sort=score&desc=1")
                        page.wait_for_load_state("networkidle")
                        f = out / f"{who}-search-{w}.png"
                        page.screenshot(path=str(f), full_page=True)
                        saved.append(f)
                        link = page.locator("a[href^='/entities/']").first
                        if link.count():
                            link.click()
                            page.wait_for_load_state("networkidle")
                            path = "/entity"
                    if path == "/alerts":
                        link = page.locator("a[href^='/alerts/']").first
                        if link.count():
                            f = out / f"{who}-alerts-{w}.png"
                            page.screenshot(path=str(f), full_page=True)
                            saved.append(f)
                            link.click()
                            page.wait_for_load_state("networkidle")
                            path = "/alert"
                    name = re.sub(r"[^a-z0-9]+", "-", path.strip("/").lower()) or "home"
                    f = out / f"{who}-{name}-{w}.png"
                    page.screenshot(path=str(f), full_page=True)
                    saved.append(f)
                page.context.close()
        browser.close()
    return saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, help="an existing data home (copied, never changed)")
    ap.add_argument("--entities", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=Path("test-artifacts/review"))
    ap.add_argument("--keep", type=Path, help="build the province in this folder and keep it (for --home later)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = a.keep or Path(tmp)
        if a.home:
            home = root / "home"
            shutil.copytree(a.home, home)
        else:
            home = build(root, a.entities)
        users = add_users(home)
        p, base = serve(home)
        try:
            for f in shoot(base, users, a.out):
                print(f)
        finally:
            p.terminate()
            p.wait(timeout=20)


if __name__ == "__main__":
    main()
