"""Auto Scaling in the sandbox as AWS answers it: PutScalingPolicy returns `PolicyARN`; a deleted group's
scaling policies go with it; attaching past the group's maximum size is refused; terminating an instance
that is in no group is a ValidationError; a group whose Launch process is suspended launches nothing (the
sandbox's stand-in for spot capacity being gone); and an instance a group launches from a template with a
root device has one root volume, not moto's default one besides (which would outlive it).

Imports moto: used by the sandbox server process and by tests that run moto in-process.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Apply the patches (called once per process by `patches.install`)."""
    from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult

    original_put = AutoScalingResponse.put_scaling_policy
    original_replace = FakeAutoScalingGroup.replace_autoscaling_group_instances
    original_delete = AutoScalingBackend.delete_auto_scaling_group
    original_terminate = AutoScalingBackend.terminate_instance
    original_attach = AutoScalingBackend.attach_instances

    def put_scaling_policy(self: Any) -> Any:
        answer = original_put(self)
        result = answer.result if isinstance(answer, ActionResult) else None
        if isinstance(result, dict) and "PolicyArn" in result:
            return ActionResult({"PolicyARN": result["PolicyArn"]})
        return answer

    def replace_instances(self: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
        if any(p.get("ProcessName") == "Launch" for p in self.suspended_processes):
            return
        before = {state.instance.id for state in self.instance_states}
        original_replace(self, count_needed, propagated_tags)
        for state in self.instance_states:
            if state.instance.id not in before:
                _drop_shadowed_volumes(self.ec2_backend, state.instance)

    def delete_group(self: Any, group_name: str) -> None:
        original_delete(self, group_name)
        for name in [n for n, p in self.policies.items() if p.auto_scaling_group_name == group_name]:
            del self.policies[name]

    def terminate_instance(self: Any, instance_id: str, should_decrement: bool) -> Any:
        from moto.autoscaling.exceptions import ValidationError

        if not any(s.instance.id == instance_id for g in self.autoscaling_groups.values() for s in g.instance_states):
            raise ValidationError(f"Instance Id not found - No managed instance found for instance ID: {instance_id}")
        return original_terminate(self, instance_id, should_decrement)

    def attach_instances(self: Any, group_name: str, instance_ids: list[str]) -> None:
        from moto.autoscaling.exceptions import ValidationError

        group = self.autoscaling_groups[group_name]
        if (group.desired_capacity or 0) + len(instance_ids) > (group.max_size or 0):
            raise ValidationError(
                "The instances cannot be attached: the desired capacity would exceed the group's maximum size"
            )
        original_attach(self, group_name, instance_ids)

    AutoScalingBackend.attach_instances = attach_instances  # type: ignore[method-assign]
    AutoScalingBackend.terminate_instance = terminate_instance  # type: ignore[method-assign]
    AutoScalingBackend.delete_auto_scaling_group = delete_group  # type: ignore[method-assign]
    AutoScalingResponse.put_scaling_policy = put_scaling_policy  # type: ignore[method-assign]
    FakeAutoScalingGroup.replace_autoscaling_group_instances = replace_instances  # type: ignore[method-assign]


def _drop_shadowed_volumes(ec2: Any, instance: Any) -> None:
    """Delete the volumes attached to `instance` that its device mapping no longer names (moto's default root)."""
    mapped = {device.volume_id for device in instance.block_device_mapping.values()}
    for volume in list(ec2.volumes.values()):
        attachment = volume.attachment
        if attachment is not None and attachment.instance is instance and volume.id not in mapped:
            volume.attachment = None
            ec2.volumes.pop(volume.id, None)
