"""Who is asking: principals, the ways to prove it (API keys, JWT, a custom callable), and ownership rules."""

from tusd_py.auth.principal import Authenticator, Principal

__all__ = ["Authenticator", "Principal"]
