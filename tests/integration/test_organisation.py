"""Prod across an organisation, on the engine through the strict proxy: a service-managed stack set run from a
delegated administrator, units added later, a failed update said truthfully, and put, status, verify and
rollback in every account at once through the operator role.

LocalStack 4.10 community has no AWS Organizations, so the proxy keeps one
(devtools/engine_proxy/organizations.py): a management account, a delegated
administrator for StackSets, and three organizational units. It also refuses
what AWS refuses: a service-managed set reached without CallAs from a
delegated administrator, and an AssumeRole that the role's trust does not
allow. Each 12-digit access key id is an account of its own on the engine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.engine import WAIT, Account, delete_stack, through
from support.repository import ROOT
from support.tool_runs import Run, run_tool

from devtools.engine_proxy import EngineProxy, Fault, engine_proxy
from devtools.engine_proxy.organizations import Organization
from generator.environments import ENVIRONMENTS
from generator.errors import AwsError
from generator.json_text import pretty_json
from generator.ops.aws import AwsClients
from generator.ops.deploy.stack_set import stack_set_accounts
from generator.stack_policy import render_stack_policy

PROD = ENVIRONMENTS["prod"]
MANAGEMENT = Account("620000000000")
DELEGATED = Account(
    "620000000001"
)  # the delegated administrator for StackSets: deploys run here
OPERATORS = Account("620000000002")  # the operators run trading-secrets from here
MEMBERS = [Account(f"62000000001{n}") for n in range(1, 6)]
UNITS = {
    "ou-ab12-aaaaaaaa": [MEMBERS[0].account_id, MEMBERS[1].account_id],
    "ou-ab12-bbbbbbbb": [MEMBERS[2].account_id, MEMBERS[3].account_id],
    "ou-ab12-cccccccc": [MEMBERS[4].account_id],
}
SET = "trading-prod-secrets"
OPERATOR_ROLE = "trading-prod-operator"
ACCOUNTS = [m.account_id for m in MEMBERS]


@pytest.fixture(scope="module")
def proxy(engine) -> Iterator[EngineProxy]:
    organization = Organization(
        MANAGEMENT.account_id,
        (DELEGATED.account_id,),
        {k: list(v) for k, v in UNITS.items()},
    )
    with engine_proxy(engine, strict=True, organization=organization) as running:
        yield running


@pytest.fixture(scope="module")
def params(tmp_path_factory) -> Path:
    """prod's parameter file with the service-managed execution role exempt, and the operator role named."""
    target = tmp_path_factory.mktemp("organisation") / "params"
    shutil.copytree(ROOT / "params", target)
    path = target / "prod" / "secrets.json"
    entries = json.loads(path.read_text())
    for entry in entries:
        if entry["ParameterKey"] == "DeployerRoleNames":
            entry["ParameterValue"] = "trading-prod-deployer,stacksets-exec-*"
        if entry["ParameterKey"] == "OperatorRoleNames":
            entry["ParameterValue"] = OPERATOR_ROLE
    path.write_text(json.dumps(entries))
    return target


@pytest.fixture
def tool(proxy, params, monkeypatch, capsys, caplog):
    def run(
        account: Account,
        *argv: str,
        stdin: str | None = None,
        templates: Path = ROOT / "templates",
    ) -> Run:
        if argv[0] == "deploy":
            argv = (
                *argv,
                "--templates-dir",
                str(templates),
                "--params-dir",
                str(params),
            )
        return run_tool(
            monkeypatch,
            capsys,
            caplog,
            argv,
            {**account.credentials, "AWS_ENDPOINT_URL": proxy.url},
            stdin=stdin,
        )

    return run


def instances(proxy: EngineProxy) -> list[dict[str, Any]]:
    cloudformation = through(proxy, DELEGATED)
    return cloudformation.list_stack_instances(
        StackSetName=SET, CallAs="DELEGATED_ADMIN"
    )["Summaries"]


