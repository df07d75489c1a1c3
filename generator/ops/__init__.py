"""`trading-secrets`: the operator's tool for the deployed stacks and their values.

Unlike the rest of the package it talks to live AWS, through boto3. Arranged by
what an operator does:
- `deploy/`: put a committed template in place (a stack through a change set,
  or prod's stack set);
- `change/`: change a value: put (also the manual rotation), rollback, and the
  provider check a put passes first;
- `live/`: look at what is live: status (the go-live gate), verify, alerts-test.

Beside them: `aws` (one client per service and region, timeouts, one-line
errors), `prompts` (reading from the operator without echo), `cli` (the
command line, a thin layer over the above) and `entry` (the console script).
"""
