# name, and the two AZs RDS needs (az_count, hence subnet_ids), are checked once, where the
# operator sets them: in the root module's variables.tf (this module's only caller).

variable "name" {
  description = "Prefix for every resource name."
  type        = string
}

variable "subnet_ids" {
  description = "Private data subnets (at least two AZs, an RDS requirement)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the database (the db tier's group)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the generated password's secret."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL version (major, or major.minor); the parameter group family follows the major."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^(1[3-9])(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be a PostgreSQL version from 13 on, e.g. \"16\" or \"16.4\"."
  }
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class such as db.t4g.micro."
  }
}

variable "database_name" {
  description = "Database created for the app."
  type        = string
  default     = "flaskmt"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must start with a letter and hold only lowercase letters, digits and underscores (max 63)."
  }
}

variable "master_username" {
  description = "Master user name."
  type        = string
  default     = "flaskmt"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.master_username)) && !contains(["postgres", "admin", "rdsadmin"], var.master_username)
    error_message = "master_username must be a lowercase identifier and not a name RDS reserves (postgres, admin, rdsadmin)."
  }
}

variable "manage_master_password" {
  description = "Let RDS generate the master password and keep it in Secrets Manager (false: pass master_password)."
  type        = bool
  default     = true
}

variable "master_password" {
  description = "Master password when manage_master_password = false. Ephemeral: never stored in state."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.master_password == null || (length(coalesce(var.master_password, "x")) >= 16 && !can(regex("[/@\" ]", coalesce(var.master_password, "x"))))
    error_message = "master_password must be at least 16 characters without '/', '@', '\"' or spaces (RDS rules)."
  }
}

variable "master_password_version" {
  description = "Bump to send a new master_password (write-only values are not compared)."
  type        = number
  default     = 1
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 65536
    error_message = "allocated_storage_gb must be between 20 and 65536 (gp3 limits)."
  }
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 100
}

variable "multi_az" {
  description = "Keep a synchronous standby in a second AZ (doubles the cost; production wants it)."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the database (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Delete without a final snapshot (only for throwaway environments)."
  type        = bool
  default     = false
}

variable "apply_immediately" {
  description = "Apply changes now rather than in the next maintenance window."
  type        = bool
  default     = false
}

variable "slow_query_ms" {
  description = "Statements slower than this are logged (log_min_duration_statement)."
  type        = number
  default     = 500

  validation {
    condition     = var.slow_query_ms >= -1
    error_message = "slow_query_ms must be -1 (off) or a number of milliseconds."
  }
}

variable "monitoring_interval_seconds" {
  description = "Enhanced monitoring interval (0 turns it off)."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval_seconds)
    error_message = "monitoring_interval_seconds must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
