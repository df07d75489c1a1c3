"""Generates the CloudFormation templates for the trading platform's credentials."""
