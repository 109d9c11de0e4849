"""Vendored front-end assets: now defined in :mod:`riskgrade.render`, re-exported here for the faces."""

from __future__ import annotations

from ..render import (ECHARTS_FILE, ECHARTS_LICENSE_FILE, ECHARTS_VERSION, echarts_inline_js,  # noqa: F401
                      echarts_js, echarts_license, inline_script)
