# A group of identical EC2 instances for one role (bastion, lb, app, db or cache on EC2), spread
# round-robin over the given subnets. Software is not installed here: Ansible's roles do that, the
# same roles the Vagrant VM uses, so user data stays empty on purpose.

resource "aws_instance" "this" {
  count = var.instance_count

  ami                    = var.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.subnet_ids[count.index % length(var.subnet_ids)]
  vpc_security_group_ids = var.security_group_ids
  key_name               = var.key_name
  iam_instance_profile   = var.iam_instance_profile

  # Public reachability comes from the Elastic IP below (stable across stop/start), never from launch.
  associate_public_ip_address = false
  # One-minute CloudWatch metrics: the load balancer and app tiers are what an operator watches.
  monitoring    = var.detailed_monitoring
  ebs_optimized = true

  # IMDSv2 only: a request forgery in the app cannot read instance credentials with a plain GET.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size_gb
    encrypted             = true
    kms_key_id            = var.kms_key_arn
    delete_on_termination = true
  }

  tags        = merge(var.tags, { Name = "${var.name}-${var.role}-${count.index + 1}", Role = var.role })
  volume_tags = merge(var.tags, { Name = "${var.name}-${var.role}-${count.index + 1}", Role = var.role })

  lifecycle {
    # A newer AMI must not replace running servers on the next plan; roll them on purpose instead.
    ignore_changes = [ami]
  }
}

resource "aws_eip" "this" {
  count    = var.public ? var.instance_count : 0
  domain   = "vpc"
  instance = aws_instance.this[count.index].id
  tags     = merge(var.tags, { Name = "${var.name}-${var.role}-${count.index + 1}", Role = var.role })
}
