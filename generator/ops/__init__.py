"""`trading-secrets`: the operator's tool for the deployed secrets (status, put, rollback).

Unlike the rest of the package it talks to live AWS, through boto3:
- `values`: checking a credential value without ever repeating it;
- `aws`: one client per service and region, timeouts, retries, error mapping;
- `status`: the go-live gate, one row per secret and region;
- `changes`: put (also manual rotation) and rollback;
- `cli`: the console script, `generator.ops.cli:main`.
"""
