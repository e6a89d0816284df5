# Managed PostgreSQL (RDS). The master password never enters code, outputs or state:
#   - default: RDS generates it and keeps it in Secrets Manager (manage_master_user_password);
#   - or (manage_master_password = false): the operator passes it as an ephemeral variable, sent
#     write-only (password_wo), so it never reaches the state either.

locals {
  major_version        = split(".", var.engine_version)[0]
  use_managed_password = var.manage_master_password
}

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-db"
  description = "Private data subnets of ${var.name}"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.name}-postgres${local.major_version}"
  family      = "postgres${local.major_version}"
  description = "${var.name}: TLS required, slow and DDL statements logged"
  tags        = var.tags

  # Refuse unencrypted connections: the app connects with sslmode=require.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # Log schema changes (migrations) and any statement slower than the threshold.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = tostring(var.slow_query_ms)
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

# Enhanced monitoring (OS metrics per process) needs a role RDS can assume.
resource "aws_iam_role" "monitoring" {
  count              = var.monitoring_interval_seconds > 0 ? 1 : 0
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count      = var.monitoring_interval_seconds > 0 ? 1 : 0
  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  identifier     = "${var.name}-postgres"
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name  = var.database_name
  username = var.master_username

  manage_master_user_password   = local.use_managed_password ? true : null
  master_user_secret_kms_key_id = local.use_managed_password ? var.kms_key_arn : null
  password_wo                   = local.use_managed_password ? null : var.master_password
  password_wo_version           = local.use_managed_password ? null : var.master_password_version

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = var.security_group_ids
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = var.multi_az
  port                   = 5432

  backup_retention_period    = var.backup_retention_days
  copy_tags_to_snapshot      = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = var.skip_final_snapshot
  final_snapshot_identifier  = var.skip_final_snapshot ? null : "${var.name}-postgres-final"
  auto_minor_version_upgrade = true
  apply_immediately          = var.apply_immediately

  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = var.kms_key_arn
  monitoring_interval                 = var.monitoring_interval_seconds
  monitoring_role_arn                 = one(aws_iam_role.monitoring[*].arn)

  tags = var.tags

  depends_on = [aws_iam_role_policy_attachment.monitoring]
}
