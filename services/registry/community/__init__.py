"""The entrypoints of the registry's community part (service.py, mixed into RegistryService);
its domain modules are services/registry/chapters.py and messengers.py (docs/community.md).
A package of its own so that its entrypoint module is named `service`, as every module that
may import nameko is (tests/unit/test_catalogue.py)."""
