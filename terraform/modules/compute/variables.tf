# name and ami_id are checked once, where the operator sets them:
# in the root module's variables.tf (this module's only caller).

variable "name" {
  description = "Prefix for every resource name."
  type        = string
}

variable "role" {
  description = "What these instances are for; becomes the Role tag and the Ansible group."
  type        = string

  validation {
    condition     = contains(["bastion", "lb", "app", "db", "cache"], var.role)
    error_message = "role must be one of bastion, lb, app, db, cache."
  }
}

variable "instance_count" {
  description = "How many instances (0 turns the group off)."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 0 && var.instance_count <= 20 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number between 0 and 20."
  }
}

variable "ami_id" {
  description = "AMI to boot (Debian 12 by default in the root module)."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type, e.g. t3.small."
  type        = string
  default     = "t3.micro"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like family.size, e.g. t3.small."
  }
}

variable "subnet_ids" {
  description = "Subnets to spread the instances over, round-robin."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids must list at least one subnet."
  }
}

variable "security_group_ids" {
  description = "Security groups of the instances."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0
    error_message = "security_group_ids must list at least one group: an instance without one gets the VPC default."
  }
}

variable "key_name" {
  description = "EC2 key pair Ansible logs in with."
  type        = string
}

variable "iam_instance_profile" {
  description = "IAM instance profile name."
  type        = string
}

variable "public" {
  description = "Give each instance an Elastic IP (load balancers and bastion only)."
  type        = bool
  default     = false
}

variable "root_volume_size_gb" {
  description = "Size of the encrypted root volume in GiB (the PostgreSQL data lives here on EC2)."
  type        = number
  default     = 16
  # null (a caller with no size of its own to give) means the default.
  nullable = false

  validation {
    condition     = var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 16384
    error_message = "root_volume_size_gb must be between 8 and 16384."
  }
}

variable "detailed_monitoring" {
  description = "One-minute CloudWatch metrics (billed per instance) instead of five-minute ones."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "KMS key encrypting the root volumes."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
