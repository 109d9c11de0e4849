"""Vendored front-end assets (read from the installed package, never from the network).

Apache ECharts is vendored unmodified as ``static/echarts-<version>.min.js``
(from the npm package ``echarts@<version>``, ``dist/echarts.min.js``); its
licence, NOTICE and the BSD licence of the d3 parts it embeds are in
``static/echarts-<version>.LICENSE.txt``.  Reports inline it (see
:func:`inline_script`) so that an HTML file works offline.
"""

from __future__ import annotations

import functools
from importlib import resources

ECHARTS_VERSION = "6.1.0"
ECHARTS_FILE = f"echarts-{ECHARTS_VERSION}.min.js"
ECHARTS_LICENSE_FILE = f"echarts-{ECHARTS_VERSION}.LICENSE.txt"


def _static(name: str) -> str:
    return resources.files("riskgrade.web").joinpath("static", name).read_text(encoding="utf-8")


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
