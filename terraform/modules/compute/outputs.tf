output "instance_ids" {
  description = "Instance IDs, in creation order."
  value       = aws_instance.this[*].id
}

output "private_ips" {
  description = "Private IPv4 addresses, in creation order."
  value       = aws_instance.this[*].private_ip
}

output "public_ips" {
  description = "Elastic IPs (empty unless public = true)."
  value       = aws_eip.this[*].public_ip
}

output "names" {
  description = "Name tags, in creation order (the Ansible host names)."
  value       = [for i in aws_instance.this : i.tags["Name"]]
}
