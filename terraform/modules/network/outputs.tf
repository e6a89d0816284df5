output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "IPv4 range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Availability zones the subnets are in, in subnet order."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "Public subnets (load balancers, bastion), one per AZ."
  value       = aws_subnet.public[*].id
}

output "app_subnet_ids" {
  description = "Private subnets for the app instances, one per AZ."
  value       = aws_subnet.app[*].id
}

output "data_subnet_ids" {
  description = "Private subnets for PostgreSQL and Redis, one per AZ."
  value       = aws_subnet.data[*].id
}

output "nat_public_ips" {
  description = "Public addresses private hosts leave through (allow-list them upstream if needed)."
  value       = aws_eip.nat[*].public_ip
}
