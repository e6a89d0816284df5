# The security layer: who may talk to whom, with what key, and who keeps the record.
#   - one KMS key for everything stored at rest (EBS, RDS, ElastiCache, flow logs, the DB secret)
#   - VPC flow logs to CloudWatch (the audit trail of every connection attempt)
#   - one instance role (no policy by default: instances need no AWS API to serve the app)
#   - one security group per tier, with rules that name the peer tier, never a range

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  logs_service = "logs.${data.aws_region.current.name}.amazonaws.com"
  log_group    = "/${var.name}/vpc-flow-logs"
}

# ---------------------------------------------------------------- encryption at rest
data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:A key policy's resource "*" means this key only; account-root access is AWS's default key policy, delegating to IAM.
  # checkov:skip=CKV_AWS_111:In a key policy resource "*" is this key only; writes are limited by the principals (account root, the logs service for one log group).
  # checkov:skip=CKV_AWS_356:A key policy's resource "*" is this key only; it cannot name its own ARN before the key exists.
  # Key administration and use stay with the account's IAM policies (AWS's default key policy).
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }

  # CloudWatch Logs encrypts the flow-log group with this key, and only that log group.
  statement {
    sid       = "CloudWatchLogsUsesTheKey"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = [local.logs_service]
    }
    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group}"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: data at rest (EBS, RDS, ElastiCache, logs)"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# ---------------------------------------------------------------- audit: VPC flow logs
resource "aws_cloudwatch_log_group" "flow_logs" {
  count             = var.enable_flow_logs ? 1 : 0
  name              = local.log_group
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow_logs_write" {
  count = var.enable_flow_logs ? 1 : 0
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  count              = var.enable_flow_logs ? 1 : 0
  name               = "${var.name}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "flow_logs" {
  count  = var.enable_flow_logs ? 1 : 0
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs_write[0].json
}

resource "aws_flow_log" "this" {
  count           = var.enable_flow_logs ? 1 : 0
  vpc_id          = var.vpc_id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn    = aws_iam_role.flow_logs[0].arn
  tags            = var.tags
}

# ---------------------------------------------------------------- instance identity
# EC2's trust policy, for every instance role: this one and app_scaling's (an output).
data "aws_iam_policy_document" "instance_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# No policy attached: attach e.g. AmazonSSMManagedInstanceCore to this role to add Session Manager.
resource "aws_iam_role" "instance" {
  name               = "${var.name}-instance"
  assume_role_policy = data.aws_iam_policy_document.instance_assume.json
  tags               = var.tags
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.name}-instance"
  role = aws_iam_role.instance.name
  tags = var.tags
}

# ---------------------------------------------------------------- security groups, one per tier
locals {
  # Each tier's group and what it admits (the rules below say exactly whom).
  tiers = {
    bastion = "Bastion: SSH from the admin CIDRs only"
    lb      = "nginx load balancers: HTTP(S) from the world"
    app     = "gunicorn app instances: port ${var.app_port} from the load balancers"
    db      = "PostgreSQL: 5432 from the app instances"
    cache   = "Redis: 6379 from the app instances"
  }
}

