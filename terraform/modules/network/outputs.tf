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

output "subnet_ids" {
  description = "Subnets by tier, one per AZ: public (load balancers, bastion), app (the app instances, private), data (PostgreSQL and Redis, private)."
  value = {
    public = aws_subnet.public[*].id
    app    = aws_subnet.app[*].id
    data   = aws_subnet.data[*].id
  }
}

output "nat_public_ips" {
  description = "Public addresses private hosts leave through (allow-list them upstream if needed)."
  value       = aws_eip.nat[*].public_ip
}