@pytest.fixture(scope="module")
def stack_set(proxy) -> Iterator[None]:
    """The service-managed set the tests below make; its instances and the set deleted at the end."""
    for member in MEMBERS:
        for region in PROD.regions:
            member.client("cloudformation", region)
    yield
    cloudformation = through(proxy, DELEGATED)
    try:
        listed = instances(proxy)
    except ClientError:
        return
    if listed:
        operation = cloudformation.delete_stack_instances(
            StackSetName=SET,
            DeploymentTargets={"OrganizationalUnitIds": list(UNITS)},
            Regions=list(PROD.regions),
            RetainStacks=False,
            CallAs="DELEGATED_ADMIN",
        )["OperationId"]
        for _ in range(300):
            status = cloudformation.describe_stack_set_operation(
                StackSetName=SET, OperationId=operation, CallAs="DELEGATED_ADMIN"
            )["StackSetOperation"]["Status"]
            if status not in ("RUNNING", "QUEUED"):
                break
            time.sleep(1)
        assert status == "SUCCEEDED", status
    cloudformation.delete_stack_set(StackSetName=SET, CallAs="DELEGATED_ADMIN")


def test_a_delegated_administrator_reaches_a_service_managed_set_only_with_call_as(
    proxy,
):
    """CloudFormation API Reference, CreateStackSet, CallAs: without DELEGATED_ADMIN, a delegated
    administrator acts in its own account, where no service-managed set may be made."""
    cloudformation = through(proxy, DELEGATED)
    with pytest.raises(ClientError, match="management account"):
        cloudformation.create_stack_set(
            StackSetName="probe-set",
            TemplateBody=json.dumps({"Resources": {}}),
            PermissionModel="SERVICE_MANAGED",
            AutoDeployment={"Enabled": False},
        )
    outsider = through(proxy, MEMBERS[0])
    with pytest.raises(
        ClientError, match="not registered as a delegated administrator"
    ):
        outsider.describe_stack_set(StackSetName=SET, CallAs="DELEGATED_ADMIN")


def test_a_service_managed_set_reaches_two_units_then_a_third_added_later(
    stack_set, proxy, tool
):
    two = tool(
        DELEGATED,
        "deploy",
        "--env",
        "prod",
        "--organizational-units",
        *list(UNITS)[:2],
        "--yes",
    )
    assert two.code == 0, two.said[-3000:]
    assert "acting as DELEGATED_ADMIN (AWS Organizations says so)" in two.out
    assert sorted((i["Account"], i["Region"]) for i in instances(proxy)) == sorted(
        (a, r) for a in ACCOUNTS[:4] for r in PROD.regions
    )
    # Without CallAs the delegated administrator's own account is searched: the set is not there.
    with pytest.raises(ClientError, match=r"StackSetNotFound|not found"):
        through(proxy, DELEGATED).describe_stack_set(StackSetName=SET)

    plan = tool(
        DELEGATED, "deploy", "--env", "prod", "--organizational-units", *UNITS, "--plan"
    )
    assert plan.code == 12, plan.said[-3000:]
    assert "instances to create: organizational unit(s) ou-ab12-cccccccc" in plan.out

    three = tool(
        DELEGATED,
        "deploy",
        "--env",
        "prod",
        "--organizational-units",
        *UNITS,
        "--auto-deployment",
        "--yes",
    )
    assert three.code == 0, three.said[-3000:]
    listed = instances(proxy)
    assert sorted((i["Account"], i["Region"]) for i in listed) == sorted(
        (a, r) for a in ACCOUNTS for r in PROD.regions
    )
    assert {
        i["OrganizationalUnitId"] for i in listed if i["Account"] == ACCOUNTS[4]
    } == {"ou-ab12-cccccccc"}
    described = through(proxy, DELEGATED).describe_stack_set(
        StackSetName=SET, CallAs="DELEGATED_ADMIN"
    )["StackSet"]
    # Prod keeps its secrets: an account that leaves a unit keeps its stack.
    assert described["AutoDeployment"] == {
        "Enabled": True,
        "RetainStacksOnAccountRemoval": True,
    }
    assert (
        tool(
            DELEGATED,
            "deploy",
            "--env",
            "prod",
            "--organizational-units",
            *UNITS,
            "--plan",
        ).code
        == 0
    )


