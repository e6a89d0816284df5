# Managed Redis (ElastiCache replication group): encrypted at rest and in transit, a replica in a
# second AZ with automatic failover. Clients connect with rediss:// (TLS).

resource "aws_elasticache_subnet_group" "this" {
  name        = "${var.name}-cache"
  description = "Private data subnets of ${var.name}"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = "${var.name}-redis"
  description          = "${var.name}: link cache and shared click counters"

  engine               = "redis"
  engine_version       = var.nodes.engine_version
  node_type            = var.nodes.node_type
  port                 = 6379
  parameter_group_name = coalesce(var.nodes.parameter_group_name, "default.redis${split(".", var.nodes.engine_version)[0]}")

  # A replica in another AZ with automatic failover: losing the primary costs seconds, not the cache.
  num_cache_clusters         = var.nodes.replicas + 1
  automatic_failover_enabled = true
  multi_az_enabled           = true

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = var.security_group_ids

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  # AUTH token from a sensitive variable (ElastiCache has no write-only form yet, so it is in the
  # state: keep state in the encrypted S3 backend). Null means TLS + security group only.
  auth_token = var.auth_token

  snapshot_retention_limit   = var.snapshot_retention_days
  auto_minor_version_upgrade = true
  apply_immediately          = var.apply_immediately

  tags = var.tags
}
