output "alb_dns_name" {
  description = "DNS name of the ALB (point domain_name at it: a Route 53 alias or a CNAME)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the ALB, for a Route 53 alias record."
  value       = aws_lb.this.zone_id
}

output "asg_name" {
  description = "Name of the Auto Scaling group (instance refreshes start here)."
  value       = aws_autoscaling_group.app.name
}

output "release_bucket" {
  description = "S3 bucket holding release artifacts under releases/."
  value       = aws_s3_bucket.releases.id
}

output "ssm_prefix" {
  description = "SSM path the instances read: release, env/<NAME>, secret/<NAME>."
  value       = local.ssm_prefix
}

output "certificate_arn" {
  description = "ACM certificate on the HTTPS listener."
  value       = local.certificate_arn
}

output "target_group_arn" {
  description = "Target group the instances register in (its health check is /readyz)."
  value       = aws_lb_target_group.app.arn
}
