// The trading platform's credential stacks written as an AWS CDK app: the
// same three stacks (dev, staging, prod) and the same resources each as
// templates/*/secrets.json, so that `cdk synth` can be timed side by side
// with build.py (python3 tasks.py bench). Plain JavaScript, not TypeScript:
// no compile step, the fastest way CDK can run, so the comparison flatters CDK
// rather than us. Not deployed; benchmark only.
//
// Idiomatic CDK: L2 constructs where one makes the same resource (key and
// alias, secret, topic, queue, rule, managed policy), escape hatches where
// the template needs what an L2 does not offer (rule State, conditions).
// TRADING_CDK_SECRETS=N adds N synthetic secrets to one stack, for the
// scaling table (bench/scaling.py builds the same on our side).

const cdk = require("aws-cdk-lib");
const cloudwatch = require("aws-cdk-lib/aws-cloudwatch");
const actions = require("aws-cdk-lib/aws-cloudwatch-actions");
const events = require("aws-cdk-lib/aws-events");
const targets = require("aws-cdk-lib/aws-events-targets");
const iam = require("aws-cdk-lib/aws-iam");
const kms = require("aws-cdk-lib/aws-kms");
const secretsmanager = require("aws-cdk-lib/aws-secretsmanager");
const sns = require("aws-cdk-lib/aws-sns");
const sqs = require("aws-cdk-lib/aws-sqs");

const ENVIRONMENTS = {
  dev: { classification: "internal", guarded: false, placeholders: true },
  staging: { classification: "confidential", guarded: true, placeholders: true },
  prod: { classification: "restricted", guarded: true, placeholders: false },
};

// The generator's catalogue, as bench/cdk_app.py hands it over (TRADING_CDK_CATALOGUE): one entry per
// integration, with its rotation interval and placeholder per environment. The app makes what it says,
// so a new catalogue entry needs no edit here.
const CATALOGUE = JSON.parse(process.env.TRADING_CDK_CATALOGUE || "[]");
if (CATALOGUE.length === 0) {
  throw new Error("TRADING_CDK_CATALOGUE is not set: run the benchmark through python3 tasks.py bench");
}

function synthetic(count) {
  return Array.from({ length: count }, (_, n) => {
    const number = String(n).padStart(3, "0");
    return {
      id: `Synthetic${number}Credentials`,
      suffix: `synthetic-${number}`,
      integration: `Synthetic${number}`,
      description: `Synthetic benchmark credential ${n}`,
      placeholder: { dev: { apiKey: `PLACEHOLDER-synthetic-${number}-not-real` }, staging: { apiKey: `PLACEHOLDER-synthetic-${number}-not-real` } },
      rotationDays: { dev: 180, staging: 90, prod: 90 },
    };
  });
}

const MUTATING_CALLS = [
  "CancelRotateSecret", "DeleteResourcePolicy", "DeleteSecret", "PutResourcePolicy",
  "PutSecretValue", "RemoveRegionsFromReplication", "ReplicateSecretToRegions",
  "RestoreSecret", "RotateSecret", "StopReplicationToReplica", "TagResource",
  "UntagResource", "UpdateSecret", "UpdateSecretVersionStage",
];