def test_the_accounts_of_a_service_managed_set_are_read_from_its_delegated_administrator(
    stack_set, proxy, monkeypatch
):
    """What put, status, verify and rollback reach without --accounts: the set's instances, which a delegated
    administrator lists only with CallAs DELEGATED_ADMIN (the proxy refuses the call without it)."""
    for name, value in {**DELEGATED.credentials, "AWS_ENDPOINT_URL": proxy.url}.items():
        monkeypatch.setenv(name, value)
    assert stack_set_accounts(PROD, AwsClients()) == tuple(sorted(ACCOUNTS))
    for name, value in {**OPERATORS.credentials, "AWS_ENDPOINT_URL": proxy.url}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(AwsError, match="name the accounts with --accounts"):
        stack_set_accounts(PROD, AwsClients())


def _with_probe_secret(tmp_path: Path) -> Path:
    """The committed templates, prod's with one more secret, and the stack policy that goes with it."""
    target = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", target)
    path = target / "prod" / "secrets.json"
    template = json.loads(path.read_text())
    template["Resources"]["ProbeSecret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "Name": "trading/prod/probe",
            "Description": "planted by a test",
        },
    }
    path.write_text(pretty_json(template))
    (target / "prod" / "stack-policy.json").write_text(render_stack_policy(template))
    return target


def test_a_failed_update_says_the_set_now_holds_the_new_template(
    stack_set, proxy, tool, tmp_path
):
    # The third account's instance fails, as an instance fails in AWS: the proxy fails it, and says so.
    proxy.add(
        Fault("StackSetInstance", "error", region="us-east-1", account=ACCOUNTS[2])
    )
    try:
        failed = tool(
            DELEGATED, "deploy", "--env", "prod", "--organizational-units", *UNITS, "--yes",
            templates=_with_probe_secret(tmp_path),
        )  # fmt: skip
    finally:
        proxy.clear()
    assert failed.code == 6, failed.said[-3000:]
    assert (
        "instance(s) failed after 2 succeeded, which run the new template" in failed.err
    )
    assert (
        "the stack set itself now holds the new template and parameters" in failed.err
    )
    assert f"{ACCOUNTS[2]} us-east-1: FAILED: injected by the fault proxy" in failed.out
    held = through(proxy, DELEGATED).describe_stack_set(
        StackSetName=SET, CallAs="DELEGATED_ADMIN"
    )
    assert "ProbeSecret" in json.loads(held["StackSet"]["TemplateBody"])["Resources"]
    # The same templates again: the set holds them, yet the failed instance and those after it do not run them.
    planned = tool(
        DELEGATED, "deploy", "--env", "prod", "--organizational-units", *UNITS, "--plan",
        templates=_with_probe_secret(tmp_path / "again"),
    )  # fmt: skip
    assert planned.code == 12, planned.said[-3000:]
    assert "the template and parameters are those deployed" in planned.out
    assert "instance(s) do not run the template the set holds" in planned.out
    assert (
        f"  {ACCOUNTS[2]} us-east-1: OUTDATED: injected by the fault proxy"
        in planned.out
    )
    # Back to the committed template: the planted secret's removal is named, as the guard asks.
    back = tool(
        DELEGATED, "deploy", "--env", "prod", "--organizational-units", *UNITS, "--yes",
        "--allow-replacement", "ProbeSecret",
    )  # fmt: skip
    assert back.code == 0, back.said[-3000:]


