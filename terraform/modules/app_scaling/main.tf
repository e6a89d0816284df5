# The elastic app tier: an Auto Scaling group of identical app instances behind an Application Load
# Balancer that ends HTTPS with an ACM certificate. Read top to bottom:
#   1. the release bucket and the app's parameters   2. the instances' role (read-only on both)
#   3. firewalls   4. certificate   5. load balancer   6. launch template, group, scaling policy
# Each instance sets itself up at boot (user_data.sh.tftpl): it fetches the current release from the
# bucket, reads settings and secrets from SSM Parameter Store and applies the same Ansible roles as
# every other topology, locally. A release is a new artifact, a new pointer and an instance refresh.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}
# The provider's default tags reach neither the group's own tags nor what it launches: the group
# and the launch template take them from here.
data "aws_default_tags" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  # Every setting the instances read lives under this path: env/<NAME> (written here, not secret)
  # and secret/<NAME> (SecureString, written by the operator or `python -m deploy`, never by
  # Terraform, so no secret value reaches the state).
  ssm_prefix     = "/${var.name}/app"
  ssm_prefix_arn = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.ssm_prefix}"
  release_bucket = "${var.name}-releases-${local.account_id}"
  instance_tags  = merge(data.aws_default_tags.current.tags, var.tags, { Name = "${var.name}-app", Role = "app" })

  request_certificate = var.route53_zone_id != null
  certificate_arn     = local.request_certificate ? aws_acm_certificate_validation.this[0].certificate_arn : var.certificate_arn
}

# ---------------------------------------------------------------- 1. releases and settings
resource "aws_s3_bucket" "releases" {
  # checkov:skip=CKV_AWS_18:Access logs of a bucket only the deploy CLI writes and the instances read add cost, not insight; CloudTrail records the API calls.
  # checkov:skip=CKV_AWS_144:Release artifacts are rebuilt from git; a second region holds nothing the repository does not.
  # checkov:skip=CKV2_AWS_62:Nothing reacts to a new artifact: the deploy CLI starts the instance refresh itself.
  bucket        = local.release_bucket
  force_destroy = var.release_bucket_force_destroy
  tags          = merge(var.tags, { Name = local.release_bucket })
}

