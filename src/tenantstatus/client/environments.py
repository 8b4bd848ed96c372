"""Where the state API lives: a base URL, or the name of one of the platform's environments."""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["ENVIRONMENTS", "base_url_for"]

#: The platform's environments by name (spec section 5).
ENVIRONMENTS = MappingProxyType(
    {name: f"https://{name}.superoffice.com" for name in ("sod", "qaonline", "online")}
)


def base_url_for(url: str | None = None, env: str | None = None) -> str:
    """The state API's base URL from exactly one of `url` and `env`.

    >>> base_url_for(env="online")
    'https://online.superoffice.com'
    """
    if url is not None and env is not None:
        raise ValueError("give either a base URL or an environment name, not both")
    if env is not None:
        try:
            return ENVIRONMENTS[env]
        except KeyError:
            known = ", ".join(ENVIRONMENTS)
            raise ValueError(f"unknown environment {env!r}: use one of {known}") from None
    if url is None:
        raise ValueError("give a base URL or an environment name")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the base URL must start with http:// or https://, not {url!r}")
    return url.rstrip("/")
