# name is checked once, where the operator sets it:
# in the root module's variables.tf (this module's only caller).

variable "name" {
  description = "Prefix for every resource name."
  type        = string
}

variable "subnet_ids" {
  description = "Private data subnets."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids must list at least one subnet."
  }
}

variable "security_group_ids" {
  description = "Security groups of the cache (the cache tier's group)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest."
  type        = string
}

variable "nodes" {
  description = "The replication group's nodes: Redis engine_version (6.x or 7.x), parameter_group_name (null picks the engine's default, default.redis7 for 7.x), node_type, and replicas in other AZs (Multi-AZ failover needs at least one; for one cheap node use cache_mode = \"ec2\")."
  type = object({
    engine_version       = optional(string, "7.1")
    parameter_group_name = optional(string)
    node_type            = optional(string, "cache.t4g.micro")
    replicas             = optional(number, 1)
  })
  default = {}

  validation {
    condition     = can(regex("^[67]\\.[0-9]+$", var.nodes.engine_version))
    error_message = "engine_version must be a Redis 6.x or 7.x version such as \"7.1\"."
  }

  validation {
    condition     = startswith(var.nodes.node_type, "cache.")
    error_message = "node_type must be an ElastiCache node type such as cache.t4g.micro."
  }

  validation {
    condition     = var.nodes.replicas >= 1 && var.nodes.replicas <= 5
    error_message = "replicas must be between 1 and 5 (automatic failover needs a replica)."
  }
}

variable "auth_token" {
  description = "Redis AUTH token (16-128 printable characters), or null for none. Sensitive."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.auth_token == null || (length(coalesce(var.auth_token, "x")) >= 16 && length(coalesce(var.auth_token, "x")) <= 128)
    error_message = "auth_token must be 16 to 128 characters."
  }
}

variable "snapshot_retention_days" {
  description = "Days of daily snapshots (0 disables them; the cache can be rebuilt from PostgreSQL)."
  type        = number
  default     = 1

  validation {
    condition     = var.snapshot_retention_days >= 0 && var.snapshot_retention_days <= 35
    error_message = "snapshot_retention_days must be between 0 and 35."
  }
}

variable "apply_immediately" {
  description = "Apply changes now rather than in the next maintenance window."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
