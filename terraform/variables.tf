# ------------------------------------------------------------------ where and what
variable "name" {
  description = "Prefix for every resource name and the Project tag, e.g. \"flaskmt-prod\"."
  type        = string
  default     = "flaskmt"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 characters of lowercase letters, digits and hyphens, starting with a letter (RDS and ElastiCache IDs derive from it)."
  }
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "tags" {
  description = "Extra tags for every resource (Project and ManagedBy are always added)."
  type        = map(string)
  default     = {}
}

# ------------------------------------------------------------------ network
variable "vpc_cidr" {
  description = "IPv4 range of the VPC."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    condition     = can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}/(1[6-9]|2[0-4])$", var.vpc_cidr)) && can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be an IPv4 CIDR block between /16 and /24 (AWS limits), such as 10.20.0.0/16."
  }
}

variable "az_count" {
  description = "Availability zones to spread over (2 is the minimum RDS accepts)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be 2, 3 or 4: RDS subnet groups need two AZs and tiers leave room for four."
  }
}

variable "nat_gateway_mode" {
  description = "Egress for private hosts: \"none\" (no cost; private hosts cannot install packages), \"single\" or \"per_az\"."
  type        = string
  default     = "single"

  validation {
    condition     = contains(["none", "single", "per_az"], var.nat_gateway_mode)
    error_message = "nat_gateway_mode must be one of none, single, per_az."
  }
}

# ------------------------------------------------------------------ HTTPS
variable "domain" {
  description = "Public DNS name of the site, e.g. \"links.example.com\". Fixed tier: set, nginx gets a certificate for it from an ACME CA (Let's Encrypt, HTTP-01), so its A record must point at the dns_records output (or give route53_zone_id) before provisioning; empty, nginx serves a certificate from the project CA for the load balancers' addresses. app_scaling = \"asg\": required, the name of the ALB's ACM certificate."
  type        = string
  default     = ""

  validation {
    condition     = var.domain == "" || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$", var.domain))
    error_message = "domain must be a lowercase DNS name such as links.example.com (no scheme, port or path), or empty."
  }
}

variable "acme_email" {
  description = "Contact address the ACME CA writes to about expiring certificates (only with domain); empty registers without one."
  type        = string
  default     = ""

  validation {
    condition     = var.acme_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.acme_email))
    error_message = "acme_email must be an e-mail address or empty."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone holding domain; when set, Terraform creates domain's record: an A record to the load balancers (fixed tier), or an alias to the ALB that also validates its ACM certificate (asg). Null: you create the record yourself (see the dns_records output)."
  type        = string
  default     = null

  # The ID as the API gives it (up to 32 capitals and digits), without the /hostedzone/ prefix.
  validation {
    condition     = var.route53_zone_id == null || can(regex("^[A-Z0-9]{1,32}$", coalesce(var.route53_zone_id, "-")))
    error_message = "route53_zone_id must be a hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

# ------------------------------------------------------------------ access
variable "admin_cidrs" {
  description = "IPv4 ranges allowed to SSH to the bastion, e.g. [\"203.0.113.7/32\"]."
  type        = list(string)

  validation {
    condition     = length(var.admin_cidrs) > 0 && alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidrs must list at least one IPv4 CIDR, and never 0.0.0.0/0 (SSH open to the world)."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key installed for ssh_user on every instance (Ansible logs in with it)."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$", trimspace(var.ssh_public_key)))
    error_message = "ssh_public_key must be one OpenSSH public key line (ssh-ed25519 AAAA... comment)."
  }
}

variable "ssh_user" {
  description = "Login user of the AMI (\"admin\" on Debian's images)."
  type        = string
  default     = "admin"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.ssh_user))
    error_message = "ssh_user must be a valid Unix user name."
  }
}

variable "ami_id" {
  description = "AMI for every instance; null looks up the newest Debian 12 image. Ansible roles expect Debian 12."
  type        = string
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", coalesce(var.ami_id, "ami-00000000")))
    error_message = "ami_id must look like ami-0123456789abcdef0, or be null."
  }
}

