"""Everything that can refuse a template before it is written.

- `template_rules`: size, placeholders, names, tags, the parameter file, leaks;
- `security`: the policy and encryption rules;
- `lint`: cfn-lint through its Python API, in worker processes;
- `lint_cache`: the record of templates cfn-lint already passed.

Each check returns findings, one readable line each, that name what failed and
never a secret value; an empty list means the check passed.
"""