class SecretsStack extends cdk.Stack {
  constructor(scope, envName, settings, catalogue) {
    super(scope, `trading-${envName}-secrets`, { analyticsReporting: false });
    const prefix = `trading/${envName}/`;
    const retention = settings.guarded
      ? cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
      : cdk.RemovalPolicy.DESTROY;
    const tags = {
      CostCenter: `trading-${envName}`,
      DataClassification: settings.classification,
      Environment: envName,
      ManagedBy: "trading-secrets-generator",
      Owner: "platform-engineering",
      Project: "trading",
    };
    for (const [key, value] of Object.entries(tags)) cdk.Tags.of(this).add(key, value);

    // Role names, matched under any path in any account (the outside-account deny pins the account).
    const roleName = "[A-Za-z0-9+=.@_-]{1,64}\\*?";
    const roleList = `^${roleName}(,${roleName})*$`;
    const rolePatterns = (names) => cdk.Fn.join("", [
      "arn:*:iam::*:role*/", cdk.Fn.join(",arn:*:iam::*:role*/", cdk.Fn.split(",", names)),
    ]);
    const alertEmail = new cdk.CfnParameter(this, "AlertEmail", {
      type: "String", default: "", allowedPattern: "^$|^[^@\\s]+@[^@\\s.]+(\\.[^@\\s.]+)+$",
      description: "Email address subscribed to secret alerts. Empty: no subscription.",
    });
    const readers = new cdk.CfnParameter(this, "ReaderRoleNames", {
      type: "String", default: "", allowedPattern: `^$|${roleList}`,
      description: "IAM role names allowed to read the secret values (comma separated).",
    });
    const operators = new cdk.CfnParameter(this, "OperatorRoleNames", {
      type: "String", default: "", allowedPattern: `^$|${roleList}`,
      description: "IAM role names of the people who run trading-secrets.",
    });
    const deployers = new cdk.CfnParameter(this, "DeployerRoleNames", {
      type: "String", allowedPattern: settings.guarded ? roleList : `^$|${roleList}`,
      ...(settings.guarded ? {} : { default: "" }),
      description: "IAM role names CloudFormation acts as when it deploys this stack.",
    });
    const breakGlass = settings.guarded
      ? new cdk.CfnParameter(this, "BreakGlassRoleName", {
          type: "String", allowedPattern: "^[A-Za-z0-9+=,.@_-]{1,64}$",
          description: "Name of the IAM role that alone may delete these secrets (break glass).",
        })
      : undefined;
    const hasAlertEmail = new cdk.CfnCondition(this, "HasAlertEmail", {
      expression: cdk.Fn.conditionNot(cdk.Fn.conditionEquals(alertEmail.valueAsString, "")),
    });
    const hasReaders = new cdk.CfnCondition(this, "HasReaderAllowList", {
      expression: cdk.Fn.conditionNot(cdk.Fn.conditionEquals(readers.valueAsString, "")),
    });

    const account = new iam.AccountRootPrincipal();
    const key = new kms.Key(this, "SecretsKey", {
      description: `Encrypts the trading ${envName} credentials and their alert topic`,
      enableKeyRotation: true,
      pendingWindow: cdk.Duration.days(30),
      alias: `alias/trading-${envName}-secrets`,
      removalPolicy: retention,
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: "AllowAccountToAdministerKey",
            principals: [account],
            actions: [
              "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey",
              "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation",
              "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases",
              "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RotateKeyOnDemand",
              "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
              "kms:UpdateAlias", "kms:UpdateKeyDescription",
            ],
            resources: ["*"],
          }),
          new iam.PolicyStatement({
            sid: "AllowUseThroughSecretsManagerOnly",
            principals: [account],
            actions: [
              "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
              "kms:ReEncryptFrom", "kms:ReEncryptTo",
            ],
            resources: ["*"],
            conditions: {
              StringEquals: {
                "kms:CallerAccount": cdk.Aws.ACCOUNT_ID,
                "kms:ViaService": `secretsmanager.${cdk.Aws.REGION}.amazonaws.com`,
              },
            },
          }),
          new iam.PolicyStatement({
            sid: "AllowEventBridgeToPublishToEncryptedTopic",
            principals: [new iam.ServicePrincipal("events.amazonaws.com")],
            actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
            resources: ["*"],
          }),
        ],
      }),
    });
    new cdk.CfnOutput(this, "SecretsKeyArn", {
      value: key.keyArn, exportName: `trading-${envName}-SecretsKeyArn`,
    });

    const breakGlassArns = breakGlass
      ? [
          `arn:${cdk.Aws.PARTITION}:iam::${cdk.Aws.ACCOUNT_ID}:role/${breakGlass.valueAsString}`,
          `arn:${cdk.Aws.PARTITION}:iam::${cdk.Aws.ACCOUNT_ID}:role/*/${breakGlass.valueAsString}`,
        ]
      : [];
    for (const spec of catalogue) {
      const name = `${prefix}${spec.suffix}`;
      const secret = new secretsmanager.Secret(this, spec.id, {
        secretName: name,
        description: `${spec.description} for trading ${envName}; rotated by hand every ${spec.rotationDays[envName]} days`,
        encryptionKey: key,
        removalPolicy: retention,
        secretStringValue: settings.placeholders
          ? cdk.SecretValue.unsafePlainText(JSON.stringify(spec.placeholder[envName]))
          : undefined,
      });
      cdk.Tags.of(secret).add("Integration", spec.integration);
      cdk.Tags.of(secret).add("RotationIntervalDays", String(spec.rotationDays[envName]));
      cdk.Tags.of(secret).add("RotationPolicy", "manual");
      if (!settings.placeholders) {
        // An L2 Secret generates a value when given none; prod is created empty.
        secret.node.defaultChild.addPropertyDeletionOverride("GenerateSecretString");
      }

      const statements = [
        {
          Sid: "DenyPrincipalsOutsideAccount", Effect: "Deny", Principal: "*",
          Action: ["secretsmanager:*"], Resource: ["*"],
          Condition: { StringNotEquals: { "aws:PrincipalAccount": cdk.Aws.ACCOUNT_ID } },
        },
      ];
      if (breakGlass) {
        statements.push(
          {
            Sid: "DenyDeleteExceptBreakGlass", Effect: "Deny", Principal: "*",
            Action: ["secretsmanager:DeleteSecret"], Resource: ["*"],
            Condition: { ArnNotLike: { "aws:PrincipalArn": breakGlassArns } },
          },
          {
            Sid: "DenyPolicyChangeExceptBreakGlassAndOperators", Effect: "Deny", Principal: "*",
            Action: ["secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"],
            Resource: ["*"],
            Condition: {
              ArnNotLike: {
                "aws:PrincipalArn": cdk.Fn.split(",", cdk.Fn.join(",", [...breakGlassArns, rolePatterns(deployers.valueAsString)])),
              },
            },
          },
        );
      }
      statements.push(
        cdk.Fn.conditionIf(
          hasReaders.logicalId,
          {
            Sid: "DenyReadOutsideAllowList", Effect: "Deny", Principal: "*",
            Action: ["secretsmanager:GetSecretValue"], Resource: ["*"],
            Condition: {
              ArnNotLike: {
                "aws:PrincipalArn": cdk.Fn.split(",", cdk.Fn.join(",", [
                  rolePatterns(readers.valueAsString), rolePatterns(operators.valueAsString),
                  rolePatterns(deployers.valueAsString),
                ])),
              },
            },
          },
          cdk.Aws.NO_VALUE,
        ),
      );
      const resourcePolicy = new secretsmanager.CfnResourcePolicy(this, `${spec.id}ResourcePolicy`, {
        secretId: secret.secretArn,
        blockPublicPolicy: true,
        resourcePolicy: { Version: "2012-10-17", Statement: statements },
      });
      resourcePolicy.applyRemovalPolicy(retention);

      const reader = new iam.ManagedPolicy(this, `${spec.id}ReaderPolicy`, {
        description: `Read ${name} in this region: its value, decrypted through Secrets Manager only`,
        statements: [
          new iam.PolicyStatement({
            sid: "ReadTheSecret",
            actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            resources: [secret.secretArn],
          }),
          new iam.PolicyStatement({
            sid: "DecryptThroughSecretsManager",
            actions: ["kms:Decrypt"],
            resources: [key.keyArn],
            conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${cdk.Aws.REGION}.amazonaws.com` } },
          }),
        ],
      });
      new cdk.CfnOutput(this, `${spec.id}Arn`, {
        value: secret.secretArn, description: `ARN of ${name}`, exportName: `trading-${envName}-${spec.id}Arn`,
      });
      new cdk.CfnOutput(this, `${spec.id}Name`, {
        value: name, description: `Name of ${name}`, exportName: `trading-${envName}-${spec.id}Name`,
      });
      new cdk.CfnOutput(this, `${spec.id}ReaderPolicyArn`, {
        value: reader.managedPolicyArn, exportName: `trading-${envName}-${spec.id}ReaderPolicyArn`,
      });
    }

    // The alerting's own key: an alert about the secrets' key must not need that key.
    const alertsKey = new kms.Key(this, "AlertsKey", {
      alias: `alias/trading-${envName}-secrets-alerts`,
      enableKeyRotation: true,
      pendingWindow: cdk.Duration.days(settings.guarded ? 30 : 7),
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: "AllowAccountToAdministerKey",
            principals: [new iam.AccountRootPrincipal()],
            actions: ["kms:*"],
            resources: ["*"],
          }),
          new iam.PolicyStatement({
            sid: "AllowEventBridgeAndCloudWatchToPublishToEncryptedTopic",
            principals: [new iam.ServicePrincipal("events.amazonaws.com"), new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
            resources: ["*"],
          }),
        ],
      }),
    });
    const topic = new sns.Topic(this, "AlertTopic", {
      topicName: `trading-${envName}-secrets-alerts`,
      displayName: `trading ${envName} secrets alerts`,
      masterKey: alertsKey,
      enforceSSL: true,
    });
    const subscription = new sns.Subscription(this, "AlertEmailSubscription", {
      topic, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: alertEmail.valueAsString,
    });
    subscription.node.defaultChild.cfnOptions.condition = hasAlertEmail;
    new cdk.CfnOutput(this, "AlertTopicArn", {
      value: topic.topicArn, exportName: `trading-${envName}-AlertTopicArn`,
    });
    const deadLetters = new sqs.Queue(this, "AlertDeadLetterQueue", {
      queueName: `trading-${envName}-secrets-alerts-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: cdk.Duration.days(14),
      enforceSSL: true,
    });

    const secretIds = [
      { prefix },
      { prefix: `arn:${cdk.Aws.PARTITION}:secretsmanager:${cdk.Aws.REGION}:${cdk.Aws.ACCOUNT_ID}:secret:${prefix}` },
    ];
    const rules = [
      ["SecretChangeRule", `Any change to trading ${envName} secrets`, "ENABLED", {
        source: ["aws.secretsmanager"], detailType: ["AWS API Call via CloudTrail"],
        detail: { eventSource: ["secretsmanager.amazonaws.com"], eventName: MUTATING_CALLS, requestParameters: { secretId: secretIds } },
      }],
      ["SecretAccessDeniedRule", `Denied GetSecretValue on trading ${envName} secrets`, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", {
        source: ["aws.secretsmanager"], detailType: ["AWS API Call via CloudTrail"],
        detail: {
          eventSource: ["secretsmanager.amazonaws.com"], eventName: ["GetSecretValue"],
          errorCode: ["AccessDenied", "AccessDeniedException"], requestParameters: { secretId: secretIds },
        },
      }],
      ["PendingDeletionAccessRule", `Access to trading ${envName} secrets scheduled for deletion`, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", {
        source: ["aws.secretsmanager"], detailType: ["AWS API Call via CloudTrail"],
        detail: {
          eventSource: ["secretsmanager.amazonaws.com"], eventName: ["GetSecretValue"],
          errorCode: ["InvalidRequestException"], requestParameters: { secretId: secretIds },
        },
      }],
      ["KeyChangeRule", `Disabling, deleting or re-permissioning the key of trading ${envName} secrets`, "ENABLED", {
        source: ["aws.kms"], detailType: ["AWS API Call via CloudTrail"],
        detail: {
          eventSource: ["kms.amazonaws.com"],
          eventName: ["DisableKey", "DisableKeyRotation", "PutKeyPolicy", "ScheduleKeyDeletion"],
          resources: { ARN: [key.keyArn] },
        },
      }],
      ["SecretServiceEventRule", `Secrets Manager's own events on trading ${envName} secrets`, "ENABLED", {
        source: ["aws.secretsmanager"], detailType: ["AWS Service Event via CloudTrail"],
        detail: {
          eventSource: ["secretsmanager.amazonaws.com"],
          eventName: ["StartSecretVersionDelete", "EndSecretVersionDelete", "CancelSecretVersionDelete",
            "RotationStarted", "RotationSucceeded", "RotationFailed", "RotationAbandoned"],
        },
      }],
    ];
    const rulesMade = [];
    for (const [id, description, state, eventPattern] of rules) {
      const rule = new events.Rule(this, id, { description, eventPattern });
      rule.addTarget(new targets.SnsTopic(topic, { deadLetterQueue: deadLetters }));
      // The L2 offers enabled or disabled only; read-only events need this state.
      rule.node.defaultChild.addPropertyOverride("State", state);
      rulesMade.push([id, rule]);
    }
    // Tampering with the alerting key goes straight to the dead-letter queue, which its alarm watches.
    const alertsKeyRule = new events.Rule(this, "AlertsKeyChangeRule", {
      description: `Disabling, deleting or re-permissioning the alerting key of trading ${envName} secrets`,
      eventPattern: {
        source: ["aws.kms"], detailType: ["AWS API Call via CloudTrail"],
        detail: {
          eventSource: ["kms.amazonaws.com"],
          eventName: ["DisableKey", "DisableKeyRotation", "PutKeyPolicy", "ScheduleKeyDeletion"],
          resources: { ARN: [alertsKey.keyArn] },
        },
      },
    });
    alertsKeyRule.addTarget(new targets.SqsQueue(deadLetters));
    rulesMade.push(["AlertsKeyChangeRule", alertsKeyRule]);
    // Changes to the alert path itself, straight to the dead-letter queue; never CloudFormation's own calls,
    // nor the tool's documented steps (its user agent).
    const named = `trading-${envName}-secrets-`;
    const byTool = [{ "anything-but": { suffix: "trading-secrets/alert-path" } }];
    const alertPathRule = new events.Rule(this, "AlertPathChangeRule", {
      description: `Changes to the alert path of trading ${envName} secrets: its rules, topic, subscriptions, queue and alarms`,
      eventPattern: {
        source: ["aws.cloudwatch", "aws.events", "aws.sns", "aws.sqs"], detailType: ["AWS API Call via CloudTrail"],
        detail: {
          userIdentity: { invokedBy: [{ "anything-but": "cloudformation.amazonaws.com" }, { exists: false }] },
          $or: [
            { eventName: ["PutMetricAlarm"], requestParameters: { alarmName: [{ prefix: named }] } },
            { eventName: ["DeleteAlarms", "DisableAlarmActions"], requestParameters: { alarmNames: [{ prefix: named }] } },
            { eventName: ["DeleteRule", "DisableRule", "PutRule"], requestParameters: { name: [{ prefix: named }] } },
            { eventName: ["PutTargets", "RemoveTargets"], requestParameters: { rule: [{ prefix: named }] } },
            { eventName: ["SetSubscriptionAttributes"], requestParameters: { subscriptionArn: [{ prefix: `${topic.topicArn}:` }] } },
            { eventName: ["Unsubscribe"], requestParameters: { subscriptionArn: [{ prefix: `${topic.topicArn}:` }] }, userAgent: byTool },
            { eventName: ["AddPermission", "DeleteTopic", "RemovePermission", "SetTopicAttributes"], requestParameters: { topicArn: [topic.topicArn] } },
            { eventName: ["Subscribe"], requestParameters: { topicArn: [topic.topicArn] }, userAgent: byTool },
            { eventName: ["AddPermission", "DeleteQueue", "RemovePermission", "SetQueueAttributes"], requestParameters: { queueUrl: [{ suffix: `/${cdk.Aws.ACCOUNT_ID}/${deadLetters.queueName}` }] } },
            { eventName: ["PurgeQueue"], requestParameters: { queueUrl: [{ suffix: `/${cdk.Aws.ACCOUNT_ID}/${deadLetters.queueName}` }] }, userAgent: byTool },
          ],
        },
      },
    });
    alertPathRule.addTarget(new targets.SqsQueue(deadLetters));
    rulesMade.push(["AlertPathChangeRule", alertPathRule]);

    const alarmAction = new actions.SnsAction(topic);
    const undelivered = new cloudwatch.Alarm(this, "AlertDeadLetterQueueAlarm", {
      alarmName: `trading-${envName}-secrets-undelivered-alerts`,
      metric: deadLetters.metricApproximateNumberOfMessagesVisible({ period: cdk.Duration.minutes(5), statistic: "Maximum" }),
      threshold: 1, evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    undelivered.addAlarmAction(alarmAction);
    for (const [id, rule] of rulesMade) {
      const failed = new cloudwatch.Alarm(this, `${id}FailedInvocationsAlarm`, {
        alarmName: `trading-${envName}-secrets-${id}-failed`,
        metric: new cloudwatch.Metric({
          namespace: "AWS/Events", metricName: "FailedInvocations",
          dimensionsMap: { RuleName: rule.ruleName }, period: cdk.Duration.minutes(5), statistic: "Sum",
        }),
        threshold: 1, evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      failed.addAlarmAction(alarmAction);
    }
  }
}

const app = new cdk.App();
const syntheticCount = Number(process.env.TRADING_CDK_SECRETS || 0);
if (syntheticCount > 0) {
  new SecretsStack(app, "staging", ENVIRONMENTS.staging, synthetic(syntheticCount));
} else {
  for (const [envName, settings] of Object.entries(ENVIRONMENTS)) {
    new SecretsStack(app, envName, settings, CATALOGUE);
  }
}
app.synth();
