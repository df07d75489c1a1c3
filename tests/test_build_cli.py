"""build.py as a user runs it: flags, exit codes, what is written and what is left alone.

In this process, through `build.main`, as its console entry runs it: exit
codes, one-line errors and the files written are the same there. The
process boundary itself (an interrupt at start-up, a Python without the
project) is tests/test_early_interrupt.py's and tests/test_tasks.py's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.repository import committed_parameters
from support.tool_runs import output_leaks

import build as cli
import generator.build
from generator import naming
from generator.build import generate
from generator.deployer import (
    deployer_policy,
    execution_role_template,
    operator_role_template,
)
from generator.environments import ENVIRONMENTS
from generator.json_text import pretty_json
from generator.leaks import known_placeholder_values
from generator.stack_policy import render_stack_policy
from generator.template import render

PROD = ENVIRONMENTS["prod"]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> Path:
    """In-process builds record lint passes in the test's own folder, never in the repository's."""
    cache = tmp_path / "lint-cache"
    monkeypatch.setattr(cli, "CACHE_DIR", cache)
    return cache


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--env", "qa"],
            "build.py: error: argument --env: unknown environment 'qa'; valid: dev, staging, prod, all",
        ),
        (["--bogus"], "build.py: error: unrecognized arguments: --bogus"),
        (["--env"], "build.py: error: argument --env: expected one argument"),
    ],
    ids=["unknown-env", "unknown-flag", "missing-value"],
)
def test_usage_errors_exit_2_with_one_line_and_touch_nothing(
    tmp_path, capsys, args, message
):
    assert cli.main([*args, "--output-dir", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [message]
    assert out == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("lint_in_this_process")
def test_builds_one_environment_where_asked(tmp_path, capsys):
    assert cli.main(["--no-cache", "--env", "prod", "--output-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert sorted(snapshot(tmp_path)) == [
        "prod/deployer-policy.json",
        "prod/execution-role.json",
        "prod/operator-role.json",
        "prod/secrets.json",
        "prod/stack-policy.json",
    ]
    expected = generate(ENVIRONMENTS["prod"])
    assert (tmp_path / "prod/secrets.json").read_text() == expected
    assert out.splitlines()[1].split()[:5] == [
        "prod",
        str(tmp_path / "prod/secrets.json"),
        str(len(json.loads(expected)["Resources"])),
        str(len(expected.encode())),
        "passed",
    ]
    assert (
        "cfn-lint (informational included) in us-east-1, us-west-2: 0 finding(s)" in err
    )


def test_default_builds_all_environments(
    tmp_path, capsys, monkeypatch, warm_lint_cache
):
    """What the default writes; that the committed files equal it is tests/test_golden.py's."""
    monkeypatch.setattr(cli, "CACHE_DIR", warm_lint_cache)  # not about cfn-lint
    assert cli.main(["--output-dir", str(tmp_path / "a")]) == 0
    expected = {}
    for env in ENVIRONMENTS.values():
        template = generate(env)
        expected[f"{env.name}/secrets.json"] = template.encode()
        expected[f"{env.name}/stack-policy.json"] = render_stack_policy(
            json.loads(template)
        ).encode()
        expected[f"{env.name}/deployer-policy.json"] = pretty_json(
            deployer_policy(env, json.loads(template))
        ).encode()
    expected["prod/execution-role.json"] = render(
        execution_role_template(ENVIRONMENTS["prod"], json.loads(generate(PROD)))
    ).encode()
    expected["prod/operator-role.json"] = render(operator_role_template(PROD)).encode()
    assert snapshot(tmp_path / "a") == expected


