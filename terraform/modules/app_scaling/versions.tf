terraform {
  # Which Terraform runs this is the root module's to require (terraform/versions.tf): a module
  # here is only ever called from there. Terraform wants each module's providers declared.
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 6.0"
    }
  }
}
