"""The gateway's routes, one mixin per area; gateway/service.py puts them together.

Each route: authorise (gateway/authz.py), validate, one or two RPC calls, shape the
answer (gateway/presenters.py). The dependencies the mixins use (`config`,
`registry`, `events`, the readiness probes) are declared once, on GatewayService.
"""
