terraform {
  # The Terraform version of the whole configuration (modules/ leave it to this file). 1.11:
  # ephemeral variables and write-only arguments keep the DB password out of the state.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
