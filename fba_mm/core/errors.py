"""The errors fba_mm raises for a set-up that cannot work; each message names the key and the fix."""


class ConfigError(ValueError):
    """A local-learning config that cannot work; the message names the key and the fix."""
