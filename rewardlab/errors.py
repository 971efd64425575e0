"""One exception family, so the CLI can print one readable line and exit non-zero."""


class RewardlabError(Exception):
    """Base class: the message is written for the user."""


class ConfigError(RewardlabError):
    """Bad config, bad path, or bad input found before any model loads."""


class ModelNotFound(RewardlabError):
    """A model name that is neither registered, nor a local directory, nor reachable."""


class RewardError(RewardlabError):
    """A reward returned something unusable (wrong length, NaN/inf)."""
