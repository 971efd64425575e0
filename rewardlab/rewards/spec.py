"""Reading a reward's own settings from `RewardSpec.args`, shared by the model-backed reward kinds.

Each kind declares its arguments as a small pydantic model that forbids unknown keys, so a misspelt
argument fails before any model loads, with the reward's name in the message.
"""

from __future__ import annotations

from typing import Literal, Sequence, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from rewardlab.config import RewardSpec
from rewardlab.errors import ConfigError

A = TypeVar("A", bound=BaseModel)


class KindArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Literal["completion", "full"] = "completion"
    """What is scored: the completion alone, or prompt + completion (the sampler's completion continues
    the prompt, so the two are joined without a separator)."""


def parse_args(spec: RewardSpec, cls: type[A]) -> A:
    """`spec.args` validated as `cls`; errors name the reward and the offending key."""
    if spec.path is not None:
        raise ConfigError(f"reward {spec.name!r}: kind {spec.kind!r} reads its settings from args (e.g. args.path), not path")
    try:
        return cls.model_validate(spec.args)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "args"
            if err["type"] == "extra_forbidden":
                lines.append(f"  args.{loc}: unknown key (valid keys: {', '.join(cls.model_fields)})")
            else:
                lines.append(f"  args.{loc}: {err['msg']}")
        raise ConfigError(f"reward {spec.name!r} (kind {spec.kind}):\n" + "\n".join(lines)) from None


def scored_texts(prompts: Sequence[str], completions: Sequence[str], text: str) -> list[str]:
    if text == "full":
        return [p + c for p, c in zip(prompts, completions)]
    return list(completions)
