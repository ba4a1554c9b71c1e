"""The registry service: the alumni information database (policy 二.1, 三.3)."""
