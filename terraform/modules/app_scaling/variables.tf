# ------------------------------------------------------------------ where
variable "name" {
  description = "Prefix for every resource name."
  type        = string
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_id" {
  description = "VPC the load balancer and the instances live in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets of the ALB (at least two AZs)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "public_subnet_ids must list at least two subnets (an ALB spans two AZs or more)."
  }
}

variable "app_subnet_ids" {
  description = "Private subnets the Auto Scaling group launches into."
  type        = list(string)
}

variable "app_security_group_id" {
  description = "The app tier's security group (PostgreSQL and Redis accept connections from it)."
  type        = string
}

# ------------------------------------------------------------------ instances
variable "ami_id" {
  description = "AMI of the app instances (Debian 12: the Ansible roles expect it)."
  type        = string
}

variable "instance_type" {
  description = "Instance type of the app instances."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the root volumes, the release bucket and the SecureString parameters."
  type        = string
}

variable "assume_role_policy" {
  description = "Trust policy of the instances' role (JSON): EC2 may assume it. Every instance role shares one (modules/security)."
  type        = string
}

variable "root_volume_size_gb" {
  description = "Root volume size of each instance."
  type        = number
  default     = 16
}

variable "detailed_monitoring" {
  description = "One-minute CloudWatch metrics for every instance."
  type        = bool
  default     = true
}

# ------------------------------------------------------------------ scaling
# The root checks the sizes (1 <= min_size <= desired_capacity <= max_size <= 50), where the
# operator sets them, and holds the defaults.
variable "scaling" {
  description = "Group sizes (min_size, desired_capacity: the scaling policy moves it afterwards, max_size: the cost ceiling), target tracking (target_requests_per_instance: ALB requests per instance per minute) and instance refresh (min_healthy_percentage in service while a release rolls; instance_warmup_seconds to boot, fetch the release and pass /readyz)."
  type = object({
    min_size                     = number
    desired_capacity             = number
    max_size                     = number
    target_requests_per_instance = number
    min_healthy_percentage       = number
    instance_warmup_seconds      = number
  })

  validation {
    condition     = var.scaling.target_requests_per_instance > 0
    error_message = "target_requests_per_instance must be positive."
  }

  validation {
    condition     = var.scaling.min_healthy_percentage >= 0 && var.scaling.min_healthy_percentage <= 100
    error_message = "min_healthy_percentage must be between 0 and 100."
  }
}

# ------------------------------------------------------------------ load balancer and TLS
variable "domain_name" {
  description = "Name the service answers to (the certificate's name), e.g. \"links.example.com\"."
  type        = string
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone of domain_name: a DNS-validated ACM certificate is requested and domain_name gets an alias record to the ALB. Null: use certificate_arn, and point domain_name at the ALB yourself."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "ARN of an ACM certificate already issued or imported for domain_name (when no route53_zone_id)."
  type        = string
  default     = null
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener (TLS 1.2 and 1.3 only)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "deletion_protection" {
  description = "Refuse to delete the ALB (set false before destroying an environment)."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "S3 bucket for the ALB's access logs (its policy must let ELB write), or null for none."
  type        = string
  default     = null
}

# ------------------------------------------------------------------ the app's settings
variable "release_bucket_force_destroy" {
  description = "Let destroy empty the release bucket (throwaway environments only)."
  type        = bool
  default     = false
}

variable "app_environment" {
  description = "Non-secret settings written to the instances' boot configuration (database and Redis endpoints, names)."
  type        = map(string)
  default     = {}
}

variable "db_secret_arn" {
  description = "Secrets Manager ARN of the RDS-managed master password the instances read at boot, or null."
  type        = string
  default     = null
}
