"""Errors that reach the user as a one-line message and a non-zero exit."""


class RiskgradeError(Exception):
    """An error the user can act on; the CLI prints its message on one line."""