@pytest.fixture(scope="module")
def operator_roles(stack_set) -> Iterator[None]:
    """The operator role in every member account, from templates/prod/operator-role.json, trusting OPERATORS."""
    body = (ROOT / "templates" / "prod" / "operator-role.json").read_text()
    made = []
    for member in MEMBERS:
        cloudformation = member.client("cloudformation")
        stack = cloudformation.create_stack(
            StackName="trading-prod-operator-role",
            TemplateBody=body,
            Parameters=[
                {
                    "ParameterKey": "OperatorAccountId",
                    "ParameterValue": OPERATORS.account_id,
                }
            ],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )["StackId"]
        made.append((member, stack))
    for member, stack in made:
        member.client("cloudformation").get_waiter("stack_create_complete").wait(
            StackName=stack, WaiterConfig=WAIT
        )
    yield
    for member, stack in made:
        delete_stack(member, "us-east-1", stack)


EVERY_ACCOUNT = ("--role-name", OPERATOR_ROLE, "--accounts", *ACCOUNTS)


def _currents(secret: str) -> dict[tuple[str, str], str | None]:
    found = {}
    for member in MEMBERS:
        for region in PROD.regions:
            stages = member.version_stages(secret, region)
            found[(member.account_id, region)] = next(
                (v for v, labels in stages.items() if "AWSCURRENT" in labels), None
            )
    return found


def _put(tool, value: str) -> Run:
    return tool(
        OPERATORS, "put", "--env", "prod", "--secret", "alphavantage", "--from-stdin", *EVERY_ACCOUNT,
        stdin=json.dumps({"apiKey": value}),
    )  # fmt: skip


def test_an_assume_role_the_trust_does_not_allow_is_refused(operator_roles, proxy):
    outsider = through(proxy, MANAGEMENT, "sts")
    with pytest.raises(ClientError, match="not authorized to perform: sts:AssumeRole"):
        outsider.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNTS[0]}:role/{OPERATOR_ROLE}",
            RoleSessionName="outsider",
        )
    with pytest.raises(ClientError, match="not authorized"):
        through(proxy, OPERATORS, "sts").assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNTS[0]}:role/no-such-role",
            RoleSessionName="probe",
        )


def test_a_put_reaches_five_accounts_and_two_regions_as_one_version(
    operator_roles, proxy, tool
):
    put = _put(tool, f"FAKE-av-first-{uuid.uuid4().hex[:12]}")
    assert put.code == 0, put.said[-3000:]
    currents = _currents("trading/prod/alphavantage")
    assert (
        len(currents) == 10
        and len(set(currents.values())) == 1
        and None not in currents.values()
    )
    status = tool(OPERATORS, "status", "--env", "prod", *EVERY_ACCOUNT, "--json")
    document = json.loads(status.out)
    rows = [
        r for r in document["secrets"] if r["secret"] == "trading/prod/alphavantage"
    ]
    assert sorted(r["region"] for r in rows) == sorted(
        f"{a}/{r}" for a in ACCOUNTS for r in PROD.regions
    )
    assert {r["state"] for r in rows} == {"SET"}
    verified = tool(
        OPERATORS, "verify", "--env", "prod", "--secret", "alphavantage", *EVERY_ACCOUNT
    )
    assert verified.code == 0, verified.said[-3000:]
    assert verified.out.count(": passed:") + verified.out.count(": inconclusive:") == 10


def test_dead_letters_reads_every_accounts_queue_and_purges_in_none(
    operator_roles, proxy, tool
):
    read = tool(OPERATORS, "dead-letters", "--env", "prod", *EVERY_ACCOUNT)
    assert read.code == 0, read.said[-3000:]
    assert sorted(line for line in read.out.splitlines() if " in " in line) == sorted(
        f"trading-prod-secrets-alerts-dlq in {a}/{r}: 0 message(s)"
        for a in ACCOUNTS
        for r in PROD.regions
    )
    purge = tool(
        OPERATORS, "dead-letters", "--env", "prod", "--purge", "--yes", *EVERY_ACCOUNT
    )
    assert purge.code == 2, purge.said[-3000:]
    assert (
        "the operator role may read the dead-letter queue but not empty it" in purge.err
    )


