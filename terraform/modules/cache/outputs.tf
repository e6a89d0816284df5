output "address" {
  description = "Primary endpoint host name (writes and reads)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Redis port."
  value       = aws_elasticache_replication_group.this.port
}

output "tls" {
  description = "Whether clients must use TLS (rediss://)."
  value       = aws_elasticache_replication_group.this.transit_encryption_enabled
}
