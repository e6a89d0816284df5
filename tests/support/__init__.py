"""Helpers shared by every test tier: the one place a test finds ports, databases, tool venvs,
Debian packages, subprocesses, booted hosts, the AWS emulator and the timing summary."""
