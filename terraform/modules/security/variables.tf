# name, admin_cidrs and app_port are checked once, where the operator sets them:
# in the root module's variables.tf (this module's only caller).

variable "name" {
  description = "Prefix for every resource name."
  type        = string
}

variable "vpc_id" {
  description = "VPC the security groups and flow logs belong to."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "admin_cidrs" {
  description = "IPv4 ranges allowed to SSH to the bastion (your office or VPN egress, e.g. 203.0.113.7/32)."
  type        = list(string)
}

variable "app_port" {
  description = "Port gunicorn listens on in the app instances (nginx proxies to it)."
  type        = number
  default     = 8000
}

variable "enable_flow_logs" {
  description = "Record every accepted and rejected connection in the VPC to CloudWatch Logs."
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  description = "How long flow logs are kept (CloudWatch allowed values; 365 is a common audit minimum)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be one of CloudWatch's allowed values (1, 3, 5, 7, 14, 30, ..., 365, ..., 3653)."
  }
}

variable "kms_deletion_window_days" {
  description = "Days a deleted KMS key can still be recovered (everything encrypted with it is lost after)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30 (AWS limits)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
