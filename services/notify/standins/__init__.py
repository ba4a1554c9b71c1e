"""Local stand-ins for the notify service's outside systems, run as processes of their own
by `make run` and by the test fixtures (services/common/catalogue.py STAND_INS)."""
