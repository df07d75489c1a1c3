"""Looking at what is live: `status` (the go-live gate), `verify` and `alerts-test`. Nothing here writes a value.

- `deployed`: what the deploy put in place (keys, resource policies, alert rules), read back;
- `status`: each secret in each region, judged for the gate, with the keys and rules beside them;
- `report`: the status table or document, and the alert self-test's verdict;
- `verify`: each region's current value checked at its provider;
- `alerts`: the alert self-test and the dead-letter queue.
"""
