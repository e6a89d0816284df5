# flask-multitier on AWS, read top to bottom:
#   1. a network over two AZs   2. keys, audit and firewalls   3. a way in (bastion)
#   4. nginx load balancers     5. app instances                6. PostgreSQL   7. Redis
#   (app_scaling = "asg": 4 and 5 become an ALB and an Auto Scaling group, modules/app_scaling)
# Ansible (ansible/site.yml) then configures the instances; `python -m deploy up` runs both steps.

locals {
  ami_id = var.ami_id != null ? var.ami_id : data.aws_ami.debian[0].id

  db_on_ec2    = var.database_mode == "ec2"
  cache_on_ec2 = var.cache_mode == "ec2"
  asg          = var.app_scaling == "asg"
}

# Debian 12 from Debian's own AWS account, unless an AMI is pinned.
data "aws_ami" "debian" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["136693071363"]

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
}

# 1. Network: public, app and data subnets in each AZ; NAT for the private tiers' egress.
module "network" {
  source = "./modules/network"

  name             = var.name
  vpc_cidr         = var.vpc_cidr
  az_count         = var.az_count
  nat_gateway_mode = var.nat_gateway_mode
}

# 2. Security: one KMS key, VPC flow logs, the instance role and a security group per tier.
module "security" {
  source = "./modules/security"

  name                    = var.name
  vpc_id                  = module.network.vpc_id
  admin_cidrs             = var.admin_cidrs
  app_port                = var.app_port
  enable_flow_logs        = var.enable_flow_logs
  flow_log_retention_days = var.flow_log_retention_days
}

# The key Ansible logs in with (the private half never leaves the operator's machine).
resource "aws_key_pair" "admin" {
  key_name   = "${var.name}-admin"
  public_key = var.ssh_public_key
}

# 3-5 and the EC2 hosts of 6-7: one compute module call per instance group, each in the subnets
# and security group of its tier. Groups the mode does not use have a count of 0.
#   bastion: the only host that accepts SSH from outside, and only from admin_cidrs
#   lb:      nginx on EC2 with Elastic IPs (the Ansible nginx role configures them)
#   app:     N gunicorn instances spread over the AZs' private app subnets
#   db:      PostgreSQL on EC2 for the Ansible role (database_mode = "ec2"; else RDS, below)
#   cache:   Redis on EC2 for the Ansible role (cache_mode = "ec2"; else ElastiCache, below)
locals {
  instance_groups = {
    bastion = { count = 1, type = var.bastion_instance_type, subnets = "public", volume_gb = null }
    lb      = { count = local.asg ? 0 : var.lb_instance_count, type = var.lb_instance_type, subnets = "public", volume_gb = null }
    app     = { count = local.asg ? 0 : var.app_instance_count, type = var.app_instance_type, subnets = "app", volume_gb = null }
    db      = { count = local.db_on_ec2 ? 1 : 0, type = var.db_host_instance_type, subnets = "data", volume_gb = var.db_host_volume_size_gb }
    cache   = { count = local.cache_on_ec2 ? 1 : 0, type = var.cache_host_instance_type, subnets = "data", volume_gb = null }
  }

  # Shortcuts for the groups the rest of the configuration reads.
  lb         = module.instances["lb"]
  db_host    = module.instances["db"]
  cache_host = module.instances["cache"]
}

module "instances" {
  source   = "./modules/compute"
  for_each = local.instance_groups

  name                 = var.name
  role                 = each.key
  instance_count       = each.value.count
  public               = each.value.subnets == "public"
  ami_id               = local.ami_id
  instance_type        = each.value.type
  root_volume_size_gb  = each.value.volume_gb
  subnet_ids           = module.network.subnet_ids[each.value.subnets]
  security_group_ids   = [module.security.security_group_ids[each.key]]
  key_name             = aws_key_pair.admin.key_name
  iam_instance_profile = module.security.instance_profile_name
  kms_key_arn          = module.security.kms_key_arn
  detailed_monitoring  = var.detailed_monitoring
}

# The groups were five module calls before; these keep their instances in the state.
moved {
  from = module.bastion
  to   = module.instances["bastion"]
}

moved {
  from = module.lb
  to   = module.instances["lb"]
}

moved {
  from = module.app
  to   = module.instances["app"]
}

moved {
  from = module.db_host
  to   = module.instances["db"]
}

moved {
  from = module.cache_host
  to   = module.instances["cache"]
}

