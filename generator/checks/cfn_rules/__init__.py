"""cfn-lint custom rules for the AWS behaviours the local engine cannot show.

Loaded by `.cfnlintrc` (`append_rules`), so the build, plain `cfn-lint`, editors
and pre-commit all run them. Each file is self-contained: cfn-lint loads it by
path, without this package.
"""
