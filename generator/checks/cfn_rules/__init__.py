"""cfn-lint custom rules for the AWS behaviours the local engine cannot show.

Loaded by `.cfnlintrc` (`append_rules`), so the build, plain `cfn-lint`, editors,
the cfn-lint GitHub Action and pre-commit all run them. cfn-lint loads each file
by path, without this package, so each needs only cfn-lint and the standard
library: the helpers they share (reading.py) are read by path from beside them.
The generator may import the rules; the rules never import the generator
(tests/checks/test_cfn_lint_cli.py runs them from an environment with cfn-lint alone).
"""
