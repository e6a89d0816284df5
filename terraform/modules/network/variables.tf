# name, vpc_cidr, az_count and nat_gateway_mode are checked once, where the operator sets them:
# in the root module's variables.tf (this module's only caller).

variable "name" {
  description = "Prefix for every resource name (project-environment, e.g. \"flaskmt-prod\")."
  type        = string
}

variable "vpc_cidr" {
  description = "IPv4 range of the VPC; each subnet takes `subnet_newbits` more bits of it."
  type        = string
  default     = "10.20.0.0/16"
}

variable "subnet_newbits" {
  description = "Bits added to the VPC prefix for each subnet (4 on a /16 gives /20 subnets)."
  type        = number
  default     = 4

  validation {
    condition     = var.subnet_newbits >= 4 && var.subnet_newbits <= 12
    error_message = "subnet_newbits must be between 4 (12 subnets fit) and 12."
  }
}

variable "az_count" {
  description = "How many availability zones to spread over (ignored when availability_zones is set)."
  type        = number
  default     = 2
}

variable "availability_zones" {
  description = "Explicit availability zone names; empty picks the first `az_count` available ones."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= 2 && length(var.availability_zones) <= 4)
    error_message = "availability_zones must be empty or list 2 to 4 zones."
  }
}

variable "nat_gateway_mode" {
  description = "Egress for the private tiers: \"none\" (cheapest, no package installs from private hosts), \"single\" or \"per_az\"."
  type        = string
  default     = "single"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
