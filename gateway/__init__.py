"""The HTTP gateway: authenticates, authorises, validates, calls RPC, shapes responses."""

import services  # noqa: F401  (applies the project's warning filters first)
