"""Rendering shared by every report: the Jinja environment, number formatters, the vendored ECharts,
atomic file writes and PDF printing with headless Chromium.

* :func:`environment` - the one way a package's templates are loaded (one environment per package
  and set of options, cached), with the formatters below as filters and ``t`` (a label of the
  template's ``L`` dictionary, formatted) as a global;
* formatters: :func:`pct`, :func:`num`, :func:`pval`, :func:`pp`, :func:`heat`, :func:`heat_completeness`;
* ECharts: Apache ECharts is vendored unmodified as ``web/static/echarts-<version>.min.js`` (from the
  npm package ``echarts@<version>``, ``dist/echarts.min.js``; the console serves the same file); its
  licence, NOTICE and the BSD licence of the d3 parts it embeds are in
  ``web/static/echarts-<version>.LICENSE.txt``.  Reports inline it (:func:`inline_script`) so that an
  HTML file works offline;
* :func:`atomic_write` - write a file whole or not at all;
* :func:`find_chromium`, :func:`html_to_pdf` - print an HTML page to PDF.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .errors import RiskgradeError

DASH = "—"

# --------------------------------------------------------------------------- formatters


def pct(v: Any, digits: int = 1) -> str:
    """A share as a percentage: 0.123 -> ``12.3%``."""
    if v is None:
        return DASH
    return f"{float(v) * 100:.{digits}f}%"


def num(v: Any, digits: int = 0, fraction: int = 1) -> str:
    """A number with thousands separators; ``digits`` decimals when given, else integers as integers
    and other floats with ``fraction`` decimals."""
    if v is None:
        return DASH
    if digits:
        return f"{float(v):,.{digits}f}"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.{fraction}f}"
    return f"{int(v):,}"


def pval(v: Any) -> str:
    """A p-value: three decimals, ``<0.001`` below."""
    if v is None:
        return DASH
    v = float(v)
    if v < 0.001:
        return "<0.001"
    return f"{v:.3f}"


def pp(v: Any) -> str:
    """A change of a share in percentage points, signed."""
    if v is None:
        return DASH
    x = float(v) * 100
    return f"{x:+.1f}" if abs(x) >= 0.05 else "0.0"


def heat(v: Any, top: float = 1.0) -> str:
    """Background of a share cell: white (0) -> red (``top`` or more)."""
    if v is None:
        return ""
    f = max(0.0, min(1.0, float(v) / top)) if top > 0 else 0.0
    light = round(97 - 45 * f)
    return f"background:hsl(4,75%,{light}%)"


def heat_completeness(v: Any) -> str:
    """Background of a completeness cell: red (0) -> yellow -> green (1)."""
    if v is None:
        return "background:#f3f3f3"
    hue = round(120 * max(0.0, min(1.0, float(v))) ** 2)
    return f"background:hsl({hue},70%,85%)"


# --------------------------------------------------------------------------- Jinja
@jinja2.pass_context
def _t(ctx, key: str, **kw: Any) -> str:
    text = ctx["L"][key]
    return text.format(**kw) if kw else text


FILTERS = {"pct": pct, "num": num, "pval": pval, "pp": pp, "heat": heat}


@functools.lru_cache(maxsize=None)
def environment(package: str, *, autoescape: bool = True, strict: bool = True, trim: bool = True) -> jinja2.Environment:
    """The Jinja environment of ``package``'s ``templates`` folder (cached).

    ``strict``: an undefined name is an error; ``trim``: block tags take their line with them
    (``trim_blocks`` and ``lstrip_blocks``).  The formatters of this module are its filters (a package
    may add or override its own) and ``t`` its global."""
    env = jinja2.Environment(loader=jinja2.PackageLoader(package, "templates"), autoescape=autoescape,
                             trim_blocks=trim, lstrip_blocks=trim,
                             undefined=jinja2.StrictUndefined if strict else jinja2.Undefined)
    env.filters.update(FILTERS)
    env.globals["t"] = _t
    return env


# --------------------------------------------------------------------------- vendored ECharts
ECHARTS_VERSION = "6.1.0"
ECHARTS_FILE = f"echarts-{ECHARTS_VERSION}.min.js"
ECHARTS_LICENSE_FILE = f"echarts-{ECHARTS_VERSION}.LICENSE.txt"


def _static(name: str) -> str:
    return resources.files("riskgrade").joinpath("web", "static", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def echarts_js() -> str:
    """The vendored ``echarts.min.js`` (about 1.1 MB of JavaScript), exactly as shipped."""
    return _static(ECHARTS_FILE)


def echarts_license() -> str:
    """The Apache-2.0 licence text of the vendored ECharts (with its NOTICE and the d3 licence)."""
    return _static(ECHARTS_LICENSE_FILE)


def inline_script(js: str) -> str:
    """JavaScript made safe to put between ``<script>`` and ``</script>`` in an HTML page.

    * ``</`` becomes ``<\\/`` so that no ``</script>`` ends the element early;
    * ``://`` becomes ``:\\/\\/`` so that the page holds no ``http://`` text at all
      (ECharts only has XML namespace names and licence links, which are not fetched).

    Both rewrites only occur inside string literals, regular expressions and
    comments of the minified ECharts, where ``\\/`` means ``/``: the code is unchanged.
    """
    return js.replace("</", "<\\/").replace("://", ":\\/\\/")


@functools.lru_cache(maxsize=1)
def echarts_inline_js() -> str:
    """:func:`echarts_js` passed through :func:`inline_script` (cached)."""
    return inline_script(echarts_js())


def script_json(data: Any) -> Markup:
    """``data`` as JSON safe to put inside a ``<script>`` element."""
    return Markup(inline_script(json.dumps(data, ensure_ascii=False)).replace("<", "\\u003c"))


# --------------------------------------------------------------------------- files
def atomic_write(path: Path, text: str | bytes) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends as given) or bytes to ``path`` whole or not at all: a
    temporary file beside it, renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


# --------------------------------------------------------------------------- PDF with headless Chromium
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT = 180  # seconds


def find_chromium() -> str:
    """The Chromium to print with: ``$RISKGRADE_CHROMIUM``, else the first of chromium, chromium-browser,
    google-chrome on PATH; a clear error when there is none."""
    env = os.environ.get("RISKGRADE_CHROMIUM", "").strip()
    if env:
        exe = shutil.which(env)
        if exe is None:
            raise RiskgradeError(f"RISKGRADE_CHROMIUM={env!r} is not an executable: point it at chromium, "
                                 "or write the report as .html")
        return exe
    for name in CHROMIUM_NAMES:
        exe = shutil.which(name)
        if exe:
            return exe
    raise RiskgradeError("writing a PDF needs Chromium and none was found: install chromium (Debian: "
                         "apt-get install chromium fonts-noto-cjk) or set RISKGRADE_CHROMIUM, or write the report as .html")


def html_to_pdf(html: str, pdf: Path | str, *, chromium: str | None = None, timeout: float = PDF_TIMEOUT,
                budget_ms: int = 20000) -> Path:
    """Print an HTML page to PDF with headless Chromium (A4 and margins come from the page's ``@page`` CSS).

    The page is written to a private temporary folder and opened from there with a throw-away profile; no
    network is used.  ``budget_ms`` of virtual time lets the inline scripts draw the charts first.
    """
    pdf = Path(pdf)
    exe = chromium or find_chromium()
    with tempfile.TemporaryDirectory(prefix="riskgrade-pdf-") as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(html, encoding="utf-8")
        out = Path(tmp) / "report.pdf"
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
               f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
               f"--print-to-pdf={out}", f"--virtual-time-budget={int(budget_ms)}",
               "--run-all-compositor-stages-before-draw", src.as_uri()]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                               env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired:
            raise RiskgradeError(f"Chromium did not finish printing the PDF within {timeout:.0f} s") from None
        except OSError as e:
            raise RiskgradeError(f"cannot run Chromium ({exe}): {e.strerror or e}") from None
        if not out.exists() or out.stat().st_size == 0:
            lines = [ln for ln in (p.stderr or "").splitlines() if ln.strip()]
            raise RiskgradeError(f"Chromium ({exe}) did not write the PDF (exit {p.returncode})"
                                 + (f": {lines[-1].strip()[:200]}" if lines else ""))
        return atomic_write(pdf, out.read_bytes())
