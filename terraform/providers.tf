provider "aws" {
  region = var.region

  # Every resource carries who owns it and where it comes from, for billing and clean-up.
  default_tags {
    tags = merge(var.tags, {
      Project   = var.name
      ManagedBy = "terraform"
    })
  }
}
