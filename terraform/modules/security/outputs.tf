output "kms_key_arn" {
  description = "ARN of the KMS key for data at rest."
  value       = aws_kms_key.this.arn
}

output "instance_profile_name" {
  description = "IAM instance profile every EC2 instance runs with."
  value       = aws_iam_instance_profile.instance.name
}

output "instance_role_name" {
  description = "IAM role behind the instance profile (attach policies here)."
  value       = aws_iam_role.instance.name
}

output "instance_assume_role_policy" {
  description = "Trust policy letting EC2 assume a role, for every instance role (JSON)."
  value       = data.aws_iam_policy_document.instance_assume.json
}

output "security_group_ids" {
  description = "Security group of each tier: bastion, lb, app, db, cache."
  value       = local.groups
}

output "flow_log_group" {
  description = "CloudWatch log group of the VPC flow logs (null when disabled)."
  value       = one(aws_cloudwatch_log_group.flow_logs[*].name)
}