variable "app_port" {
  description = "Port gunicorn listens on (nginx proxies to it)."
  type        = number
  default     = 8000

  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535
    error_message = "app_port must be an unprivileged port (1024-65535): gunicorn does not run as root."
  }
}

# ------------------------------------------------------------------ instances
variable "bastion_instance_type" {
  description = "Instance type of the bastion."
  type        = string
  default     = "t3.nano"
}

variable "lb_instance_count" {
  description = "nginx load balancer instances (one per AZ is typical; DNS lists all their IPs)."
  type        = number
  default     = 1

  validation {
    condition     = var.lb_instance_count >= 1 && var.lb_instance_count <= 4
    error_message = "lb_instance_count must be between 1 and 4."
  }
}

variable "lb_instance_type" {
  description = "Instance type of the load balancers."
  type        = string
  default     = "t3.micro"
}

variable "app_instance_count" {
  description = "App instances behind the load balancers."
  type        = number
  default     = 2

  validation {
    condition     = var.app_instance_count >= 1 && var.app_instance_count <= 20
    error_message = "app_instance_count must be between 1 and 20."
  }
}

variable "app_instance_type" {
  description = "Instance type of the app instances."
  type        = string
  default     = "t3.small"
}

# ------------------------------------------------------------------ PostgreSQL
variable "database_mode" {
  description = "\"managed\" for RDS PostgreSQL, \"ec2\" for one instance configured by the Ansible postgresql role."
  type        = string
  default     = "managed"

  validation {
    condition     = contains(["managed", "ec2"], var.database_mode)
    error_message = "database_mode must be \"managed\" or \"ec2\"."
  }
}

variable "db_engine_version" {
  description = "PostgreSQL major version for RDS."
  type        = string
  default     = "16"
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_name" {
  description = "Database the app uses (app_db_name in the Ansible app role)."
  type        = string
  default     = "flaskmt"
}

variable "db_username" {
  description = "RDS master user name; the app connects as this user (app_db_user)."
  type        = string
  default     = "flaskmt"
}

variable "db_manage_master_password" {
  description = "Let RDS generate the master password into Secrets Manager (recommended); false: pass db_master_password."
  type        = bool
  default     = true
}

variable "db_master_password" {
  description = "RDS master password when db_manage_master_password = false (as TF_VAR_db_master_password). Never stored in state."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "db_multi_az" {
  description = "RDS standby in a second AZ."
  type        = bool
  default     = true
}

variable "db_deletion_protection" {
  description = "Refuse to delete the RDS instance (set false before destroying an environment)."
  type        = bool
  default     = true
}

variable "db_skip_final_snapshot" {
  description = "Destroy RDS without a final snapshot (throwaway environments only)."
  type        = bool
  default     = false
}

variable "db_host_instance_type" {
  description = "Instance type of the PostgreSQL host when database_mode = \"ec2\"."
  type        = string
  default     = "t3.small"
}

variable "db_host_volume_size_gb" {
  description = "Root volume of the PostgreSQL host (holds the data) when database_mode = \"ec2\"."
  type        = number
  default     = 30
}

# ------------------------------------------------------------------ Redis
variable "cache_mode" {
  description = "\"managed\" for ElastiCache Redis, \"ec2\" for one instance configured by the Ansible redis role."
  type        = string
  default     = "managed"

  validation {
    condition     = contains(["managed", "ec2"], var.cache_mode)
    error_message = "cache_mode must be \"managed\" or \"ec2\"."
  }
}

variable "cache_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.micro"
}

variable "cache_replicas" {
  description = "ElastiCache read replicas (1+ enables Multi-AZ failover)."
  type        = number
  default     = 1
}

variable "cache_auth_token" {
  description = "Redis AUTH token for ElastiCache, or null. Sensitive (kept in state: use the encrypted S3 backend)."
  type        = string
  default     = null
  sensitive   = true
}

variable "cache_host_instance_type" {
  description = "Instance type of the Redis host when cache_mode = \"ec2\"."
  type        = string
  default     = "t3.micro"
}

