# Everything `python -m deploy inventory` needs to write the Ansible inventory, and nothing secret.

output "public_url" {
  description = "HTTPS URL of the app: the domain, else (fixed tier only) the first load balancer's address."
  value       = var.domain != "" ? "https://${var.domain}" : "https://${local.lb.public_ips[0]}"
}

output "tls" {
  description = "How the certificate is got: acm at the ALB in the asg mode; else nginx's, acme for the domain or self_signed from the project CA (trust its ca.pem)."
  value = {
    mode       = local.asg ? "acm" : (var.domain != "" ? "acme" : "self_signed")
    domain     = var.domain
    acme_email = var.acme_email
  }
}

output "dns_records" {
  description = "The DNS records to create for the domain (A records to the load balancers) before provisioning; empty without a domain or in the asg mode (see the app_scaling output). Terraform made them when route53_zone_id is set."
  value       = var.domain == "" || local.asg ? [] : [for ip in local.lb.public_ips : { name = var.domain, type = "A", value = ip }]
}

output "ssh_user" {
  description = "User Ansible logs in as on every instance."
  value       = var.ssh_user
}

output "bastion_public_ip" {
  description = "Public address of the bastion (the SSH jump host)."
  value       = module.instances["bastion"].public_ips[0]
}

output "lb_hosts" {
  description = "Load balancers: name => {public_ip, private_ip}."
  value = { for i, n in local.lb.names : n => {
    public_ip  = local.lb.public_ips[i]
    private_ip = local.lb.private_ips[i]
  } }
}

output "app_hosts" {
  description = "App instances: name => private_ip."
  value       = zipmap(module.instances["app"].names, module.instances["app"].private_ips)
}

output "db_hosts" {
  description = "PostgreSQL hosts on EC2: name => private_ip (empty when database_mode = \"managed\")."
  value       = zipmap(local.db_host.names, local.db_host.private_ips)
}

output "cache_hosts" {
  description = "Redis hosts on EC2: name => private_ip (empty when cache_mode = \"managed\")."
  value       = zipmap(local.cache_host.names, local.cache_host.private_ips)
}

output "app_port" {
  description = "Port gunicorn listens on."
  value       = var.app_port
}

output "database" {
  description = "How the app reaches PostgreSQL: mode, host, port, name, user, and the password's secret ARN when RDS generated it."
  # The EC2 host or RDS, chosen once; only RDS has a user and secret to report here.
  value = merge(
    { mode = var.database_mode, name = var.db_name },
    local.db_on_ec2
    ? { host = local.db_host.private_ips[0], port = 5432, username = null, secret_arn = null }
    : {
      host       = module.database[0].address
      port       = module.database[0].port
      username   = module.database[0].master_username
      secret_arn = module.database[0].master_user_secret_arn
    },
  )
}

output "cache" {
  description = "How the app reaches Redis: mode, host, port, and whether TLS is required."
  value = merge(
    { mode = var.cache_mode },
    local.cache_on_ec2
    ? { host = local.cache_host.private_ips[0], port = 6379, tls = false }
    : { host = module.cache[0].address, port = module.cache[0].port, tls = module.cache[0].tls },
  )
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "region" {
  description = "Region everything is in."
  value       = var.region
}

output "app_scaling" {
  description = "The elastic tier (app_scaling = \"asg\"): ALB name, group, target group, release bucket, SSM path and the refresh settings `python -m deploy release` uses; null in the fixed mode."
  value = local.asg ? {
    alb_dns_name            = module.app_scaling[0].alb_dns_name
    alb_zone_id             = module.app_scaling[0].alb_zone_id
    asg_name                = module.app_scaling[0].asg_name
    target_group_arn        = module.app_scaling[0].target_group_arn
    release_bucket          = module.app_scaling[0].release_bucket
    ssm_prefix              = module.app_scaling[0].ssm_prefix
    min_healthy_percentage  = var.asg_min_healthy_percentage
    instance_warmup_seconds = var.asg_instance_warmup_seconds
  } : null
}
