"""What the rule files share: read as YAML, loaded into frozen models, refused with every offence named.

The rubric, the check table and the intake problem catalogue are data edited by people. Each is read
the same way — LibYAML's safe loader where available, a mapping at the top level — into pydantic
models that are frozen and reject unknown keys, and each is refused with an error that lists every
offence, naming the file and the entry (STYLE: check the framework before using it; name the offenders).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

#: PyYAML's safe loader on LibYAML when it is there (~10× faster than pure Python for the rubric)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Frozen(BaseModel):
    """A model of rule data: immutable, and a key it does not know is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


M = TypeVar("M", bound=Frozen)


class RulesFileError(ValueError):
    """A rule file that cannot be used; ``problems`` lists every offence found, ``source`` names the file."""

    kind = "rule file"

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid {self.kind} {source}:\n{lines}")


def load_yaml(text: str):
    """``yaml.safe_load(text)``, on LibYAML when available (:data:`SAFE_LOADER`)."""
    return yaml.load(text, Loader=SAFE_LOADER)


def read_mapping(path: Path, error: type[RulesFileError]) -> dict:
    """The mapping a rule file holds, or ``error`` saying why it cannot be read."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(source, [f"cannot read the file: {exc.strerror or exc}"]) from exc
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise error(source, [f"not valid YAML: {exc}"]) from exc
    except ValueError as exc:  # a date-shaped value that is no date
        raise error(source, [f"a value is not a real date: {exc}"]) from None
    if not isinstance(data, dict):
        raise error(source, ["the file must hold a mapping at the top level"])
    return data


def validated(
    model: type[M], data: dict, source: str, error: type[RulesFileError], where: Callable[[dict, tuple], str]
) -> M:
    """``model.model_validate(data)``, or ``error`` listing each offence at ``where(data, location)``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(source, [f"{where(data, e['loc'])}: {e['msg']}" for e in exc.errors()]) from None