variable "db_monitoring_interval" {
  description = "RDS enhanced monitoring interval in seconds (0 turns it off)."
  type        = number
  default     = 60
}

# ------------------------------------------------------------------ audit
variable "enable_flow_logs" {
  description = "VPC flow logs to CloudWatch Logs."
  type        = bool
  default     = true
}

variable "detailed_monitoring" {
  description = "One-minute CloudWatch metrics for every instance (billed per instance)."
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  description = "Days flow logs are kept."
  type        = number
  default     = 365
}

# ------------------------------------------------------------------ elastic app tier (app_scaling = "asg")
variable "app_scaling" {
  description = "\"fixed\": app_instance_count instances behind nginx hosts (the tutorial's path). \"asg\": an Auto Scaling group behind an ALB with HTTPS by ACM (docs/aws-scaling.md)."
  type        = string
  default     = "fixed"

  validation {
    condition     = contains(["fixed", "asg"], var.app_scaling)
    error_message = "app_scaling must be \"fixed\" or \"asg\"."
  }

  validation {
    condition     = var.app_scaling != "asg" || (var.domain != "" && (var.route53_zone_id != null || var.asg_certificate_arn != null))
    error_message = "app_scaling = \"asg\" serves HTTPS on the ALB with a certificate for domain: set domain, and route53_zone_id (a DNS-validated certificate) or asg_certificate_arn."
  }

  # Instances come and go: the database must outlive them (RDS), not live on one of them.
  validation {
    condition     = var.app_scaling != "asg" || var.database_mode == "managed"
    error_message = "app_scaling = \"asg\" needs database_mode = \"managed\" (RDS)."
  }

  # The instances set themselves up at boot; no Ansible run over SSH would configure a Redis host.
  validation {
    condition     = var.app_scaling != "asg" || var.cache_mode == "managed"
    error_message = "app_scaling = \"asg\" needs cache_mode = \"managed\" (ElastiCache): nothing configures a Redis host on EC2 in this mode."
  }

  validation {
    condition     = var.app_scaling != "asg" || (var.asg_min_size <= var.asg_desired_capacity && var.asg_desired_capacity <= var.asg_max_size && var.asg_min_size >= 1 && var.asg_max_size <= 50)
    error_message = "Auto Scaling sizes must satisfy 1 <= asg_min_size <= asg_desired_capacity <= asg_max_size <= 50."
  }
}

variable "asg_certificate_arn" {
  description = "ACM certificate (issued or imported) for domain when there is no route53_zone_id."
  type        = string
  default     = null

  validation {
    condition     = var.asg_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:", coalesce(var.asg_certificate_arn, "arn:aws:acm:")))
    error_message = "asg_certificate_arn must be an ACM certificate ARN (arn:aws:acm:...)."
  }
}

variable "asg_min_size" {
  description = "Fewest app instances the Auto Scaling group keeps."
  type        = number
  default     = 2
}

variable "asg_desired_capacity" {
  description = "App instances at creation; the scaling policy moves it afterwards."
  type        = number
  default     = 2
}

variable "asg_max_size" {
  description = "Most app instances the group may launch (the cost ceiling)."
  type        = number
  default     = 6
}

variable "asg_target_requests_per_instance" {
  description = "Target tracking: ALB requests per instance per minute the group steers towards."
  type        = number
  default     = 1000
}

variable "asg_min_healthy_percentage" {
  description = "Share of the group that stays in service while a release rolls (instance refresh)."
  type        = number
  default     = 90
}

variable "asg_instance_warmup_seconds" {
  description = "Seconds a new instance needs to boot, install the release and pass /readyz."
  type        = number
  default     = 300
}

variable "alb_deletion_protection" {
  description = "Refuse to delete the ALB (set false before destroying an environment)."
  type        = bool
  default     = true
}

variable "alb_access_logs_bucket" {
  description = "S3 bucket for the ALB's access logs (its policy must admit the region's ELB account), or null."
  type        = string
  default     = null
}

variable "release_bucket_force_destroy" {
  description = "Let destroy empty the release bucket (throwaway environments only)."
  type        = bool
  default     = false
}