resource "aws_s3_bucket_versioning" "releases" {
  bucket = aws_s3_bucket.releases.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "releases" {
  bucket = aws_s3_bucket.releases.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "releases" {
  bucket                  = aws_s3_bucket.releases.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "releases" {
  bucket = aws_s3_bucket.releases.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Old artifacts stay restorable for a while (a rollback is re-pointing at one), then go.
resource "aws_s3_bucket_lifecycle_configuration" "releases" {
  bucket = aws_s3_bucket.releases.id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "releases_bucket" {
  statement {
    sid       = "DenyPlainHTTP"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.releases.arn, "${aws_s3_bucket.releases.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "releases" {
  bucket = aws_s3_bucket.releases.id
  policy = data.aws_iam_policy_document.releases_bucket.json
  # S3 refuses a bucket policy while the public access block is still being applied.
  depends_on = [aws_s3_bucket_public_access_block.releases]
}

# The release the instances install at boot: `python -m deploy release` moves it, so Terraform
# creates it once and leaves its value alone.
resource "aws_ssm_parameter" "release" {
  name        = "${local.ssm_prefix}/release"
  description = "Object key (under releases/) of the artifact new instances install"
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = "none"
  tags        = var.tags

  lifecycle {
    ignore_changes = [value]
  }
}

# Non-secret settings (endpoints, names); SecureString all the same, so one decrypt path reads all.
resource "aws_ssm_parameter" "env" {
  for_each = var.app_environment

  name   = "${local.ssm_prefix}/env/${each.key}"
  type   = "SecureString"
  key_id = var.kms_key_arn
  value  = each.value
  tags   = var.tags
}

# ---------------------------------------------------------------- 2. the instances' identity
# Its own role, not the shared instance role: only these instances may read releases and secrets.
resource "aws_iam_role" "instance" {
  name               = "${var.name}-asg-instance"
  assume_role_policy = var.assume_role_policy
  tags               = var.tags
}

data "aws_iam_policy_document" "instance" {
  statement {
    sid       = "ReadReleases"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.releases.arn}/releases/*"]
  }

  statement {
    sid       = "ReadSettings"
    actions   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
    resources = [local.ssm_prefix_arn, "${local.ssm_prefix_arn}/*"]
  }

  # Decrypting with the shared key only on behalf of S3 and SSM, never directly.
  statement {
    sid       = "DecryptThroughS3AndSSM"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com", "ssm.${local.region}.amazonaws.com", "secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = var.db_secret_arn == null ? [] : [var.db_secret_arn]
    content {
      sid       = "ReadDatabasePassword"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "instance" {
  name   = "read-releases-and-settings"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.instance.json
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.name}-asg-instance"
  role = aws_iam_role.instance.name
  tags = var.tags
}

# ---------------------------------------------------------------- 3. firewalls
resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "ALB: HTTP(S) from the world, HTTP to the app instances"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_security_group" "instance" {
  name        = "${var.name}-asg-instance"
  description = "Auto Scaling app instances: nginx from the ALB only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-asg-instance" })
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  # checkov:skip=CKV_AWS_260:Port 80 only answers a redirect to HTTPS (the listener below); nothing is served over it.
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from the world (redirected to HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the world"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_instances" {
  security_group_id            = aws_security_group.alb.id
  description                  = "HTTP to nginx on the app instances"
  ip_protocol                  = "tcp"
  from_port                    = 80
  to_port                      = 80
  referenced_security_group_id = aws_security_group.instance.id
}

resource "aws_vpc_security_group_ingress_rule" "instance_from_alb" {
  # checkov:skip=CKV_AWS_260:The source is the ALB's security group, not 0.0.0.0/0; checkov reads any port-80 ingress rule as open.
  security_group_id            = aws_security_group.instance.id
  description                  = "HTTP from the ALB (TLS ends there)"
  ip_protocol                  = "tcp"
  from_port                    = 80
  to_port                      = 80
  referenced_security_group_id = aws_security_group.alb.id
}

# Packages, S3 and SSM over HTTP(S) through the NAT gateway (the app SG adds PostgreSQL and Redis).
resource "aws_vpc_security_group_egress_rule" "instance_out" {
  for_each = toset(["80", "443"])

  security_group_id = aws_security_group.instance.id
  description       = "packages and AWS APIs (${each.key})"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.key)
  to_port           = tonumber(each.key)
  cidr_ipv4         = "0.0.0.0/0"
}

# ---------------------------------------------------------------- 4. certificate
resource "aws_acm_certificate" "this" {
  count             = local.request_certificate ? 1 : 0
  domain_name       = var.domain_name
  validation_method = "DNS"
  tags              = var.tags

  lifecycle {
    # The listener always has a valid certificate while a renewed one replaces the old.
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = local.request_certificate ? {
    for o in aws_acm_certificate.this[0].domain_validation_options : o.domain_name => o
  } : {}

  zone_id         = var.route53_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count                   = local.request_certificate ? 1 : 0
  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

# ---------------------------------------------------------------- 5. load balancer
resource "aws_lb" "this" {
  # checkov:skip=CKV2_AWS_28:A WAF is a policy choice with its own cost; attach one with aws_wafv2_web_acl_association when the traffic calls for it.
  # checkov:skip=CKV_AWS_91:Access logs are a variable (access_logs_bucket): the bucket needs a policy for the region's ELB account, which this module cannot guess.
  name                       = "${var.name}-alb"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  tags                       = var.tags

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.name
      enabled = true
    }
  }
}

# The site's name points at the ALB when Terraform manages its zone: an alias record, which
# follows the ALB's changing addresses like a CNAME and, unlike one, also works at a zone's apex.
resource "aws_route53_record" "site" {
  count   = var.route53_zone_id != null ? 1 : 0
  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}

resource "aws_lb_target_group" "app" {
  # checkov:skip=CKV_AWS_378:TLS ends at the ALB; the hop to nginx stays inside the VPC's private subnets, and the security groups admit only the ALB.
  name                 = "${var.name}-app"
  port                 = 80
  protocol             = "HTTP"
  vpc_id               = var.vpc_id
  deregistration_delay = 30
  tags                 = var.tags

  # Ready means the database and Redis answer: an instance that cannot serve gets no traffic and,
  # with ELB health checks on the group, is replaced.
  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = local.certificate_arn
  tags              = var.tags

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }

  lifecycle {
    precondition {
      condition     = local.certificate_arn != null
      error_message = "The HTTPS listener needs a certificate: set route53_zone_id (a DNS-validated one is requested) or certificate_arn."
    }
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.tags

  default_action {
    type = "redirect"
    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}

# ---------------------------------------------------------------- 6. instances
resource "aws_launch_template" "app" {
  name                   = "${var.name}-app"
  image_id               = var.ami_id
  instance_type          = var.instance_type
  vpc_security_group_ids = [aws_security_group.instance.id, var.app_security_group_id]
  ebs_optimized          = true
  update_default_version = true
  tags                   = var.tags

  # Names where to look, never what is there: secrets come from SSM with the instance role.
  user_data = base64encode(templatefile("${path.module}/user_data.sh.tftpl", {
    region         = local.region
    ssm_prefix     = local.ssm_prefix
    release_bucket = aws_s3_bucket.releases.id
    name           = var.name
  }))

  iam_instance_profile {
    arn = aws_iam_instance_profile.instance.arn
  }

  # IMDSv2 only: a request forgery in the app cannot read instance credentials with a plain GET.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  monitoring {
    enabled = var.detailed_monitoring
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_type           = "gp3"
      volume_size           = var.root_volume_size_gb
      encrypted             = true
      kms_key_id            = var.kms_key_arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = local.instance_tags
  }

  tag_specifications {
    resource_type = "volume"
    tags          = local.instance_tags
  }
}

resource "aws_autoscaling_group" "app" {
  name                      = "${var.name}-app"
  vpc_zone_identifier       = var.app_subnet_ids
  min_size                  = var.scaling.min_size
  max_size                  = var.scaling.max_size
  desired_capacity          = var.scaling.desired_capacity
  target_group_arns         = [aws_lb_target_group.app.arn]
  health_check_type         = "ELB"
  health_check_grace_period = var.scaling.instance_warmup_seconds
  default_instance_warmup   = var.scaling.instance_warmup_seconds

  launch_template {
    id      = aws_launch_template.app.id
    version = aws_launch_template.app.latest_version
  }

  # A new launch template version (new AMI, type or boot script) rolls through the group; a
  # release without one is rolled by `python -m deploy release` (start-instance-refresh).
  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = var.scaling.min_healthy_percentage
      instance_warmup        = var.scaling.instance_warmup_seconds
    }
  }

  dynamic "tag" {
    for_each = local.instance_tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    # The scaling policy owns the running count after creation.
    ignore_changes = [desired_capacity]
  }
}

# Keep each instance near target_requests_per_instance ALB requests a minute.
resource "aws_autoscaling_policy" "requests" {
  name                   = "${var.name}-requests-per-target"
  autoscaling_group_name = aws_autoscaling_group.app.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.scaling.target_requests_per_instance
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.app.arn_suffix}"
    }
  }
}
