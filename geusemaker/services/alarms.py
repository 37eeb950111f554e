"""CloudWatch alarms of a stack: the one that moves a spot stack to on-demand when spot capacity is gone."""

from __future__ import annotations

from collections.abc import Sequence

from geusemaker.models.replacement import NO_SPOT_MINUTES
from geusemaker.models.tags import owned, tag_list
from geusemaker.services.aws import AwsClients, ignore_missing, translate_errors

#: what the group publishes once metrics collection is on (1-minute granularity, free)
DESIRED_METRIC = "GroupDesiredCapacity"
IN_SERVICE_METRIC = "GroupInServiceInstances"
#: the metrics the no-spot alarm needs collected on the spot group
NO_SPOT_METRICS = (DESIRED_METRIC, IN_SERVICE_METRIC)
#: the no-spot alarm's expression: instances the group wants and does not have
MISSING_EXPRESSION = "desired - inservice"


class AlarmService:
    """Creates, switches and deletes one region's alarms (tagged at creation)."""

    def __init__(self, clients: AwsClients, region: str) -> None:
        self._cw = clients.client("cloudwatch", region)

    def put_no_spot_alarm(
        self, name: str, group: str, actions: Sequence[str], deployment: str, user_tags: dict[str, str]
    ) -> None:
        """ALARM when `group` has wanted an instance it did not have for `NO_SPOT_MINUTES` minutes; then run `actions`.

        Desired minus in service: a group scaled to zero (stop, idle guard, deadline) wants nothing and never
        breaches, so a stopped stack cannot fall back nor loop; missing data (no metrics yet) is not breaching.
        """
        dimensions = [{"Name": "AutoScalingGroupName", "Value": group}]

        def metric(metric_id: str, metric_name: str, stat: str) -> dict[str, object]:
            return {
                "Id": metric_id,
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/AutoScaling", "MetricName": metric_name, "Dimensions": dimensions},
                    "Period": 60,
                    "Stat": stat,
                },
                "ReturnData": False,
            }

        with translate_errors("cloudwatch:PutMetricAlarm"):
            self._cw.put_metric_alarm(
                AlarmName=name,
                AlarmDescription=f"GeuseMaker {deployment}: the spot group has wanted an instance it could not "
                f"launch for {NO_SPOT_MINUTES} minutes; the on-demand group takes over",
                Metrics=[
                    {
                        "Id": "missing",
                        "Expression": MISSING_EXPRESSION,
                        "Label": "instances wanted, not in service",
                        "ReturnData": True,
                    },
                    # the least it wanted against the most it had, each minute: a breach is a whole minute short
                    metric("desired", DESIRED_METRIC, "Minimum"),
                    metric("inservice", IN_SERVICE_METRIC, "Maximum"),
                ],
                EvaluationPeriods=NO_SPOT_MINUTES,
                DatapointsToAlarm=NO_SPOT_MINUTES,
                Threshold=1.0,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData="notBreaching",
                AlarmActions=list(actions),
                ActionsEnabled=True,
                Tags=tag_list(deployment, "alarm", user_tags),
            )

    def set_actions(self, name: str, enabled: bool) -> None:
        """Enable (a running stack) or disable (a stopped one: it must not fall back) the alarm's actions."""
        operation = "enable_alarm_actions" if enabled else "disable_alarm_actions"
        with translate_errors(f"cloudwatch:{'Enable' if enabled else 'Disable'}AlarmActions"):
            getattr(self._cw, operation)(AlarmNames=[name])

    def alarm(self, name: str) -> dict[str, object] | None:
        """The alarm (state, actions, whether they are enabled); None when it does not exist."""
        with translate_errors("cloudwatch:DescribeAlarms"):
            alarms = self._cw.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
        return dict(alarms[0]) if alarms else None

    def set_state(self, name: str, state: str, reason: str) -> None:
        with translate_errors("cloudwatch:SetAlarmState"):
            self._cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)

    def delete(self, name: str) -> None:
        """Delete the alarm; one already gone counts as deleted (DeleteAlarms ignores unknown names)."""
        ignore_missing("cloudwatch:DeleteAlarms", lambda: self._cw.delete_alarms(AlarmNames=[name]))

    def find(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """Alarms named for `deployment` whose tags say they are its (and `stack_id`'s, when given)."""
        with translate_errors("cloudwatch:DescribeAlarms"):
            pages = self._cw.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=f"gm-{deployment}-", AlarmTypes=["MetricAlarm"]
            )
            alarms = [a for page in pages for a in page["MetricAlarms"]]
            found = []
            for alarm in alarms:
                tags = self._cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
                if owned(tags, deployment, stack_id):
                    found.append(str(alarm["AlarmName"]))
        return found