def test_logs_name_what_was_validated_and_never_a_value(
    tmp_path, capsys, monkeypatch, warm_lint_cache
):
    monkeypatch.setattr(cli, "CACHE_DIR", warm_lint_cache)  # not about cfn-lint
    assert cli.main(["--output-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "build.py: dev: secret name trading/dev/alpaca: valid" in output
    assert (
        "build.py: dev: placeholder of AlpacaCredentials (fields: apiKeyId, apiSecretKey, baseUrl): valid"
        in output
    )
    assert "PLACEHOLDER" not in output and "not-real" not in output
    assert output_leaks(output, "build output", known_placeholder_values()) == []


def test_quiet_logs_nothing_on_success(tmp_path, capsys, monkeypatch, warm_lint_cache):
    monkeypatch.setattr(cli, "CACHE_DIR", warm_lint_cache)  # not about cfn-lint
    assert cli.main(["--quiet", "--env", "dev", "--output-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""


def test_check_passes_on_what_the_build_wrote_and_catches_a_hand_edit_and_names_it(
    committed_copy, capsys
):
    assert cli.main(["--check", "--output-dir", str(committed_copy)]) == 0
    assert "3 template(s) match the code" in capsys.readouterr().out
    path = committed_copy / "staging/secrets.json"
    path.write_text(
        path.read_text().replace(
            '{"Key": "RotationIntervalDays", "Value": "90"}',
            '{"Key": "RotationIntervalDays", "Value": "900"}',
        )
    )
    assert cli.main(["--check", "--output-dir", str(committed_copy)]) == 1
    err = capsys.readouterr().err
    assert f"{path} differs from what the code generates" in err
    assert '-     {"Key": "RotationIntervalDays", "Value": "900"},' in err
    assert "templates are out of date" in err


@pytest.mark.parametrize(
    "name",
    [
        "dev/deployer-policy.json",
        "prod/deployer-policy.json",
        "prod/execution-role.json",
    ],
)
def test_check_catches_a_widened_deployer_policy_or_execution_role(
    committed_copy, capsys, name
):
    """What deploys a template is generated with it: a hand-widened grant is out of date like a template."""
    path = committed_copy / name
    path.write_text(
        path.read_text()
        .replace('"kms:CreateKey"', '"kms:*"', 1)
        .replace('"cloudformation:CreateStackSet"', '"cloudformation:*"', 1)
    )
    assert cli.main(["--check", "--output-dir", str(committed_copy)]) == 1
    err = capsys.readouterr().err
    assert f"{path} differs from what the code generates" in err


def test_check_reports_a_missing_template(committed_copy, capsys):
    (committed_copy / "dev/secrets.json").unlink()
    assert (
        cli.main(["--check", "--env", "dev", "--output-dir", str(committed_copy)]) == 1
    )
    assert "dev/secrets.json is missing" in capsys.readouterr().err


def _plant_invalid_topic_name(monkeypatch, only: str | None = None):
    """Plant an error only cfn-lint catches: an SNS topic name over SNS's 256-character limit."""
    original = naming.alert_topic_name
    monkeypatch.setattr(
        naming,
        "alert_topic_name",
        lambda env: "t" * 300 if only in (None, env.name) else original(env),
    )


@pytest.mark.usefixtures("lint_in_this_process")
def test_lint_failure_exits_1_and_leaves_every_file_as_it_was(
    committed_copy, monkeypatch, capsys
):
    before = snapshot(committed_copy)
    _plant_invalid_topic_name(monkeypatch, only="prod")
    assert cli.main(["--output-dir", str(committed_copy)]) == 1
    err = capsys.readouterr().err
    assert "prod: cfn-lint E3033 Resources/AlertTopic/Properties/TopicName" in err
    assert (
        err.splitlines()[-1]
        == "build.py: error: validation failed with 1 finding(s); nothing was written"
    )
    # dev and staging passed, but nothing is written unless everything passes.
    assert snapshot(committed_copy) == before


@pytest.mark.usefixtures("lint_in_this_process")
def test_lint_failure_on_a_new_output_dir_creates_nothing(
    tmp_path, monkeypatch, capsys
):
    _plant_invalid_topic_name(monkeypatch)
    assert cli.main(["--env", "dev", "--output-dir", str(tmp_path / "new")]) == 1
    assert not (tmp_path / "new").exists()


@pytest.mark.usefixtures("lint_in_this_process")
def test_malformed_parameter_file_exits_2_with_one_line(tmp_path, params_copy, capsys):
    (params_copy / "dev/secrets.json").write_text("[{")
    assert (
        cli.main(
            [
                "--env",
                "dev",
                "--params-dir",
                str(params_copy),
                "--output-dir",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"build.py: error: parameter file {params_copy / 'dev/secrets.json'} is not valid JSON"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("lint_in_this_process")
def test_parameter_file_that_misses_a_parameter_fails_validation(
    tmp_path, params_copy, capsys
):
    (params_copy / "prod/secrets.json").write_text(
        '[{"ParameterKey": "AlertEmail", "ParameterValue": "ops@example.com"},'
        ' {"ParameterKey": "DeployerRoleNames", "ParameterValue": "deployer"}]'
    )
    assert (
        cli.main(
            [
                "--env",
                "prod",
                "--params-dir",
                str(params_copy),
                "--output-dir",
                str(tmp_path / "out"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "parameter BreakGlassRoleName is missing" in err
    assert "E2900" in err  # cfn-lint's own parameter-file check agrees


LOCKED_OUT = {
    "prod-no-deployer": (
        "prod",
        {"DeployerRoleNames": ""},
        "DeployerRoleNames names no deployer, so CloudFormation would be locked out of its own stack",
    ),
    "staging-deployer-left-out": (
        "staging",
        {"DeployerRoleNames": None},
        "DeployerRoleNames names no deployer, so CloudFormation would be locked out of its own stack",
    ),
    "dev-allow-list-without-deployer": (
        "dev",
        {"ReaderRoleNames": "quote-fetcher"},
        "ReaderRoleNames sets an allow-list but DeployerRoleNames names no deployer, so CloudFormation "
        "would be denied its own reads of the secrets",
    ),
}
SILENT = {
    env_name: (
        env_name,
        {"AlertEmail": ""},
        f"AlertEmail names no subscriber, so no alert would reach anyone in {env_name}",
    )
    for env_name in ("staging", "prod")
}


@pytest.mark.usefixtures("lint_in_this_process")
@pytest.mark.parametrize(
    "env_name, changes, message",
    [
        *(
            (*case[:2], f"{case[2]}: name the role it deploys as")
            for case in LOCKED_OUT.values()
        ),
        *(
            (
                *case[:2],
                f"{case[2]}: name the address that receives them (its owner confirms the subscription)",
            )
            for case in SILENT.values()
        ),
    ],
    ids=[*LOCKED_OUT, *(f"{name}-no-alert-subscriber" for name in SILENT)],
)
def test_a_parameter_file_the_stack_cannot_work_with_is_one_line_and_exit_2(
    tmp_path, params_copy, capsys, env_name, changes, message
):
    """CloudFormation locked out of its own stack, or alerts that would reach nobody."""
    path = params_copy / env_name / "secrets.json"
    values = {**committed_parameters(env_name), **changes}
    path.write_text(
        json.dumps(
            [
                {"ParameterKey": key, "ParameterValue": value}
                for key, value in values.items()
                if value is not None
            ]
        )
    )
    out = tmp_path / "out"
    code = cli.main(
        ["--params-dir", str(params_copy), "--output-dir", str(out), "--no-cache"]
    )
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err == [f"build.py: error: parameter file {path}: {message}"]
    assert not out.exists()


def test_unwritable_output_is_a_configuration_error(
    tmp_path, capsys, monkeypatch, warm_lint_cache
):
    monkeypatch.setattr(cli, "CACHE_DIR", warm_lint_cache)  # not about cfn-lint
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cli.main(["--quiet", "--env", "dev", "--output-dir", str(blocker)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"build.py: error: cannot write {blocker / 'dev' / 'secrets.json'}: Not a directory; nothing was written"
    ]


def test_interrupt_exits_130_with_one_line(monkeypatch, capfd):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    # build.py imports the library once cfn-lint has started loading, so this
    # also interrupts a build whose early lint workers are running.
    monkeypatch.setattr(generator.build, "build", interrupted)
    assert cli.main(["--env", "dev", "--no-cache"]) == 130
    # Read at the descriptor: the lint loader, a child, must not have printed either.
    assert capfd.readouterr().err.splitlines() == [
        "build.py: error: interrupted; nothing was written"
    ]


def _lint_column(stdout: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[4] for line in stdout.splitlines()[1:]}


def test_an_unchanged_template_is_not_linted_again_until_something_in_its_key_changes(
    tmp_path, params_copy, private_cache, lint_in_this_process, monkeypatch, capsys
):
    linted = []
    lint = lint_in_this_process.lint
    monkeypatch.setattr(
        lint_in_this_process, "lint", lambda job: linted.append(job) or lint(job)
    )
    args = [
        "--output-dir",
        str(tmp_path / "out"),
        "--params-dir",
        str(params_copy),
        "--cache-dir",
        str(private_cache),
    ]

    def build(*extra: str) -> dict[str, str]:
        linted.clear()
        assert cli.main([*args, *extra]) == 0
        return _lint_column(capsys.readouterr().out)

    # Each template, and what deploys it.
    assert set(build().values()) == {"passed"} and len(linted) == 6
    assert len(list(private_cache.rglob("*.passed"))) == 6
    assert set(build().values()) == {"cached"} and linted == []

    # A parameter value is part of the key: only that environment is linted again.
    path = params_copy / "staging/secrets.json"
    edited = path.read_text().replace(
        '"ParameterValue": "trading-staging-alerts@example.invalid"',
        '"ParameterValue": "ops@example.com"',
    )
    assert edited != path.read_text()
    path.write_text(edited)
    assert build() == {"dev": "cached", "staging": "passed", "prod": "cached"}
    assert [job.parameters["AlertEmail"] for job in linted] == ["ops@example.com"]

    assert build("--no-cache", "--env", "dev") == {"dev": "passed"}


@pytest.mark.usefixtures("lint_in_this_process")
def test_a_template_with_lint_findings_is_never_recorded_as_passed(
    committed_copy, monkeypatch, private_cache
):
    _plant_invalid_topic_name(monkeypatch, only="prod")
    assert cli.main(["--output-dir", str(committed_copy)]) == 1
    # dev and staging passed and were recorded, and the three deployer policies; prod was not, so it
    # is linted (and fails) every time.
    assert len(list(private_cache.rglob("*.passed"))) == 5
    assert cli.main(["--output-dir", str(committed_copy)]) == 1


# In-process, and two processes for three templates (one lints twice).
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_every_lint_process_count_reports_the_same_findings(
    committed_copy, monkeypatch, capsys, jobs
):
    _plant_invalid_topic_name(monkeypatch)
    assert (
        cli.main(["--jobs", jobs, "--no-cache", "--output-dir", str(committed_copy)])
        == 1
    )
    lint_lines = [
        line for line in capsys.readouterr().err.splitlines() if "cfn-lint E" in line
    ]
    assert [line.split(":")[1].strip() for line in lint_lines] == [
        "dev",
        "staging",
        "prod",
    ]
    assert all(
        "E3033 Resources/AlertTopic/Properties/TopicName" in line for line in lint_lines
    )


def test_jobs_must_be_a_positive_number(capsys):
    assert cli.main(["--jobs", "0"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "build.py: error: argument --jobs: expected a whole number of at least 1, got '0'"
    )


@pytest.mark.usefixtures("lint_in_this_process")
def test_a_deployer_policy_cfn_lint_refuses_fails_the_build_and_writes_nothing(
    committed_copy, monkeypatch, capsys
):
    """The deployer policy is linted beside its template: an action IAM does not have is a finding."""
    import generator.deployer

    real = generator.deployer.deployer_policy

    def with_a_misspelt_action(env, template):
        document = real(env, template)
        document["Statement"][0]["Action"].append("kms:PutKeyPolicyy")
        return document

    monkeypatch.setattr(generator.deployer, "deployer_policy", with_a_misspelt_action)
    before = snapshot(committed_copy)
    assert (
        cli.main(["--no-cache", "--env", "dev", "--output-dir", str(committed_copy)])
        == 1
    )
    err = capsys.readouterr().err
    assert "dev: dev deployer policy: cfn-lint W3037" in err and "putkeypolicyy" in err
    assert snapshot(committed_copy) == before
