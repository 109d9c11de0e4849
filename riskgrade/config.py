"""Configuration files as data: shipped defaults in ``riskgrade/defaults/`` or a province's own YAML,
validated on load with a one-line message that names the file and the field."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import RiskgradeError

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path | None, default: str) -> tuple[dict, str]:
    """(mapping, where) from ``path``, or from the shipped ``defaults/<default>`` when path is None."""
    where = str(path) if path else f"(built-in) {default}"
    try:
        text = Path(path).read_text(encoding="utf-8") if path else \
            resources.files("riskgrade.defaults").joinpath(default).read_text(encoding="utf-8")
    except OSError as e:
        raise RiskgradeError(f"cannot read {where}: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RiskgradeError(f"{where}: not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise RiskgradeError(f"{where}: expected a mapping at the top level")
    return data, where


def validate(model: type[M], data: dict, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise RiskgradeError(f"{where}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def load(model: type[M], path: Path | None, default: str) -> M:
    data, where = read_yaml(path, default)
    return validate(model, data, where)
