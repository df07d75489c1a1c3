"""Errors a user can cause, each mapped to one documented exit code."""

from __future__ import annotations


class GeneratorError(Exception):
    """Base of every error the CLI turns into one line on stderr."""

    exit_code = 1


class ValidationError(GeneratorError):
    """A generated template, name, tag, placeholder or parameter file failed validation (exit 1)."""

    exit_code = 1

    def __init__(self, findings: list[str]):
        self.findings = list(findings)
        super().__init__("; ".join(self.findings))


class ConfigurationError(GeneratorError):
    """A flag, environment name or input file is wrong (exit 2)."""

    exit_code = 2