def test_a_put_that_fails_to_stage_in_one_account_promotes_nothing_and_resume_finishes_it(
    operator_roles, proxy, tool
):
    before = _currents("trading/prod/alphavantage")
    proxy.add(Fault("PutSecretValue", "error", account=ACCOUNTS[2]))
    try:
        failed = _put(tool, f"FAKE-av-second-{uuid.uuid4().hex[:12]}")
    finally:
        proxy.clear()
    assert failed.code == 4, failed.said[-3000:]
    assert "nothing changed for consumers" in failed.err
    assert _currents("trading/prod/alphavantage") == before  # nothing half-promoted
    [resume] = [
        w
        for w in failed.err.split("`")
        if w.startswith("trading-secrets put") and "--resume" in w
    ]
    finished = tool(OPERATORS, *resume.split()[1:], *EVERY_ACCOUNT)
    assert finished.code == 0, finished.said[-3000:]
    after = _currents("trading/prod/alphavantage")
    assert len(set(after.values())) == 1 and after != before


def test_a_put_that_fails_to_promote_in_one_account_is_reported_and_rollback_undoes_it(
    operator_roles, proxy, tool
):
    before = _currents("trading/prod/alphavantage")
    proxy.add(Fault("UpdateSecretVersionStage", "error", account=ACCOUNTS[3]))
    try:
        failed = _put(tool, f"FAKE-av-third-{uuid.uuid4().hex[:12]}")
    finally:
        proxy.clear()
    assert failed.code == 6, failed.said[-3000:]
    for region in PROD.regions:
        assert (
            f"{ACCOUNTS[3]}/{region}: AWSCURRENT is {before[(ACCOUNTS[3], region)]}"
            in failed.err
        )
    rolled = tool(
        OPERATORS, "rollback", "--env", "prod", "--secret", "alphavantage", "--to",
        str(before[(ACCOUNTS[0], "us-east-1")]), "--yes", *EVERY_ACCOUNT,
    )  # fmt: skip
    assert rolled.code == 0, rolled.said[-3000:]
    assert _currents("trading/prod/alphavantage") == before


def test_a_second_ctrl_c_leaves_at_once_and_says_the_outcome_is_unknown(
    operator_roles, proxy, tool
):
    """The console script, as an operator runs it: the first Ctrl-C lands while one account's promote is held in
    flight, so the put waits for it; the operator presses Ctrl-C again. The process must leave then, not when
    the held call times out (20 s): without threading's traceback, with exit 130 and the outcome unknown."""
    value = f"FAKE-av-ctrl-c-{uuid.uuid4().hex[:12]}"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("trading-secrets")),
            "put", "--env", "prod", "--secret", "alphavantage", "--from-stdin", *EVERY_ACCOUNT,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **OPERATORS.credentials, "AWS_ENDPOINT_URL": proxy.url},
    )  # fmt: skip
    held = ACCOUNTS[1]
    # Held longer than the client's read timeout: only leaving at once ends the run before it.
    proxy.add(
        Fault(
            "UpdateSecretVersionStage",
            "signal",
            region="us-east-1",
            account=held,
            pid=process.pid,
            seconds=40,
        )
    )
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps({"apiKey": value}))
        process.stdin.close()
        process.stdin = None  # written and closed: communicate() must not touch it
        deadline = time.monotonic() + 60
        while (
            not any(
                s.operation == "UpdateSecretVersionStage" and s.account == held
                for s in list(proxy.seen)
            )
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(
            2
        )  # the first Ctrl-C has arrived: the put is waiting for the held call
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=12)
    finally:
        proxy.clear()
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "waiting for the calls in flight" in err, err
    assert "the outcome is unknown" in err, err
    assert "run `trading-secrets status --env prod` to learn it" in err, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert value not in out + err
    # What the interrupted put left, finished the way its message says.
    [resume] = [
        w
        for w in err.split("`")
        if w.startswith("trading-secrets put") and "--resume" in w
    ]
    finished = tool(OPERATORS, *resume.split()[1:], *EVERY_ACCOUNT)
    assert finished.code == 0, finished.said[-3000:]
    after = _currents("trading/prod/alphavantage")
    assert len(set(after.values())) == 1 and None not in after.values()
