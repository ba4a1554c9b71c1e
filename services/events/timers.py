"""A nameko timer whose interval comes from configuration, not from the source.

`@timer(interval=...)` fixes the interval when the class is defined;
`@configured_timer(KEY, default)` reads it when the container is set up: from
the container's config (the nameko YAML or a test's config dict), else the
environment variable of the same name, else `default`.
"""

from __future__ import annotations

import os

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key: str, default: float, eager: bool = False, **kwargs) -> None:
        self.config_key = config_key
        self.default = default
        super().__init__(interval=default, eager=eager, **kwargs)

    def setup(self) -> None:
        configured = self.container.config.get(self.config_key)
        if configured is None:
            configured = os.environ.get(self.config_key)
        self.interval = float(configured) if configured not in (None, "") else self.default
        if self.interval <= 0:
            raise ValueError(f"{self.config_key} must be a positive number of seconds")
        super().setup()


configured_timer = ConfiguredTimer.decorator