resource "aws_security_group" "tier" {
  # checkov:skip=CKV2_AWS_5:Attached in the root module (module.instances, database, cache, app_scaling); checkov does not follow module outputs.
  for_each = local.tiers

  name        = "${var.name}-${each.key}"
  description = each.value
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

# The groups were five resources before; these keep them (and the instances in them) in the state.
moved {
  from = aws_security_group.bastion
  to   = aws_security_group.tier["bastion"]
}

moved {
  from = aws_security_group.lb
  to   = aws_security_group.tier["lb"]
}

moved {
  from = aws_security_group.app
  to   = aws_security_group.tier["app"]
}

moved {
  from = aws_security_group.db
  to   = aws_security_group.tier["db"]
}

moved {
  from = aws_security_group.cache
  to   = aws_security_group.tier["cache"]
}

locals {
  # Every rule, named and described. Rules that point at a peer group use `peer`, the rest `cidr`.
  # The public ports of the load balancers are the only rules open to the world.
  ingress_rules = merge(
    {
      for cidr in var.admin_cidrs : "bastion-ssh-from-${cidr}" => {
        sg = "bastion", port = 22, cidr = cidr, peer = null, what = "SSH from admin ${cidr}"
      }
    },
    {
      lb-http           = { sg = "lb", port = 80, cidr = "0.0.0.0/0", peer = null, what = "HTTP from the world" }
      lb-https          = { sg = "lb", port = 443, cidr = "0.0.0.0/0", peer = null, what = "HTTPS from the world" }
      lb-ssh-bastion    = { sg = "lb", port = 22, cidr = null, peer = "bastion", what = "SSH from the bastion" }
      app-from-lb       = { sg = "app", port = var.app_port, cidr = null, peer = "lb", what = "gunicorn from nginx" }
      app-ssh-bastion   = { sg = "app", port = 22, cidr = null, peer = "bastion", what = "SSH from the bastion" }
      db-from-app       = { sg = "db", port = 5432, cidr = null, peer = "app", what = "PostgreSQL from the app" }
      db-ssh-bastion    = { sg = "db", port = 22, cidr = null, peer = "bastion", what = "SSH from the bastion (PostgreSQL on EC2)" }
      cache-from-app    = { sg = "cache", port = 6379, cidr = null, peer = "app", what = "Redis from the app" }
      cache-ssh-bastion = { sg = "cache", port = 22, cidr = null, peer = "bastion", what = "SSH from the bastion (Redis on EC2)" }
    },
  )

  egress_rules = merge(
    {
      bastion-ssh-lb    = { sg = "bastion", port = 22, cidr = null, peer = "lb", what = "SSH to the load balancers" }
      bastion-ssh-app   = { sg = "bastion", port = 22, cidr = null, peer = "app", what = "SSH to the app instances" }
      bastion-ssh-db    = { sg = "bastion", port = 22, cidr = null, peer = "db", what = "SSH to PostgreSQL on EC2" }
      bastion-ssh-cache = { sg = "bastion", port = 22, cidr = null, peer = "cache", what = "SSH to Redis on EC2" }
      lb-to-app         = { sg = "lb", port = var.app_port, cidr = null, peer = "app", what = "nginx to gunicorn" }
      app-to-db         = { sg = "app", port = 5432, cidr = null, peer = "db", what = "app to PostgreSQL" }
      app-to-cache      = { sg = "app", port = 6379, cidr = null, peer = "cache", what = "app to Redis" }
    },
    # Package mirrors and AWS APIs over HTTP(S) (through NAT for the private tiers).
    {
      for pair in setproduct(keys(local.tiers), [80, 443]) :
      "${pair[0]}-packages-${pair[1]}" => {
        sg = pair[0], port = pair[1], cidr = "0.0.0.0/0", peer = null, what = "packages and AWS APIs (${pair[1]})"
      }
    },
  )

  groups = { for tier, group in aws_security_group.tier : tier => group.id }
}

resource "aws_security_group_rule" "ingress" {
  for_each = local.ingress_rules

  type                     = "ingress"
  security_group_id        = local.groups[each.value.sg]
  protocol                 = "tcp"
  from_port                = each.value.port
  to_port                  = each.value.port
  cidr_blocks              = each.value.cidr == null ? null : [each.value.cidr]
  source_security_group_id = each.value.peer == null ? null : local.groups[each.value.peer]
  description              = each.value.what
}

resource "aws_security_group_rule" "egress" {
  for_each = local.egress_rules

  type                     = "egress"
  security_group_id        = local.groups[each.value.sg]
  protocol                 = "tcp"
  from_port                = each.value.port
  to_port                  = each.value.port
  cidr_blocks              = each.value.cidr == null ? null : [each.value.cidr]
  source_security_group_id = each.value.peer == null ? null : local.groups[each.value.peer]
  description              = each.value.what
}
