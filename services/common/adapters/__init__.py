"""Adapters to systems outside the platform's own code (docs/architecture.md, "Outside systems").

One module per outside system, each holding three things:

- the interface, a `typing.Protocol` that says what the service needs from the system,
  in the service's own words (publish this event; send this mail; create this payment);
- the real adapter, which talks to the system (its library imported inside the adapter,
  so that importing the module loads no framework);
- an in-memory fake with the same interface, for unit tests, that records what it was
  asked and can be told to fail.

Domain code takes the interface as an argument; the nameko side (a dependency provider)
builds the real adapter from configuration; unit tests pass the fake. System tests use
the real adapter against a real server or a local stand-in process.
"""
