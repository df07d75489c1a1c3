"""Everything that can refuse a template before it is written.

- `template_rules`: size, placeholders, names, tags, the parameter file, leaks;
- `security`: the policy and encryption rules;
- `limits`: CloudFormation's own limits;
- `lint`: cfn-lint through its Python API, and the processes that run it beside the build;
- `lint_cache`: the record of templates cfn-lint already passed;
- `cfn_rules/`: cfn-lint custom rules for what the local engine cannot show.

Each check returns findings, one readable line each, that name what failed and
never a secret value; an empty list means the check passed.
"""