# The site's name points at the load balancers when Terraform manages its zone; else the
# dns_records output says what to create by hand. ACME's HTTP-01 check needs it before Ansible runs.
# (In the asg mode the zone holds an alias to the ALB instead: modules/app_scaling.)
resource "aws_route53_record" "site" {
  # checkov:skip=CKV2_AWS_23:The records are the load balancers' Elastic IPs (module.instances["lb"]); checkov does not follow a for_each module's outputs.
  count = var.route53_zone_id != null && !local.asg ? 1 : 0

  zone_id = var.route53_zone_id
  name    = var.domain
  type    = "A"
  ttl     = 300
  records = local.lb.public_ips

  lifecycle {
    precondition {
      condition     = var.domain != ""
      error_message = "route53_zone_id is set but domain is empty: name the record to create."
    }
  }
}

# 6. PostgreSQL: RDS (database_mode = "managed") or one EC2 instance for the Ansible role ("ec2").
module "database" {
  source = "./modules/database"
  count  = local.db_on_ec2 ? 0 : 1

  name                   = var.name
  subnet_ids             = module.network.subnet_ids.data
  security_group_ids     = [module.security.security_group_ids.db]
  kms_key_arn            = module.security.kms_key_arn
  engine_version         = var.db_engine_version
  instance_class         = var.db_instance_class
  database_name          = var.db_name
  master_username        = var.db_username
  master_password        = var.db_master_password
  manage_master_password = var.db_manage_master_password
  multi_az               = var.db_multi_az
  deletion_protection    = var.db_deletion_protection
  skip_final_snapshot    = var.db_skip_final_snapshot

  monitoring_interval_seconds = var.db_monitoring_interval
}

# 7. Redis: ElastiCache (cache_mode = "managed") or one EC2 instance for the Ansible role ("ec2").
module "cache" {
  source = "./modules/cache"
  count  = local.cache_on_ec2 ? 0 : 1

  name               = var.name
  subnet_ids         = module.network.subnet_ids.data
  security_group_ids = [module.security.security_group_ids.cache]
  kms_key_arn        = module.security.kms_key_arn
  auth_token         = var.cache_auth_token

  nodes = {
    node_type = var.cache_node_type
    replicas  = var.cache_replicas
  }
}

# 4+5 in the elastic mode: ALB with HTTPS (ACM) in front of an Auto Scaling group of app instances
# that set themselves up at boot from a release in S3 and settings in SSM Parameter Store.
module "app_scaling" {
  source = "./modules/app_scaling"
  count  = local.asg ? 1 : 0

  name                  = var.name
  vpc_id                = module.network.vpc_id
  public_subnet_ids     = module.network.subnet_ids.public
  app_subnet_ids        = module.network.subnet_ids.app
  app_security_group_id = module.security.security_group_ids.app
  ami_id                = local.ami_id
  instance_type         = var.app_instance_type
  kms_key_arn           = module.security.kms_key_arn
  assume_role_policy    = module.security.instance_assume_role_policy
  detailed_monitoring   = var.detailed_monitoring

  scaling = {
    min_size                     = var.asg_min_size
    desired_capacity             = var.asg_desired_capacity
    max_size                     = var.asg_max_size
    target_requests_per_instance = var.asg_target_requests_per_instance
    min_healthy_percentage       = var.asg_min_healthy_percentage
    instance_warmup_seconds      = var.asg_instance_warmup_seconds
  }

  domain_name                  = var.domain
  route53_zone_id              = var.route53_zone_id
  certificate_arn              = var.asg_certificate_arn
  deletion_protection          = var.alb_deletion_protection
  access_logs_bucket           = var.alb_access_logs_bucket
  release_bucket_force_destroy = var.release_bucket_force_destroy

  # RDS and ElastiCache only (the app_scaling variable refuses the ec2 modes here). The
  # RDS-generated password is read from Secrets Manager at boot; SECRET_KEY and ADMIN_TOKEN are
  # SecureStrings under <ssm_prefix>/secret/ that `python -m deploy` writes, not Terraform.
  db_secret_arn = module.database[0].master_user_secret_arn
  app_environment = merge({
    DB_HOST         = module.database[0].address
    DB_PORT         = tostring(module.database[0].port)
    DB_NAME         = var.db_name
    DB_USER         = var.db_username
    REDIS_HOST      = module.cache[0].address
    REDIS_PORT      = tostring(module.cache[0].port)
    REDIS_TLS       = tostring(module.cache[0].tls)
    PUBLIC_BASE_URL = "https://${var.domain}"
    ALLOWED_HOSTS   = var.domain
    # nginx takes the client address from X-Forwarded-For only when the ALB (in the VPC) sent it.
    VPC_CIDR = module.network.vpc_cidr
    }, var.db_manage_master_password ? {
    # Not secret itself: the instance role may read this one secret (modules/app_scaling).
    DB_SECRET_ARN = module.database[0].master_user_secret_arn
  } : {})
}
