"""The trading platform's credentials: CloudFormation templates for them, and a tool for their values.

Three rooms, for three kinds of user:

- Stack builders (this package), pure, for the template author:
  `environments` (what differs per environment, as data), `catalogue` (one spec
  per secret), `naming`, `tagging`, `policies` and `key_policy` (awacs),
  `stack_parameters`, `resources` (key, secrets, outputs), `alerts` (topic,
  dead-letter queue), `alert_rules` (EventBridge rules), `template`
  (one stack), and `build` (generate, validate, write all or nothing), with
  `parameter_files`, `files` and `leaks` (the credential-leak scanner).
- `checks/`: everything that can refuse a template before it is written.
- `ops/`: `trading-secrets`, the operator's tool for deployed values; the only
  part that talks to AWS.

`errors` holds every user-facing error and its exit code for both tools, and
`cli` the plumbing both command lines share.
"""

# Written into every template's Metadata, so a deployed stack can be traced to
# the code that made it; each release has its entry in CHANGELOG.md. Between
# releases it is a development version, and the changelog's Unreleased section
# says what it holds.
__version__ = "0.3.0.dev0"
