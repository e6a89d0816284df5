output "address" {
  description = "Host name of the database endpoint."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the app's database."
  value       = aws_db_instance.this.db_name
}

output "master_username" {
  description = "Master user name (the password is in the secret below, or with the operator)."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "Secrets Manager ARN holding the generated master password (null when a password was passed)."
  value       = try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}
