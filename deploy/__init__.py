"""Deploy flask-multitier to AWS: Terraform apply, Ansible inventory, playbook, smoke test.

`python -m deploy --help` lists the steps; docs/terraform.md explains them.
"""
