"""Deploy flask-multitier to AWS: Terraform apply, Ansible inventory, playbook, smoke test; for the
Auto Scaling tier, the release artifact, its pointer and an instance refresh.

`python -m deploy --help` lists the steps; docs/terraform.md and docs/aws-scaling.md explain them.
"""
